//! Memory calls: the process's break and mappings, served by the mound's
//! own memory manager.

use spin_fs::{Errno, SysResult};
use spin_kernel::{Prot, RegisterFile};
use spin_unix_mm::MapFlags;

use super::{sys_ok, Call, Done, SysFn};

pub(super) fn register<R: RegisterFile>(v: &mut Vec<(&'static str, SysFn<R>)>) {
    v.extend([
        ("brk", sys_brk as SysFn<R>),
        ("mmap", sys_mmap),
        ("munmap", sys_munmap),
        ("mprotect", sys_mprotect),
        ("mremap", sys_mremap),
        ("madvise", sys_madvise),
        ("msync", sys_msync),
        ("mlock", sys_ok),
        ("munlock", sys_ok),
        ("mlockall", sys_ok),
        ("munlockall", sys_ok),
    ]);
}

fn prot(bits: u64) -> SysResult<Prot> {
    if bits & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Prot::from_bits(bits as u8))
}

/// Linux/Alpha's `osf_brk`: a refused move is ENOMEM rather than the old break.
fn sys_brk<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let want = c.arg(0);
    let got = c.vm().brk(want);
    if want != 0 && got != want && R::ARCH == spin_kernel::Arch::Alpha {
        return Err(Errno::ENOMEM);
    }
    Ok(Done::Val(got))
}

fn sys_mmap<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (addr, len, pr, flags, fd, off) =
        (c.arg(0), c.arg(1), c.arg(2), c.arg(3), c.arg(4), c.arg(5));
    let p = prot(pr)?;
    let map = c.m.abi.map;
    let kind = flags & (map.SHARED | map.PRIVATE);
    if kind == 0 || kind == (map.SHARED | map.PRIVATE) {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let mf = MapFlags {
        shared: flags & map.SHARED != 0,
        private: flags & map.PRIVATE != 0,
        fixed: flags & map.FIXED != 0,
        fixed_noreplace: flags & map.FIXED_NOREPLACE != 0,
        anonymous: flags & map.ANONYMOUS != 0,
        populate: flags & map.POPULATE != 0,
        growsdown: flags & map.GROWSDOWN != 0,
        stack: flags & map.STACK != 0,
        noreserve: flags & map.NORESERVE != 0,
    };
    let file = if mf.anonymous {
        None
    } else {
        let f = c.fd(fd)?;
        let fl = f.flags();
        if !fl.read || (mf.shared && p.contains(Prot::WRITE) && !fl.write) {
            return Err(Errno::EACCES);
        }
        let b = f.backing().ok_or(Errno::ENODEV)?;
        Some((b, off))
    };
    Ok(Done::Val(c.vm().mmap(addr, len, p, mf, file)?))
}

fn sys_munmap<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    c.vm().munmap(c.arg(0), c.arg(1))?;
    Ok(Done::Val(0))
}

fn sys_mprotect<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let p = prot(c.arg(2))?;
    c.vm().mprotect(c.arg(0), c.arg(1), p)?;
    Ok(Done::Val(0))
}

fn sys_mremap<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let flags = c.arg(3);
    let map = c.m.abi.map;
    if flags & !(map.MREMAP_MAYMOVE | map.MREMAP_FIXED) != 0 {
        return Err(Errno::EINVAL);
    }
    let fixed = (flags & map.MREMAP_FIXED != 0).then(|| c.arg(4));
    if fixed.is_some() && flags & map.MREMAP_MAYMOVE == 0 {
        return Err(Errno::EINVAL);
    }
    let r = c.vm().mremap(
        c.arg(0),
        c.arg(1),
        c.arg(2),
        flags & map.MREMAP_MAYMOVE != 0,
        fixed,
    )?;
    Ok(Done::Val(r))
}

fn sys_madvise<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    // MADV_DONTNEED (6 on Alpha, 4 on x86-64) drops the pages; other
    // advice is a hint.
    if c.arg(2) == c.m.abi.map.MADV_DONTNEED {
        c.vm().madvise_dontneed(c.arg(0), c.arg(1))?;
    }
    Ok(Done::Val(0))
}

fn sys_msync<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    c.vm().msync(c.arg(0), c.arg(1))?;
    Ok(Done::Val(0))
}
