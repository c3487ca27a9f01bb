//! A minimal x86-64 encoder: just the instructions the block compiler emits.
//!
//! Code is assembled into a byte vector that will be copied to a known
//! address (`origin`), so relative branches to code outside the block (other
//! blocks, the shared exit) can be encoded directly.

/// A general-purpose register (its hardware number, 0–15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct R(pub u8);

pub(crate) const RAX: R = R(0);
pub(crate) const RCX: R = R(1);
pub(crate) const RDX: R = R(2);
pub(crate) const RBX: R = R(3);
pub(crate) const RSP: R = R(4);
pub(crate) const RBP: R = R(5);
pub(crate) const RSI: R = R(6);
pub(crate) const RDI: R = R(7);
pub(crate) const R8: R = R(8);
pub(crate) const R9: R = R(9);
pub(crate) const R10: R = R(10);
pub(crate) const R11: R = R(11);
pub(crate) const R12: R = R(12);
pub(crate) const R13: R = R(13);
pub(crate) const R14: R = R(14);
pub(crate) const R15: R = R(15);

/// An XMM register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct X(pub u8);

/// A memory operand `[base + index << scale + disp]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mem {
    pub base: R,
    pub index: Option<(R, u8)>,
    pub disp: i32,
}

/// `[base + disp]`.
pub(crate) fn mem(base: R, disp: i32) -> Mem {
    Mem {
        base,
        index: None,
        disp,
    }
}

/// `[base + index << scale + disp]`.
pub(crate) fn mem_idx(base: R, index: R, scale: u8, disp: i32) -> Mem {
    Mem {
        base,
        index: Some((index, scale)),
        disp,
    }
}

/// Two-operand integer ALU operations (their /digit and opcode row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alu {
    Add = 0,
    Or = 1,
    And = 4,
    Sub = 5,
    Xor = 6,
    Cmp = 7,
}

/// Shift operations (their /digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shift {
    Shl = 4,
    Shr = 5,
    Sar = 7,
}

/// Condition codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cc {
    O = 0,
    No = 1,
    B = 2,
    Ae = 3,
    E = 4,
    Ne = 5,
    Be = 6,
    A = 7,
    S = 8,
    Ns = 9,
    L = 0xc,
    Ge = 0xd,
    Le = 0xe,
    G = 0xf,
}

impl Cc {
    /// The opposite condition.
    pub fn not(self) -> Cc {
        match self {
            Cc::O => Cc::No,
            Cc::No => Cc::O,
            Cc::B => Cc::Ae,
            Cc::Ae => Cc::B,
            Cc::E => Cc::Ne,
            Cc::Ne => Cc::E,
            Cc::Be => Cc::A,
            Cc::A => Cc::Be,
            Cc::S => Cc::Ns,
            Cc::Ns => Cc::S,
            Cc::L => Cc::Ge,
            Cc::Ge => Cc::L,
            Cc::Le => Cc::G,
            Cc::G => Cc::Le,
        }
    }
}

/// The assembler.
pub(crate) struct Asm {
    /// The bytes so far.
    pub buf: Vec<u8>,
    /// The address `buf[0]` will have when run.
    pub origin: usize,
}

fn fits_i8(v: i64) -> bool {
    v == v as i8 as i64
}

fn fits_i32(v: i64) -> bool {
    v == v as i32 as i64
}

impl Asm {
    /// An empty assembler for code that will live at `origin`.
    pub fn new(origin: usize, buf: Vec<u8>) -> Asm {
        let mut buf = buf;
        buf.clear();
        Asm { buf, origin }
    }

    /// Current offset in the buffer.
    pub fn pos(&self) -> usize {
        self.buf.len()
    }

    /// The run-time address of buffer offset `pos`.
    pub fn addr_of(&self, pos: usize) -> usize {
        self.origin + pos
    }

    fn b(&mut self, x: u8) {
        self.buf.push(x);
    }

    fn d32(&mut self, x: i32) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }

    /// REX prefix: emitted when `w`, any extended register, or `force`.
    fn rex(&mut self, w: bool, reg: u8, index: u8, base: u8, force: bool) {
        let v =
            0x40 | (w as u8) << 3 | (reg >> 3 & 1) << 2 | (index >> 3 & 1) << 1 | (base >> 3 & 1);
        if v != 0x40 || force {
            self.b(v);
        }
    }

    fn modrm_mem(&mut self, reg: u8, m: Mem) {
        let reg = (reg & 7) << 3;
        let base = m.base.0 & 7;
        let (md, dlen) = if m.disp == 0 && base != 5 {
            (0u8, 0)
        } else if fits_i8(m.disp as i64) {
            (1, 1)
        } else {
            (2, 4)
        };
        match m.index {
            Some((ix, scale)) => {
                self.b(md << 6 | reg | 4);
                self.b(scale << 6 | (ix.0 & 7) << 3 | base);
            }
            None if base == 4 => {
                self.b(md << 6 | reg | 4);
                self.b(0x24);
            }
            None => self.b(md << 6 | reg | base),
        }
        match dlen {
            1 => self.b(m.disp as i8 as u8),
            4 => self.d32(m.disp),
            _ => {}
        }
    }

    /// `[prefix] REX opcode modrm(mem)`.
    fn op_m(&mut self, prefix: Option<u8>, w: bool, opc: &[u8], reg: u8, m: Mem, force: bool) {
        if let Some(p) = prefix {
            self.b(p);
        }
        let ix = m.index.map(|(i, _)| i.0).unwrap_or(0);
        self.rex(w, reg, ix, m.base.0, force);
        self.buf.extend_from_slice(opc);
        self.modrm_mem(reg, m);
    }

    /// `[prefix] REX opcode modrm(reg, rm register)`.
    fn op_r(&mut self, prefix: Option<u8>, w: bool, opc: &[u8], reg: u8, rm: u8, force: bool) {
        if let Some(p) = prefix {
            self.b(p);
        }
        self.rex(w, reg, 0, rm, force);
        self.buf.extend_from_slice(opc);
        self.b(0xc0 | (reg & 7) << 3 | (rm & 7));
    }

    /// `mov dst, qword [m]`.
    pub fn load64(&mut self, dst: R, m: Mem) {
        self.op_m(None, true, &[0x8b], dst.0, m, false);
    }
    /// `movsxd dst, dword [m]`.
    pub fn load32_sx(&mut self, dst: R, m: Mem) {
        self.op_m(None, true, &[0x63], dst.0, m, false);
    }
    /// `movzx dst, word [m]`.
    pub fn load16_zx(&mut self, dst: R, m: Mem) {
        self.op_m(None, false, &[0x0f, 0xb7], dst.0, m, false);
    }
    /// `movzx dst, byte [m]`.
    pub fn load8_zx(&mut self, dst: R, m: Mem) {
        self.op_m(None, false, &[0x0f, 0xb6], dst.0, m, false);
    }
    /// `mov qword [m], src`.
    pub fn store64(&mut self, m: Mem, src: R) {
        self.op_m(None, true, &[0x89], src.0, m, false);
    }
    /// `mov dword [m], src`.
    pub fn store32(&mut self, m: Mem, src: R) {
        self.op_m(None, false, &[0x89], src.0, m, false);
    }
    /// `mov word [m], src`.
    pub fn store16(&mut self, m: Mem, src: R) {
        self.op_m(Some(0x66), false, &[0x89], src.0, m, false);
    }
    /// `mov byte [m], src`.
    pub fn store8(&mut self, m: Mem, src: R) {
        let force = (4..8).contains(&src.0);
        self.op_m(None, false, &[0x88], src.0, m, force);
    }
    /// `mov qword [m], imm32` (sign-extended).
    pub fn store_imm(&mut self, m: Mem, imm: i32) {
        self.op_m(None, true, &[0xc7], 0, m, false);
        self.d32(imm);
    }
    /// `mov dst, src` (64-bit).
    pub fn mov(&mut self, dst: R, src: R) {
        self.op_r(None, true, &[0x89], src.0, dst.0, false);
    }
    /// `mov dst32, src32` (zero-extends).
    pub fn mov32(&mut self, dst: R, src: R) {
        self.op_r(None, false, &[0x89], src.0, dst.0, false);
    }
    /// `dst = imm` with the shortest encoding.
    pub fn mov_imm(&mut self, dst: R, imm: u64) {
        if imm == 0 {
            self.op_r(None, false, &[0x31], dst.0, dst.0, false);
        } else if imm <= u32::MAX as u64 {
            self.rex(false, 0, 0, dst.0, false);
            self.b(0xb8 + (dst.0 & 7));
            self.d32(imm as u32 as i32);
        } else if fits_i32(imm as i64) {
            self.op_r(None, true, &[0xc7], 0, dst.0, false);
            self.d32(imm as i32);
        } else {
            self.rex(true, 0, 0, dst.0, false);
            self.b(0xb8 + (dst.0 & 7));
            self.buf.extend_from_slice(&imm.to_le_bytes());
        }
    }
    /// `op dst, src` (64-bit).
    pub fn alu(&mut self, op: Alu, dst: R, src: R) {
        self.op_r(None, true, &[(op as u8) << 3 | 1], src.0, dst.0, false);
    }
    /// `op dst32, src32`.
    pub fn alu32(&mut self, op: Alu, dst: R, src: R) {
        self.op_r(None, false, &[(op as u8) << 3 | 1], src.0, dst.0, false);
    }
    /// `op dst, qword [m]`.
    pub fn alu_m(&mut self, op: Alu, dst: R, m: Mem) {
        self.op_m(None, true, &[(op as u8) << 3 | 3], dst.0, m, false);
    }
    /// `op dst, imm32` (sign-extended, 64-bit).
    pub fn alu_imm(&mut self, op: Alu, dst: R, imm: i32) {
        if fits_i8(imm as i64) {
            self.op_r(None, true, &[0x83], op as u8, dst.0, false);
            self.b(imm as i8 as u8);
        } else {
            self.op_r(None, true, &[0x81], op as u8, dst.0, false);
            self.d32(imm);
        }
    }
    /// `op dst32, imm32`.
    pub fn alu32_imm(&mut self, op: Alu, dst: R, imm: i32) {
        if fits_i8(imm as i64) {
            self.op_r(None, false, &[0x83], op as u8, dst.0, false);
            self.b(imm as i8 as u8);
        } else {
            self.op_r(None, false, &[0x81], op as u8, dst.0, false);
            self.d32(imm);
        }
    }
    /// `shift dst, imm` (64-bit).
    pub fn shift_imm(&mut self, op: Shift, dst: R, imm: u8) {
        self.op_r(None, true, &[0xc1], op as u8, dst.0, false);
        self.b(imm);
    }
    /// `shift dst, cl` (64-bit; the count is taken mod 64).
    pub fn shift_cl(&mut self, op: Shift, dst: R) {
        self.op_r(None, true, &[0xd3], op as u8, dst.0, false);
    }
    /// `imul dst, src` (64-bit).
    pub fn imul(&mut self, dst: R, src: R) {
        self.op_r(None, true, &[0x0f, 0xaf], dst.0, src.0, false);
    }
    /// `imul dst32, src32`.
    pub fn imul32(&mut self, dst: R, src: R) {
        self.op_r(None, false, &[0x0f, 0xaf], dst.0, src.0, false);
    }
    /// `mul src` (rdx:rax = rax * src, unsigned).
    pub fn mul(&mut self, src: R) {
        self.op_r(None, true, &[0xf7], 4, src.0, false);
    }
    /// `not dst`.
    pub fn not(&mut self, dst: R) {
        self.op_r(None, true, &[0xf7], 2, dst.0, false);
    }
    /// `neg dst32`.
    pub fn neg32(&mut self, dst: R) {
        self.op_r(None, false, &[0xf7], 3, dst.0, false);
    }
    /// `test a, b` (64-bit).
    pub fn test(&mut self, a: R, b: R) {
        self.op_r(None, true, &[0x85], b.0, a.0, false);
    }
    /// `test a32, imm32`.
    pub fn test32_imm(&mut self, a: R, imm: i32) {
        self.op_r(None, false, &[0xf7], 0, a.0, false);
        self.d32(imm);
    }
    /// `setcc dst8`.
    pub fn setcc(&mut self, cc: Cc, dst: R) {
        let force = (4..8).contains(&dst.0);
        self.op_r(None, false, &[0x0f, 0x90 | cc as u8], 0, dst.0, force);
    }
    /// `cmovcc dst, src` (64-bit).
    pub fn cmov(&mut self, cc: Cc, dst: R, src: R) {
        self.op_r(None, true, &[0x0f, 0x40 | cc as u8], dst.0, src.0, false);
    }
    /// `movsxd dst, src32`.
    pub fn movsxd(&mut self, dst: R, src: R) {
        self.op_r(None, true, &[0x63], dst.0, src.0, false);
    }
    /// `movsx dst, src8` (64-bit).
    pub fn movsx8(&mut self, dst: R, src: R) {
        let force = (4..8).contains(&src.0);
        self.op_r(None, true, &[0x0f, 0xbe], dst.0, src.0, force);
    }
    /// `movsx dst, src16` (64-bit).
    pub fn movsx16(&mut self, dst: R, src: R) {
        self.op_r(None, true, &[0x0f, 0xbf], dst.0, src.0, false);
    }
    /// `movzx dst32, src8`.
    pub fn movzx8(&mut self, dst: R, src: R) {
        let force = (4..8).contains(&src.0);
        self.op_r(None, false, &[0x0f, 0xb6], dst.0, src.0, force);
    }
    /// `movzx dst32, src16`.
    pub fn movzx16(&mut self, dst: R, src: R) {
        self.op_r(None, false, &[0x0f, 0xb7], dst.0, src.0, false);
    }
    /// `lea dst, [m]`.
    pub fn lea(&mut self, dst: R, m: Mem) {
        self.op_m(None, true, &[0x8d], dst.0, m, false);
    }
    /// `popcnt dst, src` / `lzcnt` / `tzcnt` (F3-prefixed 0F B8/BD/BC).
    pub fn bitcount(&mut self, opc: u8, dst: R, src: R) {
        self.op_r(Some(0xf3), true, &[0x0f, opc], dst.0, src.0, false);
    }
    /// `movq xmm, r64`.
    pub fn movq_to_x(&mut self, dst: X, src: R) {
        self.op_r(Some(0x66), true, &[0x0f, 0x6e], dst.0, src.0, false);
    }
    /// `movq r64, xmm`.
    pub fn movq_from_x(&mut self, dst: R, src: X) {
        self.op_r(Some(0x66), true, &[0x0f, 0x7e], src.0, dst.0, false);
    }
    /// Scalar double `addsd` (0x58) / `mulsd` (0x59) / `subsd` (0x5c) /
    /// `divsd` (0x5e): `dst op= src`.
    pub fn sd(&mut self, opc: u8, dst: X, src: X) {
        self.op_r(Some(0xf2), false, &[0x0f, opc], dst.0, src.0, false);
    }
    /// `cvtsi2sd dst, src64`.
    pub fn cvtsi2sd(&mut self, dst: X, src: R) {
        self.op_r(Some(0xf2), true, &[0x0f, 0x2a], dst.0, src.0, false);
    }
    /// `cvttsd2si dst64, src` (truncating).
    pub fn cvttsd2si(&mut self, dst: R, src: X) {
        self.op_r(Some(0xf2), true, &[0x0f, 0x2c], dst.0, src.0, false);
    }
    /// `movdqa dst, src`.
    pub fn movdqa(&mut self, dst: X, src: X) {
        self.op_r(Some(0x66), false, &[0x0f, 0x6f], dst.0, src.0, false);
    }
    /// `pmaxub dst, src`.
    pub fn pmaxub(&mut self, dst: X, src: X) {
        self.op_r(Some(0x66), false, &[0x0f, 0xde], dst.0, src.0, false);
    }
    /// `pcmpeqb dst, src`.
    pub fn pcmpeqb(&mut self, dst: X, src: X) {
        self.op_r(Some(0x66), false, &[0x0f, 0x74], dst.0, src.0, false);
    }
    /// `pmovmskb dst32, src`.
    pub fn pmovmskb(&mut self, dst: R, src: X) {
        self.op_r(Some(0x66), false, &[0x0f, 0xd7], dst.0, src.0, false);
    }
    /// `mfence`.
    pub fn mfence(&mut self) {
        self.buf.extend_from_slice(&[0x0f, 0xae, 0xf0]);
    }
    /// `push r`.
    pub fn push(&mut self, r: R) {
        self.rex(false, 0, 0, r.0, false);
        self.b(0x50 + (r.0 & 7));
    }
    /// `pop r`.
    pub fn pop(&mut self, r: R) {
        self.rex(false, 0, 0, r.0, false);
        self.b(0x58 + (r.0 & 7));
    }
    /// `ret`.
    pub fn ret(&mut self) {
        self.b(0xc3);
    }
    /// `call r`.
    pub fn call_r(&mut self, r: R) {
        self.op_r(None, false, &[0xff], 2, r.0, false);
    }
    /// `jmp r`.
    pub fn jmp_r(&mut self, r: R) {
        self.op_r(None, false, &[0xff], 4, r.0, false);
    }
    /// `jmp qword [m]`.
    pub fn jmp_m(&mut self, m: Mem) {
        self.op_m(None, false, &[0xff], 4, m, false);
    }
    /// `jcc rel32` to nowhere yet; returns the offset of the rel32 field.
    pub fn jcc(&mut self, cc: Cc) -> usize {
        self.b(0x0f);
        self.b(0x80 | cc as u8);
        let at = self.pos();
        self.d32(0);
        at
    }
    /// `jmp rel32` to nowhere yet; returns the offset of the rel32 field.
    pub fn jmp(&mut self) -> usize {
        self.b(0xe9);
        let at = self.pos();
        self.d32(0);
        at
    }
    /// Points the rel32 field at `field` to buffer offset `target`.
    pub fn bind(&mut self, field: usize, target: usize) {
        let rel = target as i64 - (field as i64 + 4);
        self.buf[field..field + 4].copy_from_slice(&(rel as i32).to_le_bytes());
    }
    /// Points the rel32 field at `field` to the absolute address `target`.
    pub fn bind_abs(&mut self, field: usize, target: usize) {
        let rel = target as i64 - (self.addr_of(field) as i64 + 4);
        self.buf[field..field + 4].copy_from_slice(&(rel as i32).to_le_bytes());
    }
}

/// The rel32 that makes a jump whose field lives at address `field` land on `target`.
pub(crate) fn rel32(field: usize, target: usize) -> i32 {
    (target as i64 - (field as i64 + 4)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl FnOnce(&mut Asm)) -> Vec<u8> {
        let mut a = Asm::new(0, Vec::new());
        f(&mut a);
        a.buf
    }

    #[test]
    fn encodings_match_the_manual() {
        // mov rax, [rbx+0x10]
        assert_eq!(
            enc(|a| a.load64(RAX, mem(RBX, 0x10))),
            [0x48, 0x8b, 0x43, 0x10]
        );
        // mov [rbx+0x100], rdx
        assert_eq!(
            enc(|a| a.store64(mem(RBX, 0x100), RDX)),
            [0x48, 0x89, 0x93, 0, 1, 0, 0]
        );
        // mov rax, [r13+rcx*1+0x18]
        assert_eq!(
            enc(|a| a.load64(RAX, mem_idx(R13, RCX, 0, 0x18))),
            [0x49, 0x8b, 0x44, 0x0d, 0x18]
        );
        // mov rdx, [rax+rsi]
        assert_eq!(
            enc(|a| a.load64(RDX, mem_idx(RAX, RSI, 0, 0))),
            [0x48, 0x8b, 0x14, 0x30]
        );
        // cmp rdx, [r13+rax]
        assert_eq!(
            enc(|a| a.alu_m(Alu::Cmp, RDX, mem_idx(R13, RAX, 0, 0))),
            [0x49, 0x3b, 0x54, 0x05, 0x00]
        );
        // mov [r12], rax  (r12 needs a SIB byte)
        assert_eq!(
            enc(|a| a.store64(mem(R12, 0), RAX)),
            [0x49, 0x89, 0x04, 0x24]
        );
        // sub r15, 7
        assert_eq!(
            enc(|a| a.alu_imm(Alu::Sub, R15, 7)),
            [0x49, 0x83, 0xef, 0x07]
        );
        // mov byte [rax+rsi], dl ; mov byte [rax], sil (needs REX)
        assert_eq!(
            enc(|a| a.store8(mem_idx(RAX, RSI, 0, 0), RDX)),
            [0x88, 0x14, 0x30]
        );
        assert_eq!(enc(|a| a.store8(mem(RAX, 0), RSI)), [0x40, 0x88, 0x30]);
        // mov eax, 0x12345678 ; mov rax, -2 ; movabs
        assert_eq!(
            enc(|a| a.mov_imm(RAX, 0x1234_5678)),
            [0xb8, 0x78, 0x56, 0x34, 0x12]
        );
        assert_eq!(
            enc(|a| a.mov_imm(RAX, u64::MAX - 1)),
            [0x48, 0xc7, 0xc0, 0xfe, 0xff, 0xff, 0xff]
        );
        assert_eq!(enc(|a| a.mov_imm(R8, 1 << 40))[..2], [0x49, 0xb8]);
        // lea r9, [r10-8] ; test r11d, 1 ; movzx ecx, r8b
        assert_eq!(enc(|a| a.lea(R9, mem(R10, -8))), [0x4d, 0x8d, 0x4a, 0xf8]);
        assert_eq!(enc(|a| a.test32_imm(R11, 1))[..3], [0x41, 0xf7, 0xc3]);
        assert_eq!(enc(|a| a.movzx8(RCX, R8)), [0x41, 0x0f, 0xb6, 0xc8]);
        // setb dl ; cmovne rax, rcx ; movsxd rax, eax
        assert_eq!(enc(|a| a.setcc(Cc::B, RDX)), [0x0f, 0x92, 0xc2]);
        assert_eq!(enc(|a| a.cmov(Cc::Ne, RAX, RCX)), [0x48, 0x0f, 0x45, 0xc1]);
        assert_eq!(enc(|a| a.movsxd(RAX, RAX)), [0x48, 0x63, 0xc0]);
        // shl rax, cl ; sar rax, 3
        assert_eq!(enc(|a| a.shift_cl(Shift::Shl, RAX)), [0x48, 0xd3, 0xe0]);
        assert_eq!(
            enc(|a| a.shift_imm(Shift::Sar, RAX, 3)),
            [0x48, 0xc1, 0xf8, 3]
        );
        // jmp [r12+rcx+8]
        assert_eq!(
            enc(|a| a.jmp_m(mem_idx(R12, RCX, 0, 8))),
            [0x41, 0xff, 0x64, 0x0c, 0x08]
        );
        // call rax ; movq rax, xmm0 ; divsd xmm0, xmm1
        assert_eq!(enc(|a| a.call_r(RAX)), [0xff, 0xd0]);
        assert_eq!(
            enc(|a| a.movq_from_x(RAX, X(0))),
            [0x66, 0x48, 0x0f, 0x7e, 0xc0]
        );
        assert_eq!(enc(|a| a.sd(0x5e, X(0), X(1))), [0xf2, 0x0f, 0x5e, 0xc1]);
        // cvtsi2sd xmm0, rax ; cvttsd2si rax, xmm0
        assert_eq!(
            enc(|a| a.cvtsi2sd(X(0), RAX)),
            [0xf2, 0x48, 0x0f, 0x2a, 0xc0]
        );
        assert_eq!(
            enc(|a| a.cvttsd2si(RAX, X(0))),
            [0xf2, 0x48, 0x0f, 0x2c, 0xc0]
        );
        // pmovmskb eax, xmm2 ; movq xmm0, rax
        assert_eq!(enc(|a| a.pmovmskb(RAX, X(2))), [0x66, 0x0f, 0xd7, 0xc2]);
        assert_eq!(
            enc(|a| a.movq_to_x(X(0), RAX)),
            [0x66, 0x48, 0x0f, 0x6e, 0xc0]
        );
        // mov qword [rbp+8], -1
        assert_eq!(
            enc(|a| a.store_imm(mem(RBP, 8), -1)),
            [0x48, 0xc7, 0x45, 0x08, 0xff, 0xff, 0xff, 0xff]
        );
        // [rbp] needs a disp8 of 0
        assert_eq!(
            enc(|a| a.load64(RAX, mem(RBP, 0))),
            [0x48, 0x8b, 0x45, 0x00]
        );
    }
}
