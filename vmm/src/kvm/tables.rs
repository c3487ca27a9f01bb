//! Descriptor tables as byte images: the GDT (Linux's selectors), the
//! 64-bit TSS (RSP0, IST stacks, no I/O bitmap) and the IDT.

use super::layout::{self, TSS_LIMIT};

/// A flat 64-bit code or data descriptor.
const fn flat(access: u64, flags: u64) -> u64 {
    0xffff | (access << 40) | (0xf << 48) | (flags << 52)
}

/// The GDT of one vCPU whose TSS is at `tss` (kernel virtual).
pub fn gdt(tss: u64) -> [u64; 10] {
    let mut g = [0u64; 10];
    // Access bytes: P | DPL | S | type; flags: G (8) | L (2) or D/B (4).
    g[(layout::KERNEL_CS >> 3) as usize] = flat(0x9b, 0xa);
    g[(layout::KERNEL_DS >> 3) as usize] = flat(0x93, 0xc);
    g[(layout::USER32_CS >> 3) as usize] = flat(0xfb, 0xc);
    g[(layout::USER_DS >> 3) as usize] = flat(0xf3, 0xc);
    g[(layout::USER_CS >> 3) as usize] = flat(0xfb, 0xa);
    // 64-bit available TSS (type 9), present, DPL 0: a 16-byte descriptor.
    let limit = u64::from(TSS_LIMIT);
    let low = (limit & 0xffff)
        | ((tss & 0xff_ffff) << 16)
        | (0x89 << 40)
        | (((limit >> 16) & 0xf) << 48)
        | (((tss >> 24) & 0xff) << 56);
    g[(layout::TSS_SEL >> 3) as usize] = low;
    g[(layout::TSS_SEL >> 3) as usize + 1] = tss >> 32;
    g
}

/// The 104-byte TSS: `rsp0`, IST1..3 for #DF/NMI/#MC, and an I/O map base
/// beyond the limit (ring 3 gets no I/O ports).
pub fn tss(rsp0: u64, ist: [u64; 3]) -> [u8; 104] {
    let mut t = [0u8; 104];
    t[4..12].copy_from_slice(&rsp0.to_le_bytes());
    for (i, s) in ist.iter().enumerate() {
        let at = 0x24 + 8 * i;
        t[at..at + 8].copy_from_slice(&s.to_le_bytes());
    }
    t[0x66..0x68].copy_from_slice(&104u16.to_le_bytes());
    t
}

/// IST slot (1-based) for a vector, 0 for none.
pub const fn ist_of(vector: u8) -> u8 {
    match vector {
        8 => 1,
        2 => 2,
        18 => 3,
        _ => 0,
    }
}

/// A 16-byte interrupt gate to `handler`. `user` lets ring 3 raise it with
/// `int n` (only #BP and #OF, as Linux).
pub fn gate(handler: u64, ist: u8, user: bool) -> [u8; 16] {
    let mut g = [0u8; 16];
    g[0..2].copy_from_slice(&(handler as u16).to_le_bytes());
    g[2..4].copy_from_slice(&layout::KERNEL_CS.to_le_bytes());
    g[4] = ist & 7;
    g[5] = if user { 0xee } else { 0x8e };
    g[6..8].copy_from_slice(&((handler >> 16) as u16).to_le_bytes());
    g[8..12].copy_from_slice(&((handler >> 32) as u32).to_le_bytes());
    g
}

/// The IDT: vectors 0..=31 and the kick vector; everything else not present.
pub fn idt(stubs: &[u64]) -> Vec<u8> {
    let mut t = vec![0u8; 4096];
    for (i, &h) in stubs.iter().enumerate() {
        let vector = if i == 32 { layout::VEC_KICK } else { i as u8 };
        let user = matches!(vector, 3 | 4);
        let at = usize::from(vector) * 16;
        t[at..at + 16].copy_from_slice(&gate(h, ist_of(vector), user));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_match_linux() {
        let g = gdt(0xffff_8000_0001_0800);
        assert_eq!(g[2], 0x00af_9b00_0000_ffff);
        assert_eq!(g[3], 0x00cf_9300_0000_ffff);
        assert_eq!(g[5], 0x00cf_f300_0000_ffff);
        assert_eq!(g[6], 0x00af_fb00_0000_ffff);
        assert_eq!(g[9], 0xffff_8000);
        let t = tss(0x1234, [1, 2, 3]);
        assert_eq!(u16::from_le_bytes([t[0x66], t[0x67]]), 104);
        let gt = gate(0xffff_8000_0000_1234, 1, true);
        assert_eq!(gt[5], 0xee);
        assert_eq!(gt[4], 1);
    }

    #[test]
    fn df_nmi_mc_run_on_their_own_stacks_and_ring_3_has_no_io_map() {
        let stubs: Vec<u64> = (0..33).map(|i| 0xffff_8000_0000_1000 + 16 * i).collect();
        let t = idt(&stubs);
        for (vector, ist) in [(8usize, 1u8), (2, 2), (18, 3), (14, 0), (13, 0)] {
            assert_eq!(t[vector * 16 + 4], ist, "vector {vector}");
        }
        // Only #BP and #OF may be raised with `int n` from ring 3.
        for v in 0..32usize {
            let dpl = (t[v * 16 + 5] >> 5) & 3;
            assert_eq!(dpl == 3, v == 3 || v == 4, "vector {v}");
        }
        let s = tss(0x1000, [0x2000, 0x3000, 0x4000]);
        for (i, want) in [0x2000u64, 0x3000, 0x4000].iter().enumerate() {
            let at = 0x24 + 8 * i;
            assert_eq!(u64::from_le_bytes(s[at..at + 8].try_into().unwrap()), *want);
        }
        // The I/O map base is past the limit: no bitmap, every port denied.
        let iomap = u16::from_le_bytes([s[0x66], s[0x67]]);
        assert!(u32::from(iomap) > TSS_LIMIT);
    }
}
