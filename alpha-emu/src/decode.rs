//! Instruction decoding: one 32-bit Alpha word → a compact predecoded [`Op`].
//!
//! Every user-mode format is recognised (memory, memory-with-function, jump,
//! branch, integer operate, FP operate, PAL). The [`Op`] is what the
//! interpreter caches per instruction slot; [`Kind`] also names the
//! instruction for the disassembler.

/// Register index used as a write sink: writes to r31/f31 land here and are
/// never read back (slot 31 always reads as zero).
pub const SINK: u8 = 32;

macro_rules! kinds {
    ($($(#[$m:meta])* $name:ident = $mn:literal,)*) => {
        /// What an instruction does (one variant per executable behaviour).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Kind {
            $($(#[$m])* #[doc = $mn] $name,)*
        }
        impl Kind {
            /// The base mnemonic objdump prints for this instruction.
            pub const fn mnemonic(self) -> &'static str {
                match self { $(Kind::$name => $mn,)* }
            }
        }
    };
}

kinds! {
    /// Slot not decoded yet (interpreter-internal).
    Decode = "(decode)",
    /// Reserved or unimplemented encoding.
    Illegal = ".long",
    /// A load to r31/f31 (prefetch hint) or another architectural no-op.
    Nop = "(nop)",
    /// The sentinel slot after a page's last instruction (interpreter-internal).
    PageEnd = "(page end)",
    Lda = "lda", Ldah = "ldah", Ldbu = "ldbu", LdqU = "ldq_u", Ldwu = "ldwu",
    Stw = "stw", Stb = "stb", StqU = "stq_u",
    Ldf = "ldf", Ldg = "ldg", Lds = "lds", Ldt = "ldt",
    Stf = "stf", Stg = "stg", Sts = "sts", Stt = "stt",
    Ldl = "ldl", Ldq = "ldq", LdlL = "ldl_l", LdqL = "ldq_l",
    Stl = "stl", Stq = "stq", StlC = "stl_c", StqC = "stq_c",
    // branches
    Br = "br", Bsr = "bsr", Fbeq = "fbeq", Fblt = "fblt", Fble = "fble", Fbne = "fbne",
    Fbge = "fbge", Fbgt = "fbgt", Blbc = "blbc", Beq = "beq", Blt = "blt", Ble = "ble",
    Blbs = "blbs", Bne = "bne", Bge = "bge", Bgt = "bgt",
    // jumps
    Jmp = "jmp", Jsr = "jsr", Ret = "ret", JsrCoroutine = "jsr_coroutine",
    // INTA
    Addl = "addl", S4addl = "s4addl", Subl = "subl", S4subl = "s4subl", Cmpbge = "cmpbge",
    S8addl = "s8addl", S8subl = "s8subl", Cmpult = "cmpult", Addq = "addq", S4addq = "s4addq",
    Subq = "subq", S4subq = "s4subq", Cmpeq = "cmpeq", S8addq = "s8addq", S8subq = "s8subq",
    Cmpule = "cmpule", AddlV = "addl/v", SublV = "subl/v", Cmplt = "cmplt", AddqV = "addq/v",
    SubqV = "subq/v", Cmple = "cmple",
    // INTL
    And = "and", Bic = "bic", Cmovlbs = "cmovlbs", Cmovlbc = "cmovlbc", Bis = "bis",
    Cmoveq = "cmoveq", Cmovne = "cmovne", Ornot = "ornot", Xor = "xor", Cmovlt = "cmovlt",
    Cmovge = "cmovge", Eqv = "eqv", Amask = "amask", Cmovle = "cmovle", Cmovgt = "cmovgt",
    Implver = "implver",
    // INTS
    Mskbl = "mskbl", Extbl = "extbl", Insbl = "insbl", Mskwl = "mskwl", Extwl = "extwl",
    Inswl = "inswl", Mskll = "mskll", Extll = "extll", Insll = "insll", Zap = "zap",
    Zapnot = "zapnot", Mskql = "mskql", Srl = "srl", Extql = "extql", Sll = "sll",
    Insql = "insql", Sra = "sra", Mskwh = "mskwh", Inswh = "inswh", Extwh = "extwh",
    Msklh = "msklh", Inslh = "inslh", Extlh = "extlh", Mskqh = "mskqh", Insqh = "insqh",
    Extqh = "extqh",
    // INTM
    Mull = "mull", Mulq = "mulq", Umulh = "umulh", MullV = "mull/v", MulqV = "mulq/v",
    // FPTI (opcode 0x1c)
    Sextb = "sextb", Sextw = "sextw", Ctpop = "ctpop", Perr = "perr", Ctlz = "ctlz",
    Cttz = "cttz", Unpkbw = "unpkbw", Unpkbl = "unpkbl", Pkwb = "pkwb", Pklb = "pklb",
    Minsb8 = "minsb8", Minsw4 = "minsw4", Minub8 = "minub8", Minuw4 = "minuw4",
    Maxub8 = "maxub8", Maxuw4 = "maxuw4", Maxsb8 = "maxsb8", Maxsw4 = "maxsw4",
    Ftoit = "ftoit", Ftois = "ftois",
    // FP operate: `imm` holds (opcode << 16) | func
    /// `itofs`/`itoff`/`itoft` (opcode 0x14, Fa is an integer register).
    Itof = "(itof)",
    /// Any other FP-operate instruction, executed by the `fp` module.
    FpOp = "(fpop)",
    // misc (opcode 0x18)
    Trapb = "trapb", Excb = "excb", Mb = "mb", Wmb = "wmb", Fetch = "fetch",
    FetchM = "fetch_m", Rpcc = "rpcc", Rc = "rc", Ecb = "ecb", Rs = "rs", Wh64 = "wh64",
    Wh64en = "wh64en",
    // PAL
    /// `call_pal` (`imm` = the function code).
    CallPal = "call_pal",
}

/// One predecoded instruction (8 bytes).
///
/// Operand conventions: `a` = Ra as a source, `b` = Rb as a source (31 when the
/// operate literal form is used; slot 31 reads as zero), `c` = the destination
/// register ([`SINK`] when the architectural destination is r31/f31), `imm` =
/// literal / sign-extended displacement (branches: byte offset from the
/// updated PC) / PAL code / FP function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    /// What to do.
    pub kind: Kind,
    /// Ra (source).
    pub a: u8,
    /// Rb (source).
    pub b: u8,
    /// Destination register.
    pub c: u8,
    /// Immediate (see the type's docs).
    pub imm: u32,
}

impl Op {
    /// The not-yet-decoded slot.
    pub const DECODE: Op = Op {
        kind: Kind::Decode,
        a: 31,
        b: 31,
        c: SINK,
        imm: 0,
    };

    /// The immediate as a sign-extended 64-bit value.
    #[inline(always)]
    pub fn simm(self) -> u64 {
        self.imm as i32 as i64 as u64
    }
}

/// Destination index for architectural register `r` (r31 → [`SINK`]).
const fn dest(r: u32) -> u8 {
    if r == 31 {
        SINK
    } else {
        r as u8
    }
}

/// Raw fields of an instruction word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    /// Primary opcode (bits 31:26).
    pub opcode: u32,
    /// Ra (bits 25:21).
    pub ra: u32,
    /// Rb (bits 20:16).
    pub rb: u32,
    /// Rc (bits 4:0).
    pub rc: u32,
    /// Operate literal flag (bit 12).
    pub is_lit: bool,
    /// Operate literal (bits 20:13).
    pub lit: u32,
    /// 7-bit integer operate function (bits 11:5).
    pub func7: u32,
    /// 11-bit FP operate function (bits 15:5).
    pub func11: u32,
    /// 16-bit displacement / memory function (bits 15:0).
    pub disp16: u32,
    /// 21-bit branch displacement (bits 20:0), in instructions.
    pub disp21: u32,
}

impl Fields {
    /// Splits `w` into its fields.
    pub const fn of(w: u32) -> Fields {
        Fields {
            opcode: w >> 26,
            ra: (w >> 21) & 31,
            rb: (w >> 16) & 31,
            rc: w & 31,
            is_lit: (w >> 12) & 1 == 1,
            lit: (w >> 13) & 0xff,
            func7: (w >> 5) & 0x7f,
            func11: (w >> 5) & 0x7ff,
            disp16: w & 0xffff,
            disp21: w & 0x1f_ffff,
        }
    }

    /// Sign-extended 16-bit displacement.
    pub const fn sdisp16(&self) -> i32 {
        self.disp16 as u16 as i16 as i32
    }

    /// Sign-extended branch displacement in bytes.
    pub const fn sdisp21_bytes(&self) -> i32 {
        ((self.disp21 << 11) as i32 >> 11) * 4
    }
}

/// Kind of an integer-operate instruction (opcodes 0x10–0x13, 0x1c).
fn operate_kind(opcode: u32, func: u32) -> Option<Kind> {
    use Kind::*;
    Some(match (opcode, func) {
        (0x10, 0x00) => Addl,
        (0x10, 0x02) => S4addl,
        (0x10, 0x09) => Subl,
        (0x10, 0x0b) => S4subl,
        (0x10, 0x0f) => Cmpbge,
        (0x10, 0x12) => S8addl,
        (0x10, 0x1b) => S8subl,
        (0x10, 0x1d) => Cmpult,
        (0x10, 0x20) => Addq,
        (0x10, 0x22) => S4addq,
        (0x10, 0x29) => Subq,
        (0x10, 0x2b) => S4subq,
        (0x10, 0x2d) => Cmpeq,
        (0x10, 0x32) => S8addq,
        (0x10, 0x3b) => S8subq,
        (0x10, 0x3d) => Cmpule,
        (0x10, 0x40) => AddlV,
        (0x10, 0x49) => SublV,
        (0x10, 0x4d) => Cmplt,
        (0x10, 0x60) => AddqV,
        (0x10, 0x69) => SubqV,
        (0x10, 0x6d) => Cmple,
        (0x11, 0x00) => And,
        (0x11, 0x08) => Bic,
        (0x11, 0x14) => Cmovlbs,
        (0x11, 0x16) => Cmovlbc,
        (0x11, 0x20) => Bis,
        (0x11, 0x24) => Cmoveq,
        (0x11, 0x26) => Cmovne,
        (0x11, 0x28) => Ornot,
        (0x11, 0x40) => Xor,
        (0x11, 0x44) => Cmovlt,
        (0x11, 0x46) => Cmovge,
        (0x11, 0x48) => Eqv,
        (0x11, 0x61) => Amask,
        (0x11, 0x64) => Cmovle,
        (0x11, 0x66) => Cmovgt,
        (0x11, 0x6c) => Implver,
        (0x12, 0x02) => Mskbl,
        (0x12, 0x06) => Extbl,
        (0x12, 0x0b) => Insbl,
        (0x12, 0x12) => Mskwl,
        (0x12, 0x16) => Extwl,
        (0x12, 0x1b) => Inswl,
        (0x12, 0x22) => Mskll,
        (0x12, 0x26) => Extll,
        (0x12, 0x2b) => Insll,
        (0x12, 0x30) => Zap,
        (0x12, 0x31) => Zapnot,
        (0x12, 0x32) => Mskql,
        (0x12, 0x34) => Srl,
        (0x12, 0x36) => Extql,
        (0x12, 0x39) => Sll,
        (0x12, 0x3b) => Insql,
        (0x12, 0x3c) => Sra,
        (0x12, 0x52) => Mskwh,
        (0x12, 0x57) => Inswh,
        (0x12, 0x5a) => Extwh,
        (0x12, 0x62) => Msklh,
        (0x12, 0x67) => Inslh,
        (0x12, 0x6a) => Extlh,
        (0x12, 0x72) => Mskqh,
        (0x12, 0x77) => Insqh,
        (0x12, 0x7a) => Extqh,
        (0x13, 0x00) => Mull,
        (0x13, 0x20) => Mulq,
        (0x13, 0x30) => Umulh,
        (0x13, 0x40) => MullV,
        (0x13, 0x60) => MulqV,
        (0x1c, 0x00) => Sextb,
        (0x1c, 0x01) => Sextw,
        (0x1c, 0x30) => Ctpop,
        (0x1c, 0x31) => Perr,
        (0x1c, 0x32) => Ctlz,
        (0x1c, 0x33) => Cttz,
        (0x1c, 0x34) => Unpkbw,
        (0x1c, 0x35) => Unpkbl,
        (0x1c, 0x36) => Pkwb,
        (0x1c, 0x37) => Pklb,
        (0x1c, 0x38) => Minsb8,
        (0x1c, 0x39) => Minsw4,
        (0x1c, 0x3a) => Minub8,
        (0x1c, 0x3b) => Minuw4,
        (0x1c, 0x3c) => Maxub8,
        (0x1c, 0x3d) => Maxuw4,
        (0x1c, 0x3e) => Maxsb8,
        (0x1c, 0x3f) => Maxsw4,
        (0x1c, 0x70) => Ftoit,
        (0x1c, 0x78) => Ftois,
        _ => return None,
    })
}

/// Kind of a memory-format instruction (by opcode), if it is one.
fn memory_kind(opcode: u32) -> Option<Kind> {
    use Kind::*;
    Some(match opcode {
        0x08 => Lda,
        0x09 => Ldah,
        0x0a => Ldbu,
        0x0b => LdqU,
        0x0c => Ldwu,
        0x0d => Stw,
        0x0e => Stb,
        0x0f => StqU,
        0x20 => Ldf,
        0x21 => Ldg,
        0x22 => Lds,
        0x23 => Ldt,
        0x24 => Stf,
        0x25 => Stg,
        0x26 => Sts,
        0x27 => Stt,
        0x28 => Ldl,
        0x29 => Ldq,
        0x2a => LdlL,
        0x2b => LdqL,
        0x2c => Stl,
        0x2d => Stq,
        0x2e => StlC,
        0x2f => StqC,
        _ => return None,
    })
}

/// Kind of a branch-format instruction (by opcode), if it is one.
fn branch_kind(opcode: u32) -> Option<Kind> {
    use Kind::*;
    Some(match opcode {
        0x30 => Br,
        0x31 => Fbeq,
        0x32 => Fblt,
        0x33 => Fble,
        0x34 => Bsr,
        0x35 => Fbne,
        0x36 => Fbge,
        0x37 => Fbgt,
        0x38 => Blbc,
        0x39 => Beq,
        0x3a => Blt,
        0x3b => Ble,
        0x3c => Blbs,
        0x3d => Bne,
        0x3e => Bge,
        0x3f => Bgt,
        _ => return None,
    })
}

/// Kind of a misc (opcode 0x18) instruction by its 16-bit function.
fn misc_kind(func: u32) -> Option<Kind> {
    use Kind::*;
    Some(match func {
        0x0000 => Trapb,
        0x0400 => Excb,
        0x4000 => Mb,
        0x4400 => Wmb,
        0x8000 => Fetch,
        0xa000 => FetchM,
        0xc000 => Rpcc,
        0xe000 => Rc,
        0xe800 => Ecb,
        0xf000 => Rs,
        0xf800 => Wh64,
        0xfc00 => Wh64en,
        _ => return None,
    })
}

/// The kind of `w`, with no operand processing (used by the disassembler).
pub fn kind_of(w: u32) -> Kind {
    let f = Fields::of(w);
    let k = match f.opcode {
        0x00 => Some(Kind::CallPal),
        0x10..=0x13 | 0x1c => operate_kind(f.opcode, f.func7),
        0x14 if matches!(f.func11, 0x004 | 0x014 | 0x024) => Some(Kind::Itof),
        0x14..=0x17 => Some(Kind::FpOp),
        0x18 => misc_kind(f.disp16),
        0x1a => {
            Some([Kind::Jmp, Kind::Jsr, Kind::Ret, Kind::JsrCoroutine][(f.disp16 >> 14) as usize])
        }
        0x30..=0x3f => branch_kind(f.opcode),
        op => memory_kind(op),
    };
    k.unwrap_or(Kind::Illegal)
}

/// Decodes `w` into the interpreter's predecoded form. Never fails: reserved
/// encodings become [`Kind::Illegal`] (which traps when executed).
pub fn decode(w: u32) -> Op {
    use Kind::*;
    let f = Fields::of(w);
    let kind = kind_of(w);
    let illegal = Op {
        kind: Illegal,
        a: 31,
        b: 31,
        c: SINK,
        imm: w,
    };
    let op = |kind, a: u32, b: u32, c: u8, imm: u32| Op {
        kind,
        a: a as u8,
        b: b as u8,
        c,
        imm,
    };
    match kind {
        Illegal | Decode | Nop | PageEnd => illegal,
        CallPal => op(CallPal, 31, 31, SINK, w & 0x03ff_ffff),
        Lda | Ldah => {
            let imm = if kind == Ldah {
                (f.disp16 << 16) as i32
            } else {
                f.sdisp16()
            };
            op(Lda, 31, f.rb, dest(f.ra), imm as u32)
        }
        // Loads to r31/f31 are prefetch hints (ldq_u r31 is `unop`): no effect, no fault.
        Ldbu | LdqU | Ldwu | Ldl | Ldq | LdlL | LdqL | Lds | Ldt | Ldf | Ldg if f.ra == 31 => {
            op(Nop, 31, 31, SINK, 0)
        }
        Ldbu | LdqU | Ldwu | Ldl | Ldq | LdlL | LdqL | Lds | Ldt | Ldf | Ldg => {
            op(kind, 31, f.rb, f.ra as u8, f.sdisp16() as u32)
        }
        Stw | Stb | StqU | Stl | Stq | StlC | StqC | Sts | Stt | Stf | Stg => {
            op(kind, f.ra, f.rb, dest(f.ra), f.sdisp16() as u32)
        }
        Br | Bsr => op(kind, 31, 31, dest(f.ra), f.sdisp21_bytes() as u32),
        Fbeq | Fblt | Fble | Fbne | Fbge | Fbgt | Blbc | Beq | Blt | Ble | Blbs | Bne | Bge
        | Bgt => op(kind, f.ra, 31, SINK, f.sdisp21_bytes() as u32),
        Jmp | Jsr | Ret | JsrCoroutine => op(kind, 31, f.rb, dest(f.ra), 0),
        Itof | FpOp => op(kind, f.ra, f.rb, dest(f.rc), (f.opcode << 16) | f.func11),
        Trapb | Excb | Fetch | FetchM | Ecb | Wh64 | Wh64en => op(Nop, 31, 31, SINK, 0),
        Mb | Wmb => op(Mb, 31, 31, SINK, 0),
        Rpcc | Rc | Rs => op(kind, 31, 31, dest(f.ra), 0),
        _ => {
            // Integer operate. Encodings qemu rejects (a must-be-zero register
            // that is not r31) are illegal here too.
            let ra31 = matches!(
                kind,
                Amask
                    | Implver
                    | Sextb
                    | Sextw
                    | Ctpop
                    | Ctlz
                    | Cttz
                    | Unpkbw
                    | Unpkbl
                    | Pkwb
                    | Pklb
            );
            if ra31 && f.ra != 31 {
                return illegal;
            }
            if matches!(kind, Ftoit | Ftois) {
                if f.rb != 31 || f.is_lit {
                    return illegal;
                }
                return op(kind, f.ra, 31, dest(f.rc), 0);
            }
            if f.is_lit {
                op(kind, f.ra, 31, dest(f.rc), f.lit)
            } else {
                op(kind, f.ra, f.rb, dest(f.rc), 0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_kinds() {
        // addq t0,t1,t2 = 0x40220403
        assert_eq!(kind_of(0x4022_0403), Kind::Addq);
        let op = decode(0x4022_0403);
        assert_eq!((op.a, op.b, op.c, op.imm), (1, 2, 3, 0));
        // lda sp,-16(sp) = 0x23defff0
        let op = decode(0x23de_fff0);
        assert_eq!(op.kind, Kind::Lda);
        assert_eq!(op.simm(), (-16i64) as u64);
        // ldah gp,2(t12) = 0x27bb0002
        let op = decode(0x27bb_0002);
        assert_eq!((op.kind, op.simm()), (Kind::Lda, 0x20000));
        // ret zero,(ra),1 = 0x6bfa8001
        assert_eq!(kind_of(0x6bfa_8001), Kind::Ret);
        // call_pal callsys
        let op = decode(0x0000_0083);
        assert_eq!((op.kind, op.imm), (Kind::CallPal, 0x83));
        // unop = ldq_u zero,0(sp)
        assert_eq!(decode(0x2ffe_0000).kind, Kind::Nop);
        assert_eq!(decode(0x0400_0000).kind, Kind::Illegal);
    }

    #[test]
    fn branch_displacement_is_signed() {
        // br zero, .-4 : disp = -2 instructions relative to the updated PC
        let w = (0x30 << 26) | (31 << 21) | (0x1f_fffe);
        assert_eq!(decode(w).imm as i32, -8);
    }
}
