//! `calendar.timegm(time.strptime(s, fmt))` for the five formats the
//! official scs-0102 code uses, reproduced exactly (d.3, h.7).
//!
//! CPython turns a format into a regular expression, matches it at the start
//! of the string with IGNORECASE (no end anchor: the first match in
//! backtracking order is taken, then "unconverted data remains" if it did
//! not consume everything), converts the groups with `int()`, and checks the
//! day against the month. The pieces (CPython 3.11 `_strptime`):
//!
//! | directive | regex |
//! |---|---|
//! | `%Y` | `\d\d\d\d` |
//! | `%m` | `1[0-2]\|0[1-9]\|[1-9]` |
//! | `%d` | `3[0-1]\|[1-2]\d\|0[1-9]\|[1-9]\| [1-9]` |
//! | `%H` | `2[0-3]\|[0-1]\d\|\d` |
//! | `%M` | `[0-5]\d\|\d` |
//! | `%S` | `6[0-1]\|[0-5]\d\|\d` |
//! | a blank | `\s+` |
//!
//! `\d` and `\s` are Unicode-aware, `T` and `Z` match either case. Hence
//! `2025-9-6`, `2025-06-01t21:30:00z`, `2025-06-01\t21:3` and
//! `2025-1- 5` all parse; seconds 60 and 61 are accepted and simply added.
//!
//! Must never: consult a clock, or accept anything CPython rejects.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use scs_check_sdk::python_str::{decimal_value, is_space};

/// A `strptime` format used by the official code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `%Y-%m-%dT%H:%M:%SZ`
    IsoZ,
    /// `%Y-%m-%d %H:%M:%S`
    DateTimeSeconds,
    /// `%Y-%m-%d %H:%M`
    DateTimeMinutes,
    /// `%Y-%m-%d`
    Date,
    /// `%Y%m%d`
    Compact,
}

/// `STRICT_FORMATS` (for `created_at`).
pub const STRICT_FORMATS: &[Format] = &[Format::IsoZ];
/// `DATE_FORMATS` (build dates, `provided_until`, `uuid_validity`).
pub const DATE_FORMATS: &[Format] = &[
    Format::IsoZ,
    Format::DateTimeSeconds,
    Format::DateTimeMinutes,
    Format::Date,
];
/// `MARKER_DATE_FORMATS` (the last word of an outdated image's name).
pub const MARKER_DATE_FORMATS: &[Format] = &[Format::Date, Format::Compact];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

#[derive(Debug, Clone, Copy)]
enum Token {
    Num(Field),
    /// A literal, matched ignoring ASCII case (`T`, `Z`, `-`, `:`).
    Lit(char),
    /// `\s+`
    Space,
}

#[derive(Debug, Clone, Copy)]
enum Atom {
    /// This character exactly.
    Is(char),
    /// An ASCII character in this range (`[0-5]`).
    Range(char, char),
    /// `\d`: any Unicode decimal digit.
    Digit,
}

impl Atom {
    fn matches(self, c: char) -> bool {
        match self {
            Atom::Is(x) => c == x,
            Atom::Range(a, b) => (a..=b).contains(&c),
            Atom::Digit => decimal_value(c).is_some(),
        }
    }
}

use Atom::{Digit, Is, Range};

/// The ordered alternatives of each directive's regex.
fn alternatives(f: Field) -> &'static [&'static [Atom]] {
    match f {
        Field::Year => &[&[Digit, Digit, Digit, Digit]],
        Field::Month => &[
            &[Is('1'), Range('0', '2')],
            &[Is('0'), Range('1', '9')],
            &[Range('1', '9')],
        ],
        Field::Day => &[
            &[Is('3'), Range('0', '1')],
            &[Range('1', '2'), Digit],
            &[Is('0'), Range('1', '9')],
            &[Range('1', '9')],
            &[Is(' '), Range('1', '9')],
        ],
        Field::Hour => &[
            &[Is('2'), Range('0', '3')],
            &[Range('0', '1'), Digit],
            &[Digit],
        ],
        Field::Minute => &[&[Range('0', '5'), Digit], &[Digit]],
        Field::Second => &[
            &[Is('6'), Range('0', '1')],
            &[Range('0', '5'), Digit],
            &[Digit],
        ],
    }
}

fn tokens(f: Format) -> &'static [Token] {
    use Field::*;
    use Token::{Lit, Num, Space};
    match f {
        Format::IsoZ => &[
            Num(Year),
            Lit('-'),
            Num(Month),
            Lit('-'),
            Num(Day),
            Lit('T'),
            Num(Hour),
            Lit(':'),
            Num(Minute),
            Lit(':'),
            Num(Second),
            Lit('Z'),
        ],
        Format::DateTimeSeconds => &[
            Num(Year),
            Lit('-'),
            Num(Month),
            Lit('-'),
            Num(Day),
            Space,
            Num(Hour),
            Lit(':'),
            Num(Minute),
            Lit(':'),
            Num(Second),
        ],
        Format::DateTimeMinutes => &[
            Num(Year),
            Lit('-'),
            Num(Month),
            Lit('-'),
            Num(Day),
            Space,
            Num(Hour),
            Lit(':'),
            Num(Minute),
        ],
        Format::Date => &[Num(Year), Lit('-'), Num(Month), Lit('-'), Num(Day)],
        Format::Compact => &[Num(Year), Num(Month), Num(Day)],
    }
}

/// Captured spans (start, end) per field.
type Captures = [Option<(usize, usize)>; 6];

fn slot(f: Field) -> usize {
    f as usize
}

/// Backtracking match of `toks` at `pos`; the first success in the regex
/// engine's priority order, without an end anchor (like `re.match`).
fn match_at(toks: &[Token], s: &[char], pos: usize, caps: &mut Captures) -> Option<usize> {
    let Some((first, rest)) = toks.split_first() else {
        return Some(pos);
    };
    match *first {
        Token::Lit(c) => {
            let ch = *s.get(pos)?;
            if ch.eq_ignore_ascii_case(&c) {
                match_at(rest, s, pos + 1, caps)
            } else {
                None
            }
        }
        Token::Space => {
            let run = s[pos..].iter().take_while(|c| is_space(**c)).count();
            // greedy, then give back one at a time
            (1..=run)
                .rev()
                .find_map(|n| match_at(rest, s, pos + n, caps))
        }
        Token::Num(field) => {
            for alt in alternatives(field) {
                let end = pos + alt.len();
                if end > s.len() {
                    continue;
                }
                if alt.iter().zip(&s[pos..end]).all(|(a, c)| a.matches(*c)) {
                    let saved = caps[slot(field)];
                    caps[slot(field)] = Some((pos, end));
                    if let Some(e) = match_at(rest, s, end, caps) {
                        return Some(e);
                    }
                    caps[slot(field)] = saved;
                }
            }
            None
        }
    }
}

/// `int()` of a captured group (digits, possibly a leading blank).
fn value(s: &[char], span: Option<(usize, usize)>) -> i64 {
    let Some((a, b)) = span else {
        return 0;
    };
    s[a..b]
        .iter()
        .filter_map(|c| decimal_value(*c))
        .fold(0, |acc, d| acc * 10 + i64::from(d))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `calendar.timegm(time.strptime(s, fmt))`, or None where CPython raises
/// `ValueError`.
pub fn strptime_timegm(s: &str, fmt: Format) -> Option<i64> {
    let chars: Vec<char> = s.chars().collect();
    let mut caps: Captures = [None; 6];
    let end = match_at(tokens(fmt), &chars, 0, &mut caps)?;
    if end != chars.len() {
        return None; // "unconverted data remains"
    }
    let year = value(&chars, caps[slot(Field::Year)]);
    let month = value(&chars, caps[slot(Field::Month)]);
    let day = value(&chars, caps[slot(Field::Day)]);
    let hour = value(&chars, caps[slot(Field::Hour)]);
    let minute = value(&chars, caps[slot(Field::Minute)]);
    let second = value(&chars, caps[slot(Field::Second)]);
    // datetime.date(year, month, day) must exist (year 0 does not)
    if year < 1 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// The official `parse_date`: Unix seconds from the first format that
/// parses, else 0.
///
/// d.3 quirk: 0 doubles as "invalid", so a date that lands exactly on the
/// epoch (`1970-01-01`) is treated as invalid by every caller, while dates
/// before 1970 (negative) count as valid.
pub fn parse_date(s: &str, formats: &[Format]) -> i64 {
    formats
        .iter()
        .find_map(|f| strptime_timegm(s, *f))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values computed with CPython 3.11
    /// (`calendar.timegm(time.strptime(s, f))`, 0 on ValueError).
    #[test]
    fn lenient_formats_match_cpython() {
        let table: &[(&str, i64)] = &[
            ("2025-9-6", 1_757_116_800), // h.7: unpadded
            ("2025-09-06", 1_757_116_800),
            ("2025-06-01 21:30", 1_748_813_400),
            ("2025-06-01t21:30:00z", 1_748_813_400), // IGNORECASE
            ("2025-06-01T21:30:00Z", 1_748_813_400),
            ("2025-06-01   21:30", 1_748_813_400), // \s+
            ("2025-06-01\t21:3", 1_748_811_780),
            ("2025-02-29", 0),
            ("2024-02-29", 1_709_164_800),
            ("2025-1- 5", 1_736_035_200), // %d accepts " 5"
            ("1970-01-01", 0),            // the epoch is "invalid"
            ("1969-12-31 23:59:60", 0),   // leap second onto the epoch
            ("2025-01-01T00:00:61Z", 1_735_689_661),
            ("0000-01-01", 0),
            ("0001-01-01", -62_135_596_800),
            ("9999-12-31 23:59:59", 253_402_300_799),
            ("2025-13-01", 0),
            ("2025-1-32", 0),
            ("2025-06-01 24:00", 0),
            ("2025-06-01 7:5:9", 1_748_761_509),
            (" 2025-06-01", 0),
            ("2025-06-01 ", 0),
            ("2025-06-01T21:30Z", 0),
            ("\u{662}\u{660}\u{662}\u{665}-06-01", 1_748_736_000), // Arabic-Indic digits
            ("2025-06-1\u{665}", 1_749_945_600),
            ("25-06-01", 0),
            ("2025-06-01\u{1c}10:00", 1_748_772_000),
            ("2025-06-01\u{a0}10:00", 1_748_772_000),
            ("20250601", 0),
            ("", 0),
            ("none", 0),
        ];
        for (s, want) in table {
            assert_eq!(parse_date(s, DATE_FORMATS), *want, "{s:?}");
        }
    }

    #[test]
    fn marker_formats_match_cpython() {
        let table: &[(&str, i64)] = &[
            ("20250601", 1_748_736_000),
            ("2025611", 1_749_600_000),
            ("202511", 1_735_689_600), // backtracks: month 1, day 1
            ("2025230", 0),            // month 2, day 30: no other split is tried
            ("20251301", 0),
            ("2025131", 1_738_281_600),
            ("202511123", 0),
            ("2025-06-01", 1_748_736_000),
            ("old", 0),
        ];
        for (s, want) in table {
            assert_eq!(parse_date(s, MARKER_DATE_FORMATS), *want, "{s:?}");
        }
    }

    #[test]
    fn strict_format_is_strict() {
        assert_eq!(parse_date("2025-9-6", STRICT_FORMATS), 0);
        assert_eq!(parse_date("2025-06-01 21:30:00", STRICT_FORMATS), 0);
        assert_eq!(
            parse_date("2025-06-02T08:00:00Z", STRICT_FORMATS),
            1_748_851_200
        );
        // fractional seconds, as some clouds send, do not parse strictly
        assert_eq!(parse_date("2025-06-02T08:00:00.000Z", STRICT_FORMATS), 0);
        assert_eq!(parse_date("2025-06-02T08:00:00+00:00", STRICT_FORMATS), 0);
    }
}
