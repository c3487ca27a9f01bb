//! Rust functions that compiled code calls for instructions it does not
//! expand inline (SysV calling convention, no unwinding).

use crate::decode::{Kind, Op};
use crate::fp::s_mem_to_reg;
use crate::interp::{fp_op, State};

/// Packs an FP-operate op into the helper's second argument.
pub(crate) fn pack_fp(op: &Op) -> u64 {
    op.imm as u64
        | (op.a as u64) << 32
        | (op.b as u64) << 40
        | (op.c as u64) << 48
        | ((op.kind == Kind::Itof) as u64) << 56
}

fn unpack_fp(p: u64) -> Op {
    Op {
        kind: if p >> 56 & 1 != 0 {
            Kind::Itof
        } else {
            Kind::FpOp
        },
        a: (p >> 32) as u8,
        b: (p >> 40) as u8,
        c: (p >> 48) as u8,
        imm: p as u32,
    }
}

/// Runs an FP-operate instruction on `st` exactly as the interpreter does.
/// Returns 0 when it completed, 1 when it traps: then nothing was changed
/// and compiled code leaves for the interpreter, which runs it again and
/// raises the trap.
///
/// # Safety
///
/// `st` must point to a live `State` that nothing else reads or writes
/// during the call. Compiled code passes its rbx: the `State` the
/// dispatcher lent it for this entry (exclusively borrowed, and untouched
/// on the Rust side while compiled code runs).
pub(crate) unsafe extern "sysv64" fn fp(st: *mut State, packed: u64) -> u64 {
    // SAFETY: guaranteed by the caller (see `# Safety`).
    let st = unsafe { &mut *st };
    let op = unpack_fp(packed);
    let c = op.c as usize;
    let (fpcr, old) = (st.fpcr, st.f[c]);
    match fp_op(st, op) {
        Ok(()) => 0,
        Err(_) => {
            st.fpcr = fpcr;
            st.f[c] = old;
            1
        }
    }
}

/// `lds`'s S-memory → register expansion.
pub(crate) extern "sysv64" fn lds(bits: u64) -> u64 {
    s_mem_to_reg(bits as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips() {
        let op = Op {
            kind: Kind::Itof,
            a: 3,
            b: 31,
            c: 32,
            imm: 0x14 << 16 | 0x024,
        };
        assert_eq!(unpack_fp(pack_fp(&op)), op);
    }
}
