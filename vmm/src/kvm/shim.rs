//! The ring-0 shim, assembled at run time with iced-x86's code assembler.
//!
//! It is all the guest kernel there is, and as little of it as possible: a
//! PVM host emulates every instruction the guest executes in ring 0 (2–3 µs
//! each), so a trap's cost is mostly the shim's instruction count.
//!
//! - 33 trap stubs (the 32 exceptions and the kick interrupt), each one
//!   `out` to a port that names its vector ([`layout::trap_port`]) — the
//!   host reads the CPU's own frame, CR2 from the special registers and the
//!   FP state with `KVM_GET_FPU` only when it needs them — then `iretq`
//!   (after dropping the error code where the CPU pushed one);
//! - the native `syscall` entry, which builds the same `iretq` frame and
//!   leaves through [`PORT_SYSCALL`];
//! - a full-restore path that first applies the host's queue of PTE stores
//!   (removals and downgrades must be guest writes on a shadow-paging host —
//!   kvm.md quirk 2), may load a new CR3, loads ring 3's general registers
//!   and `iretq`s;
//! - a `sysretq` path for system calls that arrived through the native entry.
//!
//! Register protocol of [`Shim::resume`] (set by the host through sync regs):
//! RSP = RSP0 − frame, RDI = queue address, RSI = operations, R8 = CR3 to
//! load (0: keep), R9 = 1 if the host has more operations after these.
//! Ring 3's general registers are read from the per-vCPU GPR area.

use iced_x86::code_asm::*;

use super::layout::{self, cpu, frame, has_error_code, private, KBASE, PORT_MORE, PORT_SYSCALL};

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
        // The port names the vector; the host reads the CPU's frame (and,
        // for #PF, CR2 from the special registers). Return: drop the error
        // code, `iretq`.
        a.out(u32::from(layout::trap_port(vector)), al)?;
        if has_error_code(vector) {
            a.add(rsp, 8)?;
        }
        a.iretq()?;
        // Keep stubs apart so a stray jump into the middle of one is obvious.
        a.int3()?;
    }

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
    a.swapgs()?;
    a.out(u32::from(PORT_SYSCALL), al)?;
    a.iretq()?;

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
    let gprs = (cpu::GPRS - (cpu::RSP0 - frame::BYTES)) as i32;
    for (slot, &n) in GPR_ORDER.iter().enumerate() {
        a.mov(reg64(n), qword_ptr(rsp + gprs + 8 * slot as i32))?;
    }
    a.add(rsp, 24)?;
    a.iretq()?;

    // sysretq: RCX/R11 hold the (checked) return RIP and RFLAGS.
    let mut sysret = a.create_label();
    a.set_label(&mut sysret)?;
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
