//! Disassembler printing what `alpha-linux-gnu-objdump -d` prints for the
//! instruction (mnemonic, a tab, operands; branch targets as bare hex
//! addresses without objdump's `<symbol>` annotation).

use crate::decode::{kind_of, Fields, Kind};
use crate::regs::INT_NAMES;

fn r(n: u32) -> &'static str {
    INT_NAMES[n as usize & 31]
}

fn f(n: u32) -> String {
    format!("$f{}", n & 31)
}

/// `%#x` as C prints it (`0` for zero).
fn hexlit(v: u64) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// The IEEE/VAX FP-operate mnemonic (with qualifiers) for opcode 0x14–0x17.
pub fn fp_mnemonic(opcode: u32, func: u32) -> Option<String> {
    let name = |s: &str| Some(s.to_string());
    match opcode {
        0x14 => match func {
            0x004 => name("itofs"),
            0x014 => name("itoff"),
            0x024 => name("itoft"),
            _ => {
                let base = match func & 0x3f {
                    0x0a => "sqrtf",
                    0x0b => "sqrts",
                    0x2a => "sqrtg",
                    0x2b => "sqrtt",
                    _ => return None,
                };
                let ieee = func & 1 == 1;
                ieee_or_vax_qual(base, func, ieee)
            }
        },
        0x15 => {
            let base = match func & 0x3f {
                0x00 => "addf",
                0x01 => "subf",
                0x02 => "mulf",
                0x03 => "divf",
                0x1e => "cvtdg",
                0x20 => "addg",
                0x21 => "subg",
                0x22 => "mulg",
                0x23 => "divg",
                0x25 => "cmpgeq",
                0x26 => "cmpglt",
                0x27 => "cmpgle",
                0x2c => "cvtgf",
                0x2d => "cvtgd",
                0x2f => "cvtgq",
                0x3c => "cvtqf",
                0x3e => "cvtqg",
                _ => return None,
            };
            ieee_or_vax_qual(base, func, false)
        }
        0x16 => {
            if func == 0x2ac {
                return name("cvtst");
            }
            if func == 0x6ac {
                return name("cvtst/s");
            }
            let base = match func & 0x3f {
                0x00 => "adds",
                0x01 => "subs",
                0x02 => "muls",
                0x03 => "divs",
                0x20 => "addt",
                0x21 => "subt",
                0x22 => "mult",
                0x23 => "divt",
                0x24 => "cmptun",
                0x25 => "cmpteq",
                0x26 => "cmptlt",
                0x27 => "cmptle",
                0x2c => "cvtts",
                0x2f => "cvttq",
                0x3c => "cvtqs",
                0x3e => "cvtqt",
                _ => return None,
            };
            ieee_or_vax_qual(base, func, true)
        }
        0x17 => Some(
            match func {
                0x010 => "cvtlq",
                0x020 => "cpys",
                0x021 => "cpysn",
                0x022 => "cpyse",
                0x024 => "mt_fpcr",
                0x025 => "mf_fpcr",
                0x02a => "fcmoveq",
                0x02b => "fcmovne",
                0x02c => "fcmovlt",
                0x02d => "fcmovge",
                0x02e => "fcmovle",
                0x02f => "fcmovgt",
                0x030 => "cvtql",
                0x130 => "cvtql/v",
                0x530 => "cvtql/sv",
                _ => return None,
            }
            .to_string(),
        ),
        _ => None,
    }
}

/// Appends the rounding/trap qualifiers encoded in `func<10:6>`.
fn ieee_or_vax_qual(base: &str, func: u32, ieee: bool) -> Option<String> {
    let rnd = (func >> 6) & 3;
    let trp = (func >> 8) & 7;
    let is_cmp = base.starts_with("cmp");
    let to_int = base.ends_with('q') && base.starts_with("cvt") && !base.starts_with("cvtq");
    // Compares only take /su (IEEE) or /s (VAX), with the normal rounding field.
    if is_cmp {
        if rnd != 2 {
            return None;
        }
        return match trp {
            0 => Some(base.to_string()),
            4 if !ieee => Some(format!("{base}/s")),
            5 if ieee => Some(format!("{base}/su")),
            _ => None,
        };
    }
    let r = if ieee {
        ["c", "m", "", "d"][rnd as usize]
    } else {
        match rnd {
            0 => "c",
            2 => "",
            _ => return None,
        }
    };
    let t = match (trp, ieee, to_int) {
        (0, _, _) => "",
        (1, _, true) => "v",
        (1, _, false) => "u",
        (4, false, _) => "s",
        (5, _, true) => "sv",
        (5, _, false) => "su",
        (7, true, true) => "svi",
        (7, true, false) => "sui",
        _ => return None,
    };
    // cvtqs/cvtqt only have /c /m /d and /sui variants.
    if ieee && base.starts_with("cvtq") && !matches!(trp, 0 | 7) {
        return None;
    }
    if !ieee && base.starts_with("cvtq") && trp != 0 {
        return None;
    }
    let q = format!("{t}{r}");
    Some(if q.is_empty() {
        base.to_string()
    } else {
        format!("{base}/{q}")
    })
}

fn pal_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0x00 => "halt",
        0x80 => "bpt",
        0x81 => "bugchk",
        0x83 => "callsys",
        0x86 => "imb",
        0x9e => "rduniq",
        0x9f => "wruniq",
        0xaa => "gentrap",
        _ => return None,
    })
}

/// Disassembles `w` located at `pc` into objdump's `mnemonic\toperands` text.
pub fn disasm(w: u32, pc: u64) -> String {
    let x = Fields::of(w);
    let k = kind_of(w);
    let (ra, rb, rc) = (x.ra, x.rb, x.rc);
    let out = |m: &str, ops: String| format!("{m}\t{ops}");
    let target = |d: i32| format!("{:x}", pc.wrapping_add(4).wrapping_add(d as i64 as u64));
    use Kind::*;
    match k {
        CallPal => match pal_name(w & 0x03ff_ffff) {
            Some(n) => out(n, String::new()),
            None => out("call_pal", format!("{:#x}", w & 0x03ff_ffff)),
        },
        Lda | Ldah if rb == 31 => out(k.mnemonic(), format!("{},{}", r(ra), x.sdisp16())),
        Lda | Ldah | Ldbu | Ldwu | Stw | Stb | StqU | Ldl | Ldq | LdlL | LdqL | Stl | Stq
        | StlC | StqC => out(
            k.mnemonic(),
            format!("{},{}({})", r(ra), x.sdisp16(), r(rb)),
        ),
        LdqU if ra == 31 => out("unop", String::new()),
        LdqU => out("ldq_u", format!("{},{}({})", r(ra), x.sdisp16(), r(rb))),
        Ldf | Ldg | Lds | Ldt | Stf | Stg | Sts | Stt => out(
            k.mnemonic(),
            format!("{},{}({})", f(ra), x.sdisp16(), r(rb)),
        ),
        Br if ra == 31 => out("br", target(x.sdisp21_bytes())),
        Br | Bsr | Blbc | Beq | Blt | Ble | Blbs | Bne | Bge | Bgt => out(
            k.mnemonic(),
            format!("{},{}", r(ra), target(x.sdisp21_bytes())),
        ),
        Fbeq | Fblt | Fble | Fbne | Fbge | Fbgt => out(
            k.mnemonic(),
            format!("{},{}", f(ra), target(x.sdisp21_bytes())),
        ),
        Jmp | Jsr | Ret | JsrCoroutine => {
            let hint = x.disp16 & 0x3fff;
            if k == Ret && ra == 31 && rb == 26 && hint == 1 {
                return out("ret", String::new());
            }
            if k == Jmp && ra == 31 && hint == 0 {
                return out("jmp", format!("({})", r(rb)));
            }
            let h = if matches!(k, Ret | JsrCoroutine) {
                hexlit(hint as u64)
            } else {
                let d = (((hint ^ 0x2000) as i32) - 0x2000) * 4;
                target(d)
            };
            let m = if k == JsrCoroutine {
                "jcr"
            } else {
                k.mnemonic()
            };
            out(m, format!("{},({}),{}", r(ra), r(rb), h))
        }
        Trapb | Excb | Mb | Wmb | Ecb | Wh64 | Wh64en => match k {
            Ecb | Wh64 | Wh64en => out(k.mnemonic(), format!("({})", r(rb))),
            _ => out(k.mnemonic(), String::new()),
        },
        Fetch | FetchM => out(k.mnemonic(), format!("({})", r(rb))),
        Rpcc | Rc | Rs => out(k.mnemonic(), r(ra).to_string()),
        Itof | FpOp => fp_disasm(w, &x),
        Ftoit | Ftois => out(k.mnemonic(), format!("{},{}", f(ra), r(rc))),
        Illegal | Decode | Nop | PageEnd => match x.opcode {
            0x19 | 0x1b | 0x1d | 0x1e | 0x1f => out(
                &format!("pal{:x}", x.opcode),
                hexlit((w & 0x03ff_ffff) as u64),
            ),
            _ => format!(".long {w:#x}"),
        },
        _ => operate_disasm(k, &x),
    }
}

fn fp_disasm(w: u32, x: &Fields) -> String {
    let (fa, fb, fc) = (x.ra, x.rb, x.rc);
    let Some(m) = fp_mnemonic(x.opcode, x.func11) else {
        return format!(".long {w:#x}");
    };
    let out = |m: &str, ops: String| format!("{m}\t{ops}");
    match m.as_str() {
        "itofs" | "itoff" | "itoft" => out(&m, format!("{},{}", r(fa), f(fc))),
        "cpys" if fa == 31 && fb == 31 && fc == 31 => out("fnop", String::new()),
        "cpys" if fa == 31 && fb == 31 => out("fclr", f(fc)),
        "cpys" if fa == fb => out("fmov", format!("{},{}", f(fa), f(fc))),
        "cpys" if fa == 31 => out("fabs", format!("{},{}", f(fb), f(fc))),
        "cpysn" if fa == fb => out("fneg", format!("{},{}", f(fa), f(fc))),
        "mt_fpcr" | "mf_fpcr" => out(&m, f(fa)),
        "subs" | "subt" | "subf" | "subg" if fa == 31 => {
            out(&format!("neg{}", &m[3..]), format!("{},{}", f(fb), f(fc)))
        }
        _ if fa == 31
            && (m.starts_with("cvt") || m.starts_with("sqrt"))
            && !m.starts_with("cvtql") =>
        {
            out(&m, format!("{},{}", f(fb), f(fc)))
        }
        _ if m.starts_with("cvtql") || m == "cvtlq" => {
            if fa == 31 {
                out(&m, format!("{},{}", f(fb), f(fc)))
            } else {
                out(&m, format!("{},{},{}", f(fa), f(fb), f(fc)))
            }
        }
        _ => out(&m, format!("{},{},{}", f(fa), f(fb), f(fc))),
    }
}

fn operate_disasm(k: Kind, x: &Fields) -> String {
    use Kind::*;
    let (ra, rb, rc) = (x.ra, x.rb, x.rc);
    let b = if x.is_lit {
        hexlit(x.lit as u64)
    } else {
        r(rb).to_string()
    };
    let out = |m: &str, ops: String| format!("{m}\t{ops}");
    let za = ra == 31;
    match k {
        Bis if za && !x.is_lit && rb == 31 && rc == 31 => out("nop", String::new()),
        Bis if za && !x.is_lit && rb == 31 => out("clr", r(rc).to_string()),
        Bis if za => out("mov", format!("{b},{}", r(rc))),
        Bis if !x.is_lit && ra == rb => out("mov", format!("{},{}", r(ra), r(rc))),
        Bis => out("or", format!("{},{b},{}", r(ra), r(rc))),
        Bic => out("andnot", format!("{},{b},{}", r(ra), r(rc))),
        Addl if za => out("sextl", format!("{b},{}", r(rc))),
        Subl if za => out("negl", format!("{b},{}", r(rc))),
        Subq if za => out("negq", format!("{b},{}", r(rc))),
        SublV if za => out("negl/v", format!("{b},{}", r(rc))),
        SubqV if za => out("negq/v", format!("{b},{}", r(rc))),
        Ornot if za => out("not", format!("{b},{}", r(rc))),
        Amask | Sextb | Sextw | Ctpop | Ctlz | Cttz | Pklb | Pkwb | Unpkbl | Unpkbw => {
            out(k.mnemonic(), format!("{b},{}", r(rc)))
        }
        Implver => out("implver", r(rc).to_string()),
        _ => out(k.mnemonic(), format!("{},{b},{}", r(ra), r(rc))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objdump_samples() {
        let pc = 0x1_2000_01d8;
        assert_eq!(disasm(0x27bb_000c, pc), "ldah\tgp,12(t12)");
        assert_eq!(disasm(0x43c2_153e, pc), "subq\tsp,0x10,sp");
        assert_eq!(disasm(0x6bfa_8001, pc), "ret\t");
        assert_eq!(disasm(0x2ffe_0000, pc), "unop\t");
        assert_eq!(disasm(0x0000_009e, pc), "rduniq\t");
        assert_eq!(disasm(0x47e0_3401, pc), "mov\t0x1,t0");
        assert_eq!(disasm(0x47e0_1402, pc), "mov\t0,t1");
        assert_eq!(disasm(0x4040_15a1, pc), "cmpeq\tt1,0,t0");
        assert_eq!(disasm(0xe760_0002, 0x1_2000_01f0), "beq\tt12,1200001fc");
    }
}
