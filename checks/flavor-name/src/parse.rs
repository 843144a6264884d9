//! The two syntaxes of the official parser, as one hand-written scanner.
//!
//! The official parser tries each component once, in fixed order, at the
//! current position, with an anchored regular expression; a component that
//! matches is then validated, and a validation failure rejects the whole
//! name (no backtracking into other components). Leftover characters reject
//! the name. The scanner below mirrors each regular expression, including
//! its backtracking where that can change the outcome.

use crate::{CpuBrand, CpuRam, Disk, FlavorName, Gpu, ParseError, Syntax};

/// Python refuses to convert integer strings longer than this (since 3.11).
const PY_INT_MAX_STR_DIGITS: usize = 4300;

/// Delimiters and keywords of one syntax.
struct SyntaxDef {
    /// Between CPU and RAM, before the disk, inside the GPU part: `-` (v2) or `:` (v1).
    main: u8,
    /// Before each extension: `_` (v2) or `-` (v1).
    ext: u8,
    /// Hypervisor keywords the syntax's regular expression knows, in its order.
    hypervisors: &'static [&'static str],
}

const DEF_V2: SyntaxDef = SyntaxDef {
    main: b'-',
    ext: b'_',
    hypervisors: &["kvm", "xen", "vmw", "hyv", "bms", "chy"],
};

// The v1 expression never learned `chy`.
const DEF_V1: SyntaxDef = SyntaxDef {
    main: b':',
    ext: b'-',
    hypervisors: &["kvm", "xen", "vmw", "hyv", "bms"],
};

const PREFIX: &str = "SCS-";

/// Allowed CPU generations per vendor (inclusive upper bound; all start at 0).
fn max_cpu_generation(vendor: char) -> Option<u32> {
    match vendor {
        'i' | 'z' => Some(6),
        'a' => Some(5),
        'r' => Some(0),
        _ => None,
    }
}

/// Allowed GPU generation strings per vendor (the empty string = unspecified).
pub(crate) fn gpu_generations(vendor: char) -> &'static [&'static str] {
    match vendor {
        'N' => &["", "f", "k", "m", "p", "v", "t", "a", "l", "g", "b", "u"],
        'A' => &[
            "", "0.4", "0.5", "1", "1.1", "2", "2.1", "3", "3.1", "3.5", "4", "4.1", "5.1",
        ],
        'I' => &["", "0.9", "0.95", "1", "2", "3", "4"],
        _ => &[],
    }
}

/// Internal failure: reason plus whether Python would crash instead.
struct Fail {
    reason: String,
    official_abort: bool,
}

impl Fail {
    fn new(reason: String) -> Self {
        Fail {
            reason,
            official_abort: false,
        }
    }
}

type Res<T> = Result<T, Fail>;

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_one_of(&mut self, set: &[u8]) -> Option<char> {
        let b = self.peek()?;
        if set.contains(&b) {
            self.pos += 1;
            Some(char::from(b))
        } else {
            None
        }
    }

    fn eat_str(&mut self, word: &str) -> bool {
        if self.rest().starts_with(word) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// Consume bytes while `pred` holds. Callers only stop at ASCII bytes, so
    /// the position stays on a char boundary.
    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        let bytes = self.s.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if !pred(b) {
                break;
            }
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or("")
    }

    fn take_digits(&mut self) -> &'a str {
        self.take_while(|b| b.is_ascii_digit())
    }

    fn take_h(&mut self) -> usize {
        self.take_while(|b| b == b'h').len()
    }

    /// `(?:SEP([0-9]+)|)`: a separator followed by at least one digit.
    fn sep_number(&mut self, sep: u8) -> &'a str {
        let bytes = self.s.as_bytes();
        let digit_follows = bytes.get(self.pos + 1).is_some_and(u8::is_ascii_digit);
        if self.peek() == Some(sep) && digit_follows {
            self.pos += 1;
            self.take_digits()
        } else {
            ""
        }
    }
}

/// Integer conversion as Python's `int()` of an all-ASCII-digit string.
/// `Ok(None)` for the empty string (the caller applies the default).
fn py_int(what: &str, digits: &str) -> Res<Option<u64>> {
    if digits.is_empty() {
        return Ok(None);
    }
    if digits.len() > PY_INT_MAX_STR_DIGITS {
        return Err(Fail::new(format!(
            "{what} has {} digits, more than Python's integer conversion limit of {PY_INT_MAX_STR_DIGITS}",
            digits.len()
        )));
    }
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(Some(0));
    }
    if significant.len() > 19 {
        return Ok(Some(u64::MAX));
    }
    Ok(Some(significant.parse::<u64>().unwrap_or(u64::MAX)))
}

/// `int(group) if group else None`, then "must be a positive integer".
fn positive_int(what: &str, digits: &str) -> Res<Option<u32>> {
    match py_int(what, digits)? {
        None => Ok(None),
        Some(0) => Err(Fail::new(format!(
            "{what} must be a positive integer, got {digits:?}"
        ))),
        Some(v) => u32::try_from(v).map(Some).map_err(|_| {
            Fail::new(format!(
                "{what} {digits} is too large (this implementation stops at {})",
                u32::MAX
            ))
        }),
    }
}

/// `float(group)`, then "must be a positive multiple of 0.5".
fn parse_ram(text: &str) -> Res<f64> {
    let dots = text.bytes().filter(|&b| b == b'.').count();
    let has_digit = text.bytes().any(|b| b.is_ascii_digit());
    if dots > 1 || !has_digit {
        return Err(Fail::new(format!("RAM {text:?} is not a number")));
    }
    let mut normalized = String::with_capacity(text.len() + 2);
    if text.starts_with('.') {
        normalized.push('0');
    }
    normalized.push_str(text);
    if text.ends_with('.') {
        normalized.push('0');
    }
    let value: f64 = normalized
        .parse()
        .map_err(|_| Fail::new(format!("RAM {text:?} is not a number")))?;
    if value <= 0.0 {
        return Err(Fail::new(format!(
            "RAM {text:?} must be a positive multiple of 0.5"
        )));
    }
    if value.is_infinite() {
        return Err(Fail {
            reason: format!(
                "RAM {text:?} overflows a float (the official parser crashes with OverflowError here)"
            ),
            official_abort: true,
        });
    }
    if (2.0 * value).trunc() != 2.0 * value {
        return Err(Fail::new(format!(
            "RAM {text:?} must be a positive multiple of 0.5"
        )));
    }
    Ok(value)
}

fn parse_cpuram(cur: &mut Cursor<'_>, def: &SyntaxDef) -> Res<CpuRam> {
    let main = char::from(def.main);
    let fail = || {
        Fail::new(format!(
            "cannot parse the CPU/RAM part (expected <N><L|V|T|C>[i]{main}<RAM>[u][o])"
        ))
    };
    let cpus_text = cur.take_digits();
    let cpu_type = cur.eat_one_of(b"LVTC").ok_or_else(fail)?;
    let insecure = cur.eat(b'i');
    if !cur.eat(def.main) {
        return Err(fail());
    }
    let ram_text = cur.take_while(|b| b.is_ascii_digit() || b == b'.');
    let ram_no_ecc = cur.eat(b'u');
    let ram_oversub = cur.eat(b'o');
    let cpus = positive_int("number of vCPUs", cpus_text)?
        .ok_or_else(|| Fail::new("number of vCPUs is missing".to_string()))?;
    let ram = parse_ram(ram_text)?;
    Ok(CpuRam {
        cpus,
        cpu_type,
        insecure,
        ram,
        ram_no_ecc,
        ram_oversub,
    })
}

/// `SEP(?:([0-9]*)x|)([0-9]*)([nhsp]|)`
fn parse_disk(cur: &mut Cursor<'_>, def: &SyntaxDef) -> Res<Option<Disk>> {
    if !cur.eat(def.main) {
        return Ok(None);
    }
    let before_count = cur.pos;
    let count_digits = cur.take_digits();
    let (count_text, explicit_count) = if cur.eat(b'x') {
        (count_digits, true)
    } else {
        cur.pos = before_count;
        ("", false)
    };
    let size_text = cur.take_digits();
    let disk_type = cur.eat_one_of(b"nhsp");
    let count = positive_int("disk count", count_text)?.unwrap_or(1);
    let size = positive_int("disk size", size_text)?;
    Ok(Some(Disk {
        count,
        explicit_count,
        size,
        disk_type,
    }))
}

fn parse_hypervisor(cur: &mut Cursor<'_>, def: &SyntaxDef) -> Option<String> {
    let start = cur.pos;
    if cur.eat(def.ext) {
        for hyp in def.hypervisors {
            if cur.eat_str(hyp) {
                return Some((*hyp).to_string());
            }
        }
    }
    cur.pos = start;
    None
}

fn parse_flag(cur: &mut Cursor<'_>, def: &SyntaxDef, word: &str) -> bool {
    let start = cur.pos;
    if cur.eat(def.ext) && cur.eat_str(word) {
        return true;
    }
    cur.pos = start;
    false
}

/// `EXT([izar])([0-9]*)(h*)(?=$|EXT)`
fn parse_cpubrand(cur: &mut Cursor<'_>, def: &SyntaxDef) -> Res<Option<CpuBrand>> {
    let start = cur.pos;
    let matched = (|| {
        if !cur.eat(def.ext) {
            return None;
        }
        let vendor = cur.eat_one_of(b"izar")?;
        let gen_text = cur.take_digits();
        let perf = cur.take_h();
        // Python's `$` also matches before a final newline.
        let rest = cur.rest();
        let lookahead_ok =
            rest.is_empty() || rest == "\n" || rest.as_bytes().first() == Some(&def.ext);
        lookahead_ok.then_some((vendor, gen_text, perf))
    })();
    let Some((vendor, gen_text, perf)) = matched else {
        cur.pos = start;
        return Ok(None);
    };
    let max_gen = max_cpu_generation(vendor).unwrap_or(0);
    let generation = match py_int("CPU generation", gen_text)? {
        None => None,
        Some(g) if g <= u64::from(max_gen) => u32::try_from(g).ok(),
        Some(_) => {
            return Err(Fail::new(format!(
                "CPU generation {gen_text} is not valid for vendor '{vendor}' (allowed: 0 to {max_gen})"
            )));
        }
    };
    if perf > 3 {
        return Err(Fail::new(format!(
            "CPU performance modifier {:?} is not valid (allowed: h, hh, hhh)",
            "h".repeat(perf)
        )));
    }
    Ok(Some(CpuBrand {
        vendor,
        generation,
        perf: u8::try_from(perf).unwrap_or(u8::MAX),
    }))
}

/// `EXT([gG])([NAI])([^MAIN h]*)(?:MAIN([0-9]+)|)(h*)(?:MAIN([0-9]+)|)(h*)`
fn parse_gpu(cur: &mut Cursor<'_>, def: &SyntaxDef) -> Res<Option<Gpu>> {
    let start = cur.pos;
    let head = (|| {
        if !cur.eat(def.ext) {
            return None;
        }
        let kind = cur.eat_one_of(b"gG")?;
        let vendor = cur.eat_one_of(b"NAI")?;
        Some((kind, vendor))
    })();
    let Some((kind, vendor)) = head else {
        cur.pos = start;
        return Ok(None);
    };
    let main = def.main;
    let generation = cur.take_while(|b| b != main && b != b'h');
    let cu_text = cur.sep_number(main);
    let freq = cur.take_h();
    let vram_text = cur.sep_number(main);
    let bw = cur.take_h();

    let allowed = gpu_generations(vendor);
    if !allowed.contains(&generation) {
        return Err(Fail::new(format!(
            "GPU generation {generation:?} is not valid for brand '{vendor}' (allowed: {allowed:?})"
        )));
    }
    let compute_units = positive_int("GPU compute unit count", cu_text)?;
    if freq > 2 {
        return Err(Fail::new(format!(
            "GPU frequency modifier {:?} is not valid (allowed: h, hh)",
            "h".repeat(freq)
        )));
    }
    let vram_gib = positive_int("GPU VRAM size", vram_text)?;
    if bw > 2 {
        return Err(Fail::new(format!(
            "GPU bandwidth modifier {:?} is not valid (allowed: h, hh)",
            "h".repeat(bw)
        )));
    }
    Ok(Some(Gpu {
        passthrough: kind == 'G',
        vendor,
        generation: generation.to_string(),
        compute_units,
        freq_h: u8::try_from(freq).unwrap_or(u8::MAX),
        vram_gib,
        bw_h: u8::try_from(bw).unwrap_or(u8::MAX),
    }))
}

fn parse_body(name: &str, def: &SyntaxDef) -> Res<FlavorName> {
    if !name.starts_with(PREFIX) {
        return Err(Fail::new(format!("does not start with {PREFIX:?}")));
    }
    let mut cur = Cursor {
        s: name,
        pos: PREFIX.len(),
    };
    let cpuram = parse_cpuram(&mut cur, def)?;
    let mut last = "RAM";
    let disk = parse_disk(&mut cur, def)?;
    if disk.is_some() {
        last = "disk";
    }
    let hypervisor = parse_hypervisor(&mut cur, def);
    if hypervisor.is_some() {
        last = "hypervisor";
    }
    let hwvirt = parse_flag(&mut cur, def, "hwv");
    if hwvirt {
        last = "hwv";
    }
    let cpubrand = parse_cpubrand(&mut cur, def)?;
    if cpubrand.is_some() {
        last = "CPU brand";
    }
    let gpu = parse_gpu(&mut cur, def)?;
    if gpu.is_some() {
        last = "GPU";
    }
    let ib = parse_flag(&mut cur, def, "ib");
    if ib {
        last = "ib";
    }
    let rest = cur.rest();
    if !rest.is_empty() {
        return Err(Fail::new(format!("extra characters {rest:?} after {last}")));
    }
    Ok(FlavorName {
        cpuram,
        disk,
        hypervisor,
        hwvirt,
        cpubrand,
        gpu,
        ib,
    })
}

fn parse_with(name: &str, def: &SyntaxDef) -> Result<FlavorName, ParseError> {
    parse_body(name, def).map_err(|fail| ParseError {
        name: name.to_string(),
        reason: fail.reason,
        official_abort: fail.official_abort,
    })
}

/// Parse a name in the current syntax (`SCS-2V-4-20s_kvm`), which the standard
/// uses unchanged from v2 to v3.
pub fn parse_v2(name: &str) -> Result<FlavorName, ParseError> {
    parse_with(name, &DEF_V2)
}

/// Parse a name in the legacy v1 syntax (`SCS-2V:4:20s-kvm`).
pub fn parse_v1(name: &str) -> Result<FlavorName, ParseError> {
    parse_with(name, &DEF_V1)
}

/// What the official syntax check does for one name starting with `SCS-`:
/// try the current syntax; if that fails, try the legacy v1 syntax, which is
/// tolerated (the caller should warn). If both fail, the error of the
/// current syntax is returned.
pub fn parse(name: &str) -> Result<(FlavorName, Syntax), ParseError> {
    match parse_v2(name) {
        Ok(flavor) => Ok((flavor, Syntax::V2)),
        Err(err) => match parse_v1(name) {
            Ok(flavor) => Ok((flavor, Syntax::V1)),
            Err(_) => Err(err),
        },
    }
}
