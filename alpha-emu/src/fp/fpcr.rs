//! The floating-point control register (FPCR) and the per-instruction
//! environment derived from it.
//!
//! The FPCR *state word* handed to [`super::fp_operate`] is a `u64` whose
//! high 32 bits are the architectural FPCR exactly as qemu-alpha stores it
//! (raw: `mt_fpcr` keeps every bit written, nothing recomputes SUM), and whose
//! low 32 bits — always zero in the architectural view returned by `mf_fpcr`
//! — hold the Linux software-completion control bits (SWCR) that change what
//! the hardware-visible operations do in a user process: the INV trap enable
//! (which also governs integer-overflow traps) and the DMZ/UMZ mapping bits.
//! A state word with a zero low half behaves exactly like a fresh qemu-alpha
//! process (SWCR 0).

/// Summary bit (63). qemu-alpha never sets it by itself.
pub const SUM: u64 = 1 << 63;
/// Inexact trap disable (62).
pub const INED: u64 = 1 << 62;
/// Underflow trap disable (61).
pub const UNFD: u64 = 1 << 61;
/// Underflow to zero (60): with UNFD, `/U` results that are tiny become zero.
pub const UNDZ: u64 = 1 << 60;
/// Dynamic rounding mode field shift (bits 59:58).
pub const DYN_SHIFT: u32 = 58;
/// Dynamic rounding mode field mask.
pub const DYN_MASK: u64 = 3 << DYN_SHIFT;
/// Integer overflow status (57).
pub const IOV: u64 = 1 << 57;
/// Inexact status (56).
pub const INE: u64 = 1 << 56;
/// Underflow status (55).
pub const UNF: u64 = 1 << 55;
/// Overflow status (54).
pub const OVF: u64 = 1 << 54;
/// Division-by-zero status (53).
pub const DZE: u64 = 1 << 53;
/// Invalid-operation status (52).
pub const INV: u64 = 1 << 52;
/// Overflow trap disable (51).
pub const OVFD: u64 = 1 << 51;
/// Division-by-zero trap disable (50).
pub const DZED: u64 = 1 << 50;
/// Invalid-operation trap disable (49).
pub const INVD: u64 = 1 << 49;
/// Denormal operands to zero (48).
pub const DNZ: u64 = 1 << 48;
/// Denormal operand trap disable (47); stored, otherwise ignored (as qemu).
pub const DNOD: u64 = 1 << 47;
/// All six exception status bits.
pub const STATUS_MASK: u64 = INV | DZE | OVF | UNF | INE | IOV;
/// The architectural (high) half of the state word.
pub const ARCH_MASK: u64 = 0xffff_ffff_0000_0000;

/// FPCR of a freshly started Linux user process: all traps disabled, DNOD,
/// round to nearest (verified with qemu-alpha's `mf_fpcr` at entry).
pub const FPCR_RESET: u64 = 0x680e_8000_0000_0000;

/// SWCR bit: invalid-operation trap enabled (also enables IOV traps).
pub const SWCR_TRAP_ENABLE_INV: u64 = 1 << 1;
/// SWCR bit: division-by-zero trap enabled.
pub const SWCR_TRAP_ENABLE_DZE: u64 = 1 << 2;
/// SWCR bit: overflow trap enabled.
pub const SWCR_TRAP_ENABLE_OVF: u64 = 1 << 3;
/// SWCR bit: underflow trap enabled.
pub const SWCR_TRAP_ENABLE_UNF: u64 = 1 << 4;
/// SWCR bit: inexact trap enabled.
pub const SWCR_TRAP_ENABLE_INE: u64 = 1 << 5;
/// SWCR bit: denormal-operand trap enabled.
pub const SWCR_TRAP_ENABLE_DNO: u64 = 1 << 6;
/// SWCR trap-enable bits.
pub const SWCR_TRAP_ENABLE_MASK: u64 = 0x7e;
/// SWCR bit: map denormal operands to zero.
pub const SWCR_MAP_DMZ: u64 = 1 << 12;
/// SWCR bit: map underflowed results to zero.
pub const SWCR_MAP_UMZ: u64 = 1 << 13;
/// SWCR mapping bits.
pub const SWCR_MAP_MASK: u64 = SWCR_MAP_DMZ | SWCR_MAP_UMZ;
/// SWCR sticky status bits (INV at 17 … INE at 21, DNO at 22).
pub const SWCR_STATUS_MASK: u64 = 0x3f << 17;

/// IEEE rounding direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Round to nearest, ties to even (Alpha "normal").
    NearestEven,
    /// Round toward zero (Alpha "chopped", `/C`).
    ToZero,
    /// Round toward minus infinity (`/M`).
    Down,
    /// Round toward plus infinity (only reachable through `/D`).
    Up,
}

/// The rounding mode selected by the FPCR DYN field (bits 59:58).
pub fn dynamic_round(fpcr: u64) -> Round {
    match (fpcr & DYN_MASK) >> DYN_SHIFT {
        0 => Round::ToZero,
        1 => Round::Down,
        2 => Round::NearestEven,
        _ => Round::Up,
    }
}

/// The `mf_fpcr` value: the architectural half of the state word.
pub fn architectural(state: u64) -> u64 {
    state & ARCH_MASK
}

/// Applies `mt_fpcr`: the architectural half is replaced, the SWCR half kept.
pub fn write_architectural(state: &mut u64, value: u64) {
    *state = (value & ARCH_MASK) | (*state & !ARCH_MASK);
}

/// Exception status bits whose traps are enabled for `/S` instructions in a
/// Linux user process (qemu-alpha's `fpcr_exc_enable`). IOV traps follow the
/// SWCR INV enable, not the FPCR, because the kernel masks IOV with it.
pub fn trap_enables(state: u64) -> u64 {
    let mut disabled = 0;
    if state & INED != 0 {
        disabled |= INE;
    }
    if state & UNFD != 0 {
        disabled |= UNF;
    }
    if state & OVFD != 0 {
        disabled |= OVF;
    }
    if state & DZED != 0 {
        disabled |= DZE;
    }
    if state & INVD != 0 {
        disabled |= INV;
    }
    if state & SWCR_TRAP_ENABLE_INV == 0 {
        disabled |= IOV;
    }
    !disabled & STATUS_MASK
}

/// Whether denormal operands are treated as zero (FPCR.DNZ or SWCR map DMZ).
pub fn denormals_are_zero(state: u64) -> bool {
    state & DNZ != 0 || state & SWCR_MAP_DMZ != 0
}

/// Whether tiny results of `/U` instructions become zero
/// ((FPCR.UNFD and FPCR.UNDZ) or SWCR map UMZ).
pub fn underflow_to_zero(state: u64) -> bool {
    (state & UNFD != 0 && state & UNDZ != 0) || state & SWCR_MAP_UMZ != 0
}

/// Converts a Linux SWCR (software FP control word) to FPCR bits the way
/// the kernel (and qemu-alpha's `alpha_ieee_swcr_to_fpcr`) does.
pub fn swcr_to_fpcr(swcr: u64) -> u64 {
    let mut fpcr = (swcr & SWCR_STATUS_MASK) << 35;
    fpcr |= (swcr & SWCR_MAP_DMZ) << 36;
    if fpcr & STATUS_MASK != 0 {
        fpcr |= SUM;
    }
    fpcr |= (!swcr & (SWCR_TRAP_ENABLE_INV | SWCR_TRAP_ENABLE_DZE | SWCR_TRAP_ENABLE_OVF)) << 48;
    fpcr |= (!swcr & (SWCR_TRAP_ENABLE_UNF | SWCR_TRAP_ENABLE_INE)) << 57;
    if swcr & SWCR_MAP_UMZ != 0 {
        fpcr |= UNDZ | UNFD;
    }
    fpcr |= (!swcr & SWCR_TRAP_ENABLE_DNO) << 41;
    fpcr
}

/// `osf_setsysinfo(SSI_IEEE_FP_CONTROL, swcr)`: records the SWCR control bits
/// in the low half of the state word and rebuilds the FPCR from it, keeping
/// only the dynamic rounding mode (as qemu-alpha's linux-user does).
pub fn set_swcr(state: &mut u64, swcr: u64) {
    let control = swcr & (SWCR_TRAP_ENABLE_MASK | SWCR_MAP_MASK);
    let fpcr = (*state & DYN_MASK) | swcr_to_fpcr(swcr);
    *state = (fpcr & ARCH_MASK) | control;
}

/// `osf_getsysinfo(GSI_IEEE_FP_CONTROL)`: the SWCR control bits recorded in
/// the state word plus the sticky status bits taken from the FPCR.
pub fn get_swcr(state: u64) -> u64 {
    let control = state & (SWCR_TRAP_ENABLE_MASK | SWCR_MAP_MASK);
    control | ((state >> 35) & SWCR_STATUS_MASK)
}
