//! Moving guest state between the register file and the live vCPU: general
//! registers (sync regs or the trap frame), FP/SSE state, FS/GS bases.

use super::*;

impl KvmCpu {
    /// Sets the FS/GS bases ring 3 will see.
    pub(super) fn set_bases(&mut self, fs: u64, gs: u64) -> Result<(), ()> {
        if self.bases == (fs, gs) {
            return Ok(());
        }
        let entries = [(MSR_FS_BASE, fs), (MSR_GS_BASE, gs)].map(|(index, data)| kvm_msr_entry {
            index,
            data,
            ..Default::default()
        });
        let msrs = Msrs::from_entries(&entries).map_err(|_| ())?;
        match self.fd.set_msrs(&msrs) {
            Ok(2) => {
                self.bases = (fs, gs);
                Ok(())
            }
            _ => Err(()),
        }
    }

    /// Writes ring 3's `iretq` frame where the trap path's return and the
    /// full-restore path read it.
    pub(super) fn write_frame(&self, regs: &X86Regs) {
        let mem = &self.m.private;
        let f = [
            regs.rip,
            u64::from(layout::USER_CS),
            user_rflags(regs.rflags),
            regs.gpr[RSP],
            u64::from(layout::USER_DS),
        ];
        let mut bytes = [0u8; 40];
        for (i, v) in f.iter().enumerate() {
            bytes[8 * i..8 * i + 8].copy_from_slice(&v.to_le_bytes());
        }
        mem.write(self.frame + frame::RIP, &bytes);
    }

    /// Gives the vCPU `regs`' FP state (x87/SSE and, where KVM exchanges
    /// it, the extended XSAVE state), unless it already holds it.
    pub(super) fn load_fp(&mut self, regs: &X86Regs) -> Result<(), ()> {
        if std::mem::take(&mut self.fail_fpu) {
            self.fx_valid = false;
            return Err(());
        }
        if self.fx_valid && *self.fx_live == *regs.fx && *self.ext_live == *regs.xsave {
            return Ok(());
        }
        if self.xsave {
            self.set_xsave(&regs.fx, &regs.xsave)?;
        } else {
            self.set_fpu(&regs.fx)?;
        }
        *self.fx_live = *regs.fx;
        self.ext_live.clone_from(&regs.xsave);
        self.fx_valid = true;
        Ok(())
    }

    /// `KVM_SET_XSAVE` of the FXSAVE image `fx` followed by `ext`.
    fn set_xsave(&mut self, fx: &FxArea, ext: &XsaveExt) -> Result<(), ()> {
        let mut bytes = [0u8; XSAVE_BYTES];
        bytes[..512].copy_from_slice(&fx.0);
        bytes[512..].copy_from_slice(&ext.0);
        // XSTATE_BV: x87 and SSE always come from `fx` (a clear bit would
        // load their initial state instead).
        bytes[512] |= 3;
        let mut x = kvm_xsave::default();
        for (w, b) in x.region.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        // SAFETY: `x` is a whole `kvm_xsave` (4096 bytes), and `self.xsave`
        // is set only where KVM's XSAVE size is at most that (KvmCpu::new).
        unsafe { self.fd.set_xsave(&x) }.map_err(|_| ())
    }

    /// `KVM_SET_FPU` of the FXSAVE image `fx` (hosts without XSAVE).
    fn set_fpu(&mut self, fx: &FxArea) -> Result<(), ()> {
        let b = &fx.0;
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let u64_at = |o: usize| {
            let mut q = [0u8; 8];
            q.copy_from_slice(&b[o..o + 8]);
            u64::from_le_bytes(q)
        };
        let mut f = kvm_fpu {
            fcw: u16_at(0),
            fsw: u16_at(2),
            ftwx: b[4],
            last_opcode: u16_at(6),
            last_ip: u64_at(8),
            last_dp: u64_at(16),
            mxcsr: fx.mxcsr(),
            ..Default::default()
        };
        for (i, r) in f.fpr.iter_mut().enumerate() {
            r.copy_from_slice(&b[32 + 16 * i..48 + 16 * i]);
        }
        for (i, r) in f.xmm.iter_mut().enumerate() {
            r.copy_from_slice(&b[160 + 16 * i..176 + 16 * i]);
        }
        self.fd.set_fpu(&f).map_err(|_| ())
    }

    /// Reads the vCPU's FP state into `regs` (with `KVM_GET_XSAVE` the
    /// whole XSAVE image; else the bytes `kvm_fpu` has, the rest of the
    /// FXSAVE image — MXCSR_MASK, reserved — keeping its values).
    pub(super) fn save_fp(&mut self, regs: &mut X86Regs) {
        let saved = if self.xsave {
            self.get_xsave(regs)
        } else {
            self.get_fpu(&mut regs.fx)
        };
        if saved.is_err() {
            self.fx_valid = false;
            return;
        }
        *self.fx_live = *regs.fx;
        self.ext_live.clone_from(&regs.xsave);
        self.fx_valid = true;
    }

    fn get_xsave(&mut self, regs: &mut X86Regs) -> Result<(), ()> {
        let x = self.fd.get_xsave().map_err(|_| ())?;
        let mut bytes = [0u8; XSAVE_BYTES];
        for (b, w) in bytes.chunks_exact_mut(4).zip(x.region.iter()) {
            b.copy_from_slice(&w.to_le_bytes());
        }
        regs.fx.0.copy_from_slice(&bytes[..512]);
        regs.xsave.0.copy_from_slice(&bytes[512..]);
        Ok(())
    }

    fn get_fpu(&mut self, fx: &mut FxArea) -> Result<(), ()> {
        let f = self.fd.get_fpu().map_err(|_| ())?;
        let b = &mut fx.0;
        b[0..2].copy_from_slice(&f.fcw.to_le_bytes());
        b[2..4].copy_from_slice(&f.fsw.to_le_bytes());
        b[4] = f.ftwx;
        b[6..8].copy_from_slice(&f.last_opcode.to_le_bytes());
        b[8..16].copy_from_slice(&f.last_ip.to_le_bytes());
        b[16..24].copy_from_slice(&f.last_dp.to_le_bytes());
        b[24..28].copy_from_slice(&f.mxcsr.to_le_bytes());
        for (i, r) in f.fpr.iter().enumerate() {
            b[32 + 16 * i..48 + 16 * i].copy_from_slice(r);
        }
        for (i, r) in f.xmm.iter().enumerate() {
            b[160 + 16 * i..176 + 16 * i].copy_from_slice(r);
        }
        Ok(())
    }

    /// Writes ring 3's general registers where the full-restore path reads them.
    pub(super) fn write_gprs(&self, regs: &X86Regs) {
        let mut gprs = [0u8; 120];
        for (slot, &n) in GPR_ORDER.iter().enumerate() {
            gprs[8 * slot..8 * slot + 8].copy_from_slice(&regs.gpr[n].to_le_bytes());
        }
        self.m.private.write(self.block + cpu::GPRS, &gprs);
    }

    /// Loads every general register of `regs` into the vCPU (sync regs),
    /// with the shim's RIP and RSP.
    pub(super) fn load_gprs(&mut self, regs: &X86Regs, rip: u64, rsp: u64) {
        let g = &regs.gpr;
        self.fd.sync_regs_mut().regs = kvm_regs {
            rax: g[0],
            rcx: g[1],
            rdx: g[2],
            rbx: g[3],
            rsp,
            rbp: g[5],
            rsi: g[6],
            rdi: g[7],
            r8: g[8],
            r9: g[9],
            r10: g[10],
            r11: g[11],
            r12: g[12],
            r13: g[13],
            r14: g[14],
            r15: g[15],
            rip,
            rflags: 2,
        };
        self.fd.set_sync_dirty_reg(SyncReg::Register);
    }

    /// Copies ring 3's live general registers (from sync regs) to the GPR area.
    pub(super) fn write_live_gprs(&mut self) {
        let r = self.fd.sync_regs().regs;
        let v = [
            r.rax, r.rcx, r.rdx, r.rbx, r.rbp, r.rsi, r.rdi, r.r8, r.r9, r.r10, r.r11, r.r12,
            r.r13, r.r14, r.r15,
        ];
        let mut gprs = [0u8; 120];
        for (slot, x) in v.iter().enumerate() {
            gprs[8 * slot..8 * slot + 8].copy_from_slice(&x.to_le_bytes());
        }
        self.m.private.write(self.block + cpu::GPRS, &gprs);
    }

    /// Fills `regs` from the live vCPU after a trap exit.
    pub(super) fn capture(
        &mut self,
        regs: &mut X86Regs,
        r: &kvm_regs,
        rip: u64,
        rflags: u64,
        rsp: u64,
    ) {
        regs.gpr = [
            r.rax, r.rcx, r.rdx, r.rbx, rsp, r.rbp, r.rsi, r.rdi, r.r8, r.r9, r.r10, r.r11, r.r12,
            r.r13, r.r14, r.r15,
        ];
        regs.rip = rip;
        regs.rflags = rflags;
        self.save_fp(regs);
    }
}
