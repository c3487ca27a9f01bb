//! A small assembler for tests: objdump's syntax (what [`crate::disasm`]
//! prints) plus `$n`/`$fn` register names, labels (`name:`), `#` comments and
//! `.long` words.
//!
//! ```
//! let words = alpha_emu::asm::assemble("top: addq t0,1,t0\n bne t1,top", 0x10000).unwrap();
//! assert_eq!(words.len(), 2);
//! ```

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::decode::{kind_of, Kind};
use crate::disasm::fp_mnemonic;
use crate::regs::INT_NAMES;

/// Why a line did not assemble.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {msg}")]
pub struct AsmError {
    /// 1-based source line.
    pub line: usize,
    /// What was wrong.
    pub msg: String,
}

#[derive(Clone, Copy)]
enum Enc {
    /// Integer operate (opcode, func7).
    Opr(u32, u32),
    /// FP operate (opcode, func11).
    Fp(u32, u32),
    /// Memory format (opcode); `fp` when Ra is an FP register.
    Mem(u32, bool),
    /// Branch (opcode); `fp` when Ra is an FP register.
    Bra(u32, bool),
    /// Jump (hint-type 0..3).
    Jmp(u32),
    /// Misc (opcode 0x18) function.
    Misc(u32),
    /// PAL call with a fixed code.
    Pal(u32),
}

fn table() -> &'static HashMap<String, Enc> {
    static T: OnceLock<HashMap<String, Enc>> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = HashMap::new();
        for opc in [0x10u32, 0x11, 0x12, 0x13, 0x1c] {
            for func in 0..0x80u32 {
                let k = kind_of((opc << 26) | (func << 5));
                if k != Kind::Illegal {
                    t.insert(k.mnemonic().to_string(), Enc::Opr(opc, func));
                }
            }
        }
        for opc in 0x14..=0x17u32 {
            for func in 0..0x800u32 {
                if let Some(m) = fp_mnemonic(opc, func) {
                    t.entry(m).or_insert(Enc::Fp(opc, func));
                }
            }
        }
        for opc in (0x08..=0x0fu32).chain(0x20..=0x2f) {
            let k = kind_of(opc << 26);
            t.insert(
                k.mnemonic().to_string(),
                Enc::Mem(opc, (0x20..=0x27).contains(&opc)),
            );
        }
        for opc in 0x30..=0x3fu32 {
            let k = kind_of(opc << 26);
            let fp = matches!(opc, 0x31..=0x33 | 0x35..=0x37);
            t.insert(k.mnemonic().to_string(), Enc::Bra(opc, fp));
        }
        for (i, m) in ["jmp", "jsr", "ret", "jsr_coroutine"].iter().enumerate() {
            t.insert(m.to_string(), Enc::Jmp(i as u32));
        }
        t.insert("jcr".into(), Enc::Jmp(3));
        for func in [
            0x0000u32, 0x0400, 0x4000, 0x4400, 0x8000, 0xa000, 0xc000, 0xe000, 0xe800, 0xf000,
            0xf800, 0xfc00,
        ] {
            let k = kind_of((0x18 << 26) | func);
            t.insert(k.mnemonic().to_string(), Enc::Misc(func));
        }
        for (m, c) in [
            ("halt", 0x00),
            ("bpt", 0x80),
            ("bugchk", 0x81),
            ("callsys", 0x83),
            ("imb", 0x86),
            ("rduniq", 0x9e),
            ("wruniq", 0x9f),
            ("gentrap", 0xaa),
        ] {
            t.insert(m.to_string(), Enc::Pal(c));
        }
        t.insert("or".into(), Enc::Opr(0x11, 0x20));
        t.insert("andnot".into(), Enc::Opr(0x11, 0x08));
        t.insert("xornot".into(), Enc::Opr(0x11, 0x48));
        t
    })
}

fn int_reg(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Some(n) = s.strip_prefix('$').or_else(|| s.strip_prefix('r')) {
        if let Ok(n) = n.parse::<u32>() {
            return (n < 32).then_some(n);
        }
    }
    INT_NAMES.iter().position(|&n| n == s).map(|i| i as u32)
}

fn fp_reg(s: &str) -> Option<u32> {
    let s = s.trim();
    let n = s.strip_prefix("$f").or_else(|| s.strip_prefix('f'))?;
    n.parse::<u32>().ok().filter(|&n| n < 32)
}

fn number(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else {
        body.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

struct Line<'a> {
    no: usize,
    pc: u64,
    mnem: &'a str,
    ops: Vec<&'a str>,
}

/// Assembles `src` as if loaded at `base`; returns one word per instruction.
pub fn assemble(src: &str, base: u64) -> Result<Vec<u32>, AsmError> {
    let mut labels = HashMap::new();
    let mut lines = Vec::new();
    let mut pc = base;
    for (i, raw) in src.lines().enumerate() {
        let mut text = raw
            .split('#')
            .next()
            .unwrap_or("")
            .split("//")
            .next()
            .unwrap_or("")
            .trim();
        while let Some((label, rest)) = text.split_once(':') {
            let label = label.trim();
            if label.is_empty()
                || !label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            {
                break;
            }
            labels.insert(label.to_string(), pc);
            text = rest.trim();
        }
        if text.is_empty() {
            continue;
        }
        let (mnem, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let ops: Vec<&str> = if rest.trim().is_empty() {
            Vec::new()
        } else {
            rest.split(',').map(str::trim).collect()
        };
        lines.push(Line {
            no: i + 1,
            pc,
            mnem,
            ops,
        });
        pc += 4;
    }
    lines
        .iter()
        .map(|l| encode(l, &labels).map_err(|msg| AsmError { line: l.no, msg }))
        .collect()
}

fn encode(l: &Line<'_>, labels: &HashMap<String, u64>) -> Result<u32, String> {
    let ops = &l.ops;
    let want = |n: usize| -> Result<(), String> {
        if ops.len() == n {
            Ok(())
        } else {
            Err(format!(
                "`{}` takes {n} operands, got {}",
                l.mnem,
                ops.len()
            ))
        }
    };
    let ir = |s: &str| int_reg(s).ok_or_else(|| format!("bad integer register `{s}`"));
    let fr = |s: &str| fp_reg(s).ok_or_else(|| format!("bad FP register `{s}`"));
    let target = |s: &str| -> Result<u64, String> {
        labels
            .get(s.trim())
            .copied()
            .or_else(|| number(s).map(|v| v as u64))
            .ok_or_else(|| format!("unknown label `{s}`"))
    };
    // Operate format with Rb or an 8-bit literal.
    let opr = |opc: u32, func: u32, ra: u32, b: &str, rc: u32| -> Result<u32, String> {
        let head = (opc << 26) | (ra << 21) | (func << 5) | rc;
        if let Some(rb) = int_reg(b) {
            return Ok(head | (rb << 16));
        }
        match number(b) {
            Some(v) if (0..256).contains(&v) => Ok(head | ((v as u32) << 13) | 0x1000),
            _ => Err(format!("bad operand `{b}` (register or literal 0..255)")),
        }
    };
    let fpop = |opc: u32, func: u32, fa: u32, fb: u32, fc: u32| {
        (opc << 26) | (fa << 21) | (fb << 16) | (func << 5) | fc
    };
    let m = l.mnem;
    match m {
        ".long" => {
            want(1)?;
            return number(ops[0])
                .map(|v| v as u32)
                .ok_or_else(|| "bad .long".into());
        }
        "nop" => return Ok(0x47ff_041f),
        "unop" => return Ok(0x2ffe_0000),
        "fnop" => return Ok(0x5fff_041f),
        "clr" => {
            want(1)?;
            return Ok(0x47ff_0400 | ir(ops[0])?);
        }
        "fclr" => {
            want(1)?;
            return Ok(fpop(0x17, 0x20, 31, 31, fr(ops[0])?));
        }
        "mov" => {
            want(2)?;
            return opr(0x11, 0x20, 31, ops[0], ir(ops[1])?);
        }
        "fmov" | "fneg" => {
            want(2)?;
            let a = fr(ops[0])?;
            return Ok(fpop(
                0x17,
                if m == "fmov" { 0x20 } else { 0x21 },
                a,
                a,
                fr(ops[1])?,
            ));
        }
        "fabs" => {
            want(2)?;
            return Ok(fpop(0x17, 0x20, 31, fr(ops[0])?, fr(ops[1])?));
        }
        "sextl" | "negl" | "negq" | "negl/v" | "negq/v" | "not" => {
            want(2)?;
            let (opc, func) = match m {
                "sextl" => (0x10, 0x00),
                "negl" => (0x10, 0x09),
                "negq" => (0x10, 0x29),
                "negl/v" => (0x10, 0x49),
                "negq/v" => (0x10, 0x69),
                _ => (0x11, 0x28),
            };
            return opr(opc, func, 31, ops[0], ir(ops[1])?);
        }
        "call_pal" => {
            want(1)?;
            return number(ops[0])
                .map(|v| v as u32 & 0x03ff_ffff)
                .ok_or_else(|| "bad PAL code".into());
        }
        _ => {}
    }
    if let Some(neg) = m.strip_prefix("neg") {
        // negs/negt/negf/negg with qualifiers: sub with Fa = f31.
        if let Some(&Enc::Fp(opc, func)) = table().get(&format!("sub{neg}")) {
            want(2)?;
            return Ok(fpop(opc, func, 31, fr(ops[0])?, fr(ops[1])?));
        }
    }
    let enc = *table()
        .get(m)
        .ok_or_else(|| format!("unknown mnemonic `{m}`"))?;
    match enc {
        Enc::Pal(c) => Ok(c),
        Enc::Misc(func) => {
            let ra = match (func, ops.first()) {
                (0xc000 | 0xe000 | 0xf000, Some(r)) => ir(r)?,
                _ => 31,
            };
            let rb = match ops.first() {
                Some(s) if s.starts_with('(') => ir(s.trim_matches(|c| c == '(' || c == ')'))?,
                _ => 31,
            };
            Ok((0x18 << 26) | (ra << 21) | (rb << 16) | func)
        }
        Enc::Jmp(ty) => {
            let (ra, rbs, hint) = match ops.len() {
                0 if ty == 2 => (31, "(ra)", None),
                1 => (if ty == 1 { 26 } else { 31 }, ops[0], None),
                2 => (ir(ops[0])?, ops[1], None),
                3 => (ir(ops[0])?, ops[1], Some(ops[2])),
                _ => return Err("bad jump operands".into()),
            };
            let rb = ir(rbs.trim_matches(|c| c == '(' || c == ')'))?;
            let h = match hint {
                None if ty == 2 && ops.is_empty() => 1,
                None => 0,
                Some(h) if ty >= 2 => number(h).ok_or("bad hint")? as u32 & 0x3fff,
                Some(h) => ((target(h)?.wrapping_sub(l.pc + 4) as i64 >> 2) as u32) & 0x3fff,
            };
            Ok((0x1a << 26) | (ra << 21) | (rb << 16) | (ty << 14) | h)
        }
        Enc::Bra(opc, fp) => {
            let (ra, t) = match ops.len() {
                1 => (31, ops[0]),
                2 => (if fp { fr(ops[0])? } else { ir(ops[0])? }, ops[1]),
                _ => return Err("branch takes `ra,target`".into()),
            };
            let d = target(t)?.wrapping_sub(l.pc + 4) as i64;
            if d & 3 != 0 || !(-(1 << 22)..(1 << 22)).contains(&d) {
                return Err(format!("branch target out of range ({d})"));
            }
            Ok((opc << 26) | (ra << 21) | ((d >> 2) as u32 & 0x1f_ffff))
        }
        Enc::Mem(opc, fp) => {
            let ra = match ops.len() {
                0 => 31,
                _ if fp => fr(ops[0])?,
                _ => ir(ops[0])?,
            };
            let mem = ops.get(1).copied().unwrap_or("0(zero)");
            let (disp, rb) = match mem.split_once('(') {
                Some((d, b)) => (
                    if d.trim().is_empty() {
                        0
                    } else {
                        number(d).ok_or("bad displacement")?
                    },
                    ir(b.trim_end_matches(')'))?,
                ),
                None => (number(mem).ok_or("bad displacement")?, 31),
            };
            if !(-32768..=65535).contains(&disp) {
                return Err(format!("displacement {disp} out of range"));
            }
            Ok((opc << 26) | (ra << 21) | (rb << 16) | (disp as u32 & 0xffff))
        }
        Enc::Opr(opc, func) => {
            let k = kind_of((opc << 26) | (func << 5));
            match k {
                Kind::Implver => {
                    want(1)?;
                    opr(opc, func, 31, "1", ir(ops[0])?)
                }
                Kind::Ftoit | Kind::Ftois => {
                    want(2)?;
                    Ok((opc << 26) | (fr(ops[0])? << 21) | (31 << 16) | (func << 5) | ir(ops[1])?)
                }
                _ if ops.len() == 2 => opr(opc, func, 31, ops[0], ir(ops[1])?),
                _ => {
                    want(3)?;
                    opr(opc, func, ir(ops[0])?, ops[1], ir(ops[2])?)
                }
            }
        }
        Enc::Fp(opc, func) => {
            let name = m;
            if name.starts_with("itof") {
                want(2)?;
                return Ok(fpop(opc, func, ir(ops[0])?, 31, fr(ops[1])?));
            }
            match ops.len() {
                1 => {
                    let f = fr(ops[0])?;
                    Ok(fpop(opc, func, f, f, f))
                }
                2 => Ok(fpop(opc, func, 31, fr(ops[0])?, fr(ops[1])?)),
                3 => Ok(fpop(opc, func, fr(ops[0])?, fr(ops[1])?, fr(ops[2])?)),
                _ => Err("bad FP operands".into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disasm::disasm;

    #[test]
    fn labels_and_branches() {
        let w = assemble("start: nop\n br start\n beq t0, end\n end: ret", 0x1000).unwrap();
        assert_eq!(w.len(), 4);
        assert_eq!(disasm(w[1], 0x1004), "br\t1000");
        assert_eq!(disasm(w[2], 0x1008), "beq\tt0,100c");
        assert_eq!(disasm(w[3], 0x100c), "ret\t");
    }

    #[test]
    fn round_trips_disassembly() {
        let src = "ldah gp,12(t12)\nsubq sp,0x10,sp\nmov 0x1,t0\nldq t12,-27744(gp)\nstq_u t0,-26256(s0)\n\
                   cmpeq t1,0,t0\nzapnot t0,0xf,t1\nextbl a0,a1,v0\nsextb t0,t1\nctpop t0,t1\nimplver t3\n\
                   amask t3,t3\nrduniq\ncallsys\nmt_fpcr $f3\naddt/su $f1,$f2,$f3\ncvttq/c $f0,$f0\nfmov $f11,$f20\n\
                   lda t0,1\nldl_l t1,0(s2)\nstq_c t0,8(a0)\nrpcc v0\nftoit $f1,t2\nitoft t2,$f1\nnegq t0,t1\nnot t0,t1\n\
                   sextl t0,t1\nclr t0\nnop\nunop\nfnop\nandnot t0,t1,t2\nor t0,0x5,t2\njmp (t1)\nret zero,(t9),0x1\nmb\nwmb\ntrapb";
        let words = assemble(src, 0x1_2000_0000).unwrap();
        for (line, w) in src.lines().zip(words) {
            let ours = disasm(w, 0);
            let (m, o) = line.split_once(' ').unwrap_or((line, ""));
            assert_eq!(ours, format!("{m}\t{o}"), "word {w:#010x}");
        }
    }
}
