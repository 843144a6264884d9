//! Python's `datetime.strptime` for the two formats the version policy
//! parses, and naive date-times as plain numbers.
//!
//! Owns: [`parse_date`] (`"%Y-%m-%d"`, the end-of-life dates), [`parse_github_time`]
//! (`"%Y-%m-%dT%H:%M:%SZ"`, GitHub's `published_at`) and [`from_civil`].
//! A naive date-time is milliseconds since 1970-01-01T00:00 without a time
//! zone, which is what the official script compares (docs/official-behaviour.md
//! d.12: naive `datetime.now()` against naive parsed values; see the crate
//! docs for what "now" is here).
//!
//! The parser matches as CPython's `_strptime` does: each directive is the
//! same regular expression (`%Y` four decimal digits, `%m`
//! `1[0-2]|0[1-9]|[1-9]`, `%d` `3[01]|[12]\d|0[1-9]|[1-9]| [1-9]`, `%H`
//! `2[0-3]|[0-1]\d|\d`, `%M` `[0-5]\d|\d`, `%S` `6[0-1]|[0-5]\d|\d`; `\d` is
//! any Unicode decimal digit), literals match case-insensitively (the
//! pattern is compiled with IGNORECASE, so `t` and `z` are accepted), the
//! first match in regex order is taken, text left over is an error, and the
//! date must exist (`datetime(...)` refuses Feb 30, year 0 and second 60/61).
//!
//! Must never: read a clock, or accept a string Python refuses (every
//! refusal is an `Err`, which makes the check ABORT as the official
//! `ValueError` does).

use scs_check_sdk::python_str::decimal_value;

/// Milliseconds per day.
pub const DAY_MS: i64 = 86_400_000;

/// One piece of a directive's alternative.
#[derive(Clone, Copy)]
enum P {
    /// An ASCII character range, e.g. `[0-5]`.
    R(char, char),
    /// `\d`: any Unicode decimal digit.
    D,
    /// A literal character (a blank in `%d`'s ` [1-9]`).
    L(char),
}

use P::{D, L, R};

const YEAR: &[&[P]] = &[&[D, D, D, D]];
const MONTH: &[&[P]] = &[
    &[L('1'), R('0', '2')],
    &[L('0'), R('1', '9')],
    &[R('1', '9')],
];
const DAY: &[&[P]] = &[
    &[L('3'), R('0', '1')],
    &[R('1', '2'), D],
    &[L('0'), R('1', '9')],
    &[R('1', '9')],
    &[L(' '), R('1', '9')],
];
const HOUR: &[&[P]] = &[&[L('2'), R('0', '3')], &[R('0', '1'), D], &[D]];
const MINUTE: &[&[P]] = &[&[R('0', '5'), D], &[D]];
const SECOND: &[&[P]] = &[&[L('6'), R('0', '1')], &[R('0', '5'), D], &[D]];

/// One element of a format.
#[derive(Clone, Copy)]
enum Tok {
    /// A directive: its alternatives, in regex order.
    Field(&'static [&'static [P]]),
    /// A literal of the format (matched case-insensitively).
    Lit(char),
}

const DATE_FORMAT: &[Tok] = &[
    Tok::Field(YEAR),
    Tok::Lit('-'),
    Tok::Field(MONTH),
    Tok::Lit('-'),
    Tok::Field(DAY),
];

const GITHUB_FORMAT: &[Tok] = &[
    Tok::Field(YEAR),
    Tok::Lit('-'),
    Tok::Field(MONTH),
    Tok::Lit('-'),
    Tok::Field(DAY),
    Tok::Lit('T'),
    Tok::Field(HOUR),
    Tok::Lit(':'),
    Tok::Field(MINUTE),
    Tok::Lit(':'),
    Tok::Field(SECOND),
    Tok::Lit('Z'),
];

fn piece_matches(p: P, c: char) -> bool {
    match p {
        R(lo, hi) => (lo..=hi).contains(&c),
        D => decimal_value(c).is_some(),
        L(l) => l == c,
    }
}

/// The value of a matched field (its digits; a leading blank of `%d` is
/// skipped, as `int(" 5")` does).
fn field_value(chars: &[char]) -> i64 {
    chars
        .iter()
        .filter_map(|c| decimal_value(*c))
        .fold(0, |acc, d| acc * 10 + i64::from(d))
}

/// Backtracking match of `fmt[t..]` against `input[pos..]`: the end of the
/// first match in regex order and the field values.
fn match_from(
    fmt: &[Tok],
    t: usize,
    input: &[char],
    pos: usize,
    values: &mut Vec<i64>,
) -> Option<usize> {
    let Some(tok) = fmt.get(t) else {
        return Some(pos);
    };
    match tok {
        Tok::Lit(l) => {
            let c = input.get(pos)?;
            if c.to_lowercase().eq(l.to_lowercase()) {
                match_from(fmt, t + 1, input, pos + 1, values)
            } else {
                None
            }
        }
        Tok::Field(alts) => {
            for alt in *alts {
                let end = pos + alt.len();
                let Some(slice) = input.get(pos..end) else {
                    continue;
                };
                if !alt.iter().zip(slice).all(|(p, c)| piece_matches(*p, *c)) {
                    continue;
                }
                values.push(field_value(slice));
                if let Some(done) = match_from(fmt, t + 1, input, end, values) {
                    return Some(done);
                }
                values.pop();
            }
            None
        }
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d`
/// (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The naive date-time `y-m-d h:mi:s` in milliseconds since 1970-01-01T00:00.
pub fn from_civil(y: i64, m: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    days_from_civil(y, m, d) * DAY_MS + ((h * 60 + mi) * 60 + s) * 1000
}

fn strptime(text: &str, fmt: &[Tok], fmt_text: &str) -> Result<i64, String> {
    let input: Vec<char> = text.chars().collect();
    let mut values = Vec::new();
    let Some(end) = match_from(fmt, 0, &input, 0, &mut values) else {
        return Err(format!(
            "ValueError: time data {text:?} does not match format {fmt_text:?}"
        ));
    };
    if end != input.len() {
        let rest: String = input[end..].iter().collect();
        return Err(format!("ValueError: unconverted data remains: {rest}"));
    }
    let get = |i: usize| values.get(i).copied().unwrap_or(0);
    let (y, m, d, h, mi, s) = (get(0), get(1), get(2), get(3), get(4), get(5));
    if y < 1 {
        return Err(format!("ValueError: year {y} is out of range"));
    }
    if d > days_in_month(y, m) {
        return Err("ValueError: day is out of range for month".to_string());
    }
    if s > 59 {
        return Err("ValueError: second must be in 0..59".to_string());
    }
    Ok(from_civil(y, m, d, h, mi, s))
}

/// `datetime.strptime(text, "%Y-%m-%d")`, as a naive date-time (midnight).
pub fn parse_date(text: &str) -> Result<i64, String> {
    strptime(text, DATE_FORMAT, "%Y-%m-%d")
}

/// `datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")`, as a naive date-time
/// (the `Z` is matched, not interpreted).
pub fn parse_github_time(text: &str) -> Result<i64, String> {
    strptime(text, GITHUB_FORMAT, "%Y-%m-%dT%H:%M:%SZ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            days_from_civil(2024, 2, 29) + 1,
            days_from_civil(2024, 3, 1)
        );
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        // 2024-10-22T20:26:55Z is 1729628815 s after the epoch
        assert_eq!(from_civil(2024, 10, 22, 20, 26, 55), 1_729_628_815_000);
    }

    #[test]
    fn dates_as_strptime_reads_them() {
        // official test_parse_branch_info: 2025-02-28 → datetime(2025, 2, 28)
        assert_eq!(
            parse_date("2025-02-28").unwrap(),
            from_civil(2025, 2, 28, 0, 0, 0)
        );
        // one-digit month and day, a blank before a one-digit day
        assert_eq!(
            parse_date("2025-2-8").unwrap(),
            from_civil(2025, 2, 8, 0, 0, 0)
        );
        assert_eq!(
            parse_date("2025-02- 8").unwrap(),
            from_civil(2025, 2, 8, 0, 0, 0)
        );
        // Unicode digits where the pattern says \d
        assert_eq!(
            parse_date("٢٠٢٥-02-28").unwrap(),
            from_civil(2025, 2, 28, 0, 0, 0)
        );
        for bad in [
            "2025-02-30",
            "2025-13-01",
            "2025-00-10",
            "0000-01-01",
            "25-02-28",
            "2025-02-28 ",
            " 2025-02-28",
            "2025-02-28T00:00:00Z",
            "2025/02/28",
            "",
            "2025-02-280",
        ] {
            assert!(parse_date(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_date("2024-02-29").unwrap(),
            from_civil(2024, 2, 29, 0, 0, 0)
        );
        assert!(parse_date("2023-02-29").is_err());
    }

    #[test]
    fn github_times_as_strptime_reads_them() {
        // official test_parse_release_data1/2
        assert_eq!(
            parse_github_time("2024-02-03T13:37:42Z").unwrap(),
            from_civil(2024, 2, 3, 13, 37, 42)
        );
        assert_eq!(
            parse_github_time("2023-01-03T13:37:42Z").unwrap(),
            from_civil(2023, 1, 3, 13, 37, 42)
        );
        // IGNORECASE: lower-case literals are accepted
        assert_eq!(
            parse_github_time("2024-02-03t13:37:42z").unwrap(),
            from_civil(2024, 2, 3, 13, 37, 42)
        );
        // one-digit fields
        assert_eq!(
            parse_github_time("2024-2-3T3:7:4Z").unwrap(),
            from_civil(2024, 2, 3, 3, 7, 4)
        );
        for bad in [
            "2024-02-03T13:37:42",
            "2024-02-03T13:37:42+00:00",
            "2024-02-03T13:37:42.000Z",
            "2024-02-03T24:00:00Z",
            "2024-02-03T13:60:00Z",
            "2024-02-03T13:37:60Z",
            "2024-02-03T13:37:61Z",
            "2024-02-03 13:37:42Z",
        ] {
            assert!(parse_github_time(bad).is_err(), "{bad:?}");
        }
    }
}
