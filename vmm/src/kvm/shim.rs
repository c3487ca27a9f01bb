//! The ring-0 shim, assembled at run time with iced-x86's code assembler.
//!
//! It is all the guest kernel there is: 33 trap stubs (the 32 exceptions and
//! the kick interrupt) that push a uniform frame and leave through one `out`;
//! the native `syscall` entry, which builds the same frame; a full-restore
//! path that first applies the host's queue of PTE stores (removals and
//! downgrades must be guest writes on a shadow-paging host — kvm.md quirk 2),
//! may load a new CR3, and `iretq`s to ring 3; and a `sysretq` path for
//! system calls that arrived through the native entry.
//!
//! Register protocol of [`Shim::resume`] (set by the host through sync regs):
//! RSP = RSP0 − frame, RDI = queue address, RSI = operations, R8 = CR3 to
//! load (0: keep), R9 = 1 if the host has more operations after these.
//! Ring 3's general registers are read from the per-vCPU GPR area.

use iced_x86::code_asm::*;

use super::layout::{self, cpu, frame, has_error_code, private, KBASE, PORT_MORE, PORT_TRAP};

/// The assembled shim and the addresses (kernel virtual) the host needs.
#[derive(Debug, Clone)]
pub struct Shim {
    /// Machine code, to be placed at `KBASE + private::SHIM`.
    pub code: Vec<u8>,
    /// Entry of each trap stub, by vector (0..=32; 32 is the kick).
    pub stubs: Vec<u64>,
    /// `LSTAR`: the native `syscall` entry.
    pub syscall_entry: u64,
    /// The full-restore path (queue, CR3, GPRs, FXRSTOR, `iretq`).
    pub resume: u64,
    /// The `sysretq` path.
    pub sysret: u64,
    /// The start and end of the shim's code (a RIP inside means "in the shim").
    pub range: std::ops::Range<u64>,
}

/// Ring 3's general registers in the GPR area, in this order (x86 encoding
/// numbers, RSP skipped — it travels in the `iretq` frame).
pub const GPR_ORDER: [usize; 15] = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

fn reg64(n: usize) -> AsmRegister64 {
    [
        rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15,
    ][n]
}

/// Assembles the shim.
pub fn assemble() -> Result<Shim, IcedError> {
    let base = KBASE + private::SHIM;
    let mut a = CodeAssembler::new(64)?;
    let mut common = a.create_label();
    let mut stub_labels = Vec::new();
    for vector in 0..=32u8 {
        let mut l = a.create_label();
        a.set_label(&mut l)?;
        stub_labels.push(l);
        let vector = if vector == 32 {
            layout::VEC_KICK
        } else {
            vector
        };
        if !has_error_code(vector) {
            a.push(0)?;
        }
        if vector == 14 {
            // CR2 into the frame without losing RAX.
            a.push(rax)?;
            a.mov(rax, cr2)?;
            a.xchg(qword_ptr(rsp), rax)?;
        } else {
            a.push(0)?;
        }
        a.push(vector as i32)?;
        a.jmp(common)?;
        // Keep stubs apart so a stray jump into the middle of one is obvious.
        a.int3()?;
    }

    // The one exit of every trap: FXSAVE ring 3's FP state next to the frame,
    // then `out`. The host reads the frame and the sync regs, may rewrite
    // both, and either lets this path continue or redirects RIP.
    a.set_label(&mut common)?;
    a.fxsave64(ptr(rsp + frame::BYTES as i32))?;
    a.out(PORT_TRAP as u32, al)?;
    a.fxrstor64(ptr(rsp + frame::BYTES as i32))?;
    a.add(rsp, 24)?;
    a.iretq()?;

    // The native `syscall` entry (VT-x/SVM). On PVM it is never executed:
    // fetching it from ring 3 raises #PF, which the host recognises.
    let mut syscall_entry = a.create_label();
    a.set_label(&mut syscall_entry)?;
    a.swapgs()?;
    a.mov(qword_ptr(cpu::SCRATCH_USER_RSP as u32).gs(), rsp)?;
    a.mov(rsp, qword_ptr(cpu::SCRATCH_KSTACK as u32).gs())?;
    a.push(layout::USER_DS as i32)?;
    a.push(qword_ptr(cpu::SCRATCH_USER_RSP as u32).gs())?;
    a.push(r11)?;
    a.push(layout::USER_CS as i32)?;
    a.push(rcx)?;
    a.push(0)?;
    a.push(0)?;
    a.push(layout::VEC_SYSCALL as i32)?;
    a.swapgs()?;
    a.jmp(common)?;

    // Full restore.
    let mut resume = a.create_label();
    let mut q_loop = a.create_label();
    let mut q_done = a.create_label();
    let mut no_more = a.create_label();
    let mut no_cr3 = a.create_label();
    a.set_label(&mut resume)?;
    a.test(rsi, rsi)?;
    a.jz(q_done)?;
    a.set_label(&mut q_loop)?;
    a.mov(rax, qword_ptr(rdi))?;
    a.mov(rdx, qword_ptr(rdi + 8))?;
    a.mov(qword_ptr(rax), rdx)?;
    a.mov(rcx, qword_ptr(rdi + 16))?;
    a.invlpg(ptr(rcx))?;
    a.add(rdi, cpu::OP_BYTES as i32)?;
    a.dec(rsi)?;
    a.jnz(q_loop)?;
    a.set_label(&mut q_done)?;
    a.test(r9, r9)?;
    a.jz(no_more)?;
    a.out(PORT_MORE as u32, al)?;
    a.jmp(resume)?;
    a.set_label(&mut no_more)?;
    a.test(r8, r8)?;
    a.jz(no_cr3)?;
    a.mov(cr3, r8)?;
    a.set_label(&mut no_cr3)?;
    a.fxrstor64(ptr(rsp + frame::BYTES as i32))?;
    let gprs = (frame::BYTES + 512) as i32;
    for (slot, &n) in GPR_ORDER.iter().enumerate() {
        a.mov(reg64(n), qword_ptr(rsp + gprs + 8 * slot as i32))?;
    }
    a.add(rsp, 24)?;
    a.iretq()?;

    // sysretq: RCX/R11 hold the (checked) return RIP and RFLAGS.
    let mut sysret = a.create_label();
    a.set_label(&mut sysret)?;
    a.fxrstor64(ptr(rsp + frame::BYTES as i32))?;
    a.mov(rsp, qword_ptr(rsp + frame::RSP as i32))?;
    a.sysretq()?;
    let mut end = a.create_label();
    a.set_label(&mut end)?;
    a.int3()?;

    let result = a.assemble_options(
        base,
        iced_x86::BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS,
    )?;
    let at = |l: CodeLabel| result.label_ip(&l);
    let mut stubs = Vec::with_capacity(stub_labels.len());
    for l in stub_labels {
        stubs.push(at(l)?);
    }
    let shim = Shim {
        syscall_entry: at(syscall_entry)?,
        resume: at(resume)?,
        sysret: at(sysret)?,
        range: base..at(end)? + 1,
        stubs,
        code: result.inner.code_buffer,
    };
    assert!(
        shim.code.len() as u64 <= private::SHIM_BYTES,
        "the shim outgrew its pages"
    );
    Ok(shim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_inside_its_pages() {
        let s = assemble().unwrap();
        assert_eq!(s.stubs.len(), 33);
        assert!(s.range.contains(&s.syscall_entry));
        assert!(s.range.contains(&s.resume));
        assert!(s.code.len() < private::SHIM_BYTES as usize);
    }
}
