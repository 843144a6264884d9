//! Python `str` semantics that the official checks rely on, for exact
//! re-implementation: `str.isspace` (also what `re`'s `\s`, `str.strip()` and
//! `str.rstrip()` use), `str.isdecimal` (also what `re`'s `\d` matches, and
//! what `int()` accepts as digits), `strip`, `rstrip`, `rsplit(sep, 1)` and
//! `splitlines()`.
//!
//! Owns: the character tables, taken from CPython 3.11 (Unicode 14.0.0):
//! 29 whitespace code points and the 66 runs of ten decimal digits (general
//! category Nd). Rust's `char::is_whitespace` differs (it excludes
//! U+001C..U+001F), and `char::to_digit` knows ASCII only.
//!
//! Must never: allocate tables at run time, or depend on the platform's
//! locale.

/// Code points for which CPython's `str.isspace()` is true.
const PY_SPACE: [u32; 29] = [
    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001,
    0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f,
    0x205f, 0x3000,
];

/// The digit zero of every run of ten Unicode decimal digits (Nd); each run
/// is `zero..=zero+9` with values 0..=9.
const DIGIT_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66,
    0xde6, 0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90,
    0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10,
    0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650,
    0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50,
    0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

/// Python `c.isspace()`.
pub fn is_space(c: char) -> bool {
    PY_SPACE.contains(&(c as u32))
}

/// The value of a Unicode decimal digit (Python `unicodedata.decimal`), as
/// `re`'s `\d` and `int()` see it.
pub fn decimal_value(c: char) -> Option<u32> {
    let cp = c as u32;
    if c.is_ascii_digit() {
        return Some(cp - 0x30);
    }
    DIGIT_ZEROS
        .iter()
        .find(|&&z| (z..z + 10).contains(&cp))
        .map(|z| cp - z)
}

/// Python `s.isdecimal()`: non-empty and every character a decimal digit.
pub fn is_decimal(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| decimal_value(c).is_some())
}

/// Python `s.strip()` (no argument).
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// Python `s.rstrip()` (no argument).
pub fn rstrip(s: &str) -> &str {
    s.trim_end_matches(is_space)
}

/// Python `s.rsplit(sep, 1)`: `(head, Some(tail))` if `sep` occurs, else
/// `(s, None)` (a one-element list in Python).
pub fn rsplit_once<'a>(s: &'a str, sep: &str) -> (&'a str, Option<&'a str>) {
    match s.rsplit_once(sep) {
        Some((head, tail)) => (head, Some(tail)),
        None => (s, None),
    }
}

/// Python `str.splitlines()`: splits on `\n`, `\r\n`, `\r`, `\v`, `\f`,
/// `\x1c`–`\x1e`, `\x85`, U+2028 and U+2029; no empty last line.
pub fn splitlines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !is_break {
            continue;
        }
        out.push(&text[start..i]);
        let mut next = i + c.len_utf8();
        if c == '\r'
            && let Some(&(j, '\n')) = chars.peek()
        {
            chars.next();
            next = j + 1;
        }
        start = next;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Python `repr()` of a string, close enough for log lines: single quotes
/// unless the text contains a single quote and no double quote.
pub fn repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !is_printable(c) => {
                let n = u32::from(c);
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable` for one character, for the characters a cloud's text can
/// carry: controls (C0, DEL, C1), format characters (soft hyphen, zero-width and directional
/// marks, BOM, tags, the musical and hieroglyph format controls), private-use characters,
/// line and paragraph separators, spaces other than U+0020 and the noncharacters
/// U+FFFE/U+FFFF are not printable. (Unassigned code points, which Python also
/// escapes, are taken as printable: no table of them is kept here.)
fn is_printable(c: char) -> bool {
    let n = u32::from(c);
    !(c.is_control()
        || matches!(
            n,
            0xa0 | 0xad
                | 0x600..=0x605
                | 0x61c
                | 0x6dd
                | 0x70f
                | 0x1680
                | 0x180e
                | 0x2000..=0x200f
                | 0x2028..=0x202f
                | 0x205f..=0x2064
                | 0x2066..=0x206f
                | 0x3000
                | 0xfeff
                | 0xfff9..=0xfffb
                | 0xfffe
                | 0xffff
                | 0xe000..=0xf8ff
                | 0x110bd
                | 0x13430..=0x1343f
                | 0x1bca0..=0x1bca3
                | 0x1d173..=0x1d17a
                | 0xe0001
                | 0xe0020..=0xe007f
                | 0xf0000..=0x10ffff
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_escapes_what_python_escapes() {
        assert_eq!(repr("b\u{1}c"), "'b\\x01c'");
        assert_eq!(repr("a\u{a0}b\u{2028}c"), "'a\\xa0b\\u2028c'");
        assert_eq!(repr("it's"), "\"it's\"");
        assert_eq!(repr("ünï"), "'ünï'");
        assert_eq!(repr("\u{feff}"), "'\\ufeff'");
        assert_eq!(repr("\u{e000}\u{e0041}"), "'\\ue000\\U000e0041'");
    }

    #[test]
    fn whitespace_is_pythons() {
        assert!(is_space(' ') && is_space('\t') && is_space('\u{1c}') && is_space('\u{3000}'));
        assert!(!is_space('\u{200b}') && !is_space('x'));
        // Rust disagrees on U+001C..U+001F: Python counts them.
        assert!(!'\u{1f}'.is_whitespace() && is_space('\u{1f}'));
        assert_eq!(strip(" \u{1c}x y\u{3000}"), "x y");
        assert_eq!(rstrip("  a  "), "  a");
    }

    #[test]
    fn decimals_are_unicode_nd() {
        assert_eq!(decimal_value('7'), Some(7));
        assert_eq!(decimal_value('\u{665}'), Some(5)); // ARABIC-INDIC DIGIT FIVE
        assert_eq!(decimal_value('\u{ff19}'), Some(9)); // FULLWIDTH DIGIT NINE
        assert_eq!(decimal_value('\u{b2}'), None); // SUPERSCRIPT TWO is not Nd
        assert_eq!(decimal_value('a'), None);
        assert!(is_decimal("0123") && is_decimal("\u{661}\u{662}"));
        assert!(!is_decimal("") && !is_decimal("1.5") && !is_decimal("-1") && !is_decimal(" 1"));
    }

    #[test]
    fn python_splitlines() {
        assert_eq!(
            splitlines("a\nb\r\nc\rd\x0be\x0cf\u{2028}g"),
            vec!["a", "b", "c", "d", "e", "f", "g"]
        );
        assert_eq!(splitlines("a\n"), vec!["a"]);
        assert_eq!(splitlines("a\n\nb"), vec!["a", "", "b"]);
        assert_eq!(splitlines(""), Vec::<&str>::new());
        assert_eq!(splitlines("\r\n"), vec![""]);
        assert_eq!(splitlines("x\r"), vec!["x"]);
    }

    #[test]
    fn rsplit_and_repr() {
        assert_eq!(rsplit_once("a  b", " "), ("a ", Some("b")));
        assert_eq!(rsplit_once("ab", " "), ("ab", None));
        assert_eq!(rsplit_once("a ", " "), ("a", Some("")));
        assert_eq!(repr("x86_64"), "'x86_64'");
        assert_eq!(repr("it's"), "\"it's\"");
    }
}
