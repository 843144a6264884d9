//! Reading the test VM's serial console and judging it (docs/official-behaviour.md
//! d.2 step 5 and the verdict table). Pure functions plus the polling loop,
//! which takes the console fetch and the clock as arguments.

use scs_check_sdk::lines::Lines;
use scs_check_sdk::python_str::{self as pystr, splitlines};
use scs_check_sdk::wait::Clock;
use std::collections::BTreeMap;

/// The marker every line of the test's output carries.
pub const MARKER: &str = "_scs-test-";
/// Printed last by the VM.
pub const END_MARKER: &str = "_scs-test-end";
/// cloud-init's complaint when the runcmd script failed.
pub const SCRIPTS_USER_FAILED: &str = "Failed to run module scripts-user";
/// Console polls at most this many times after the first (1 s apart).
pub const CONSOLE_POLLS: u32 = 300;

/// Section name → payloads, in console order.
pub type Collected = BTreeMap<String, Vec<String>>;

/// d.2 step 5, parsing: in each line find the marker; the section is the
/// text after it up to the next `:`, the payload is the rest, stripped. A
/// marker line without a `:` after the marker (e.g. `_scs-test-end`, or a
/// line cut short on the console) carries no `: value` part and is skipped,
/// as the official parser skips it: it contributes no payload, not even an
/// empty one. An empty payload after a `:` is kept (`_scs-test-x: ` gives
/// `""`).
pub fn parse_console(output: &str) -> Collected {
    let mut collected = Collected::new();
    for line in splitlines(output) {
        if let Some((section, payload)) = parse_line(line) {
            collected
                .entry(section.to_string())
                .or_default()
                .push(payload.to_string());
        }
    }
    collected
}

/// One console line (d.2 step 5): `(section, payload)` if it carries the
/// marker followed by `section:payload`; the payload is stripped. `None`
/// for a line without the marker, and for a marker line without a `:` after
/// the marker.
pub fn parse_line(line: &str) -> Option<(&str, &str)> {
    let idx = line.find(MARKER)?;
    let rest = &line[idx + MARKER.len()..];
    let (section, payload) = rest.split_once(':')?;
    Some((section, pystr::strip(payload)))
}

/// d.2 step 5, polling: fetch the console; until it contains
/// [`END_MARKER`]: after [`CONSOLE_POLLS`] sleeps give up (error), if it
/// contains [`SCRIPTS_USER_FAILED`] give up (error), else sleep 1 s and
/// fetch again. The order of the three tests is the official one, so a
/// console with both the end marker and the failure text counts as done.
/// The budget counts sleeps, not wall time, as the official loop does.
pub fn read_console(
    clock: &mut dyn Clock,
    server_id: &str,
    mut fetch: impl FnMut() -> Result<String, String>,
) -> Result<String, String> {
    let mut remainder = CONSOLE_POLLS;
    let mut console = fetch()?;
    loop {
        if console.contains(END_MARKER) {
            return Ok(console);
        }
        if remainder == 0 {
            return Err("timeout while waiting for VM to complete computation".to_string());
        }
        if console.contains(SCRIPTS_USER_FAILED) {
            return Err(format!("Failed tests for {server_id}"));
        }
        clock.sleep_ms(1000);
        remainder -= 1;
        console = fetch()?;
    }
}

/// `scs-0101-entropy-avail`: the first payload of section `entropy-avail`,
/// stripped, must be exactly "256". No such section → error (ABORT).
pub fn entropy_avail(
    collected: &Collected,
    image_name: &str,
    lines: &mut Lines,
) -> Result<bool, String> {
    let first = collected
        .get("entropy-avail")
        .and_then(|v| v.first())
        .ok_or_else(|| "the VM's console has no entropy-avail output".to_string())?;
    let value = pystr::strip(first);
    if value != "256" {
        lines.error(format!(
            "VM '{image_name}' didn't have a fixed amount of entropy available. Expected 256, got {value}."
        ));
        return Ok(false);
    }
    Ok(true)
}

/// Leftmost match of `failures:\s\d+` (Python `re` semantics: `\s` and `\d`
/// are Unicode) in `text`: (the whitespace character, the digits).
pub fn find_failures(text: &str) -> Option<(char, &str)> {
    const NEEDLE: &str = "failures:";
    let mut from = 0;
    while let Some(pos) = text[from..].find(NEEDLE) {
        let after = from + pos + NEEDLE.len();
        let mut rest = text[after..].chars();
        if let Some(ws) = rest.next().filter(|c| pystr::is_space(*c)) {
            let digits_start = after + ws.len_utf8();
            let digits_len: usize = text[digits_start..]
                .chars()
                .take_while(|c| pystr::decimal_value(*c).is_some())
                .map(char::len_utf8)
                .sum();
            if digits_len > 0 {
                return Some((ws, &text[digits_start..digits_start + digits_len]));
            }
        }
        from = after;
    }
    None
}

/// Python `int()` of a string of decimal digits, saturating (only ≤ 5
/// matters).
fn int_saturating(digits: &str) -> u64 {
    digits.chars().fold(0u64, |acc, c| {
        acc.saturating_mul(10)
            .saturating_add(u64::from(pystr::decimal_value(c).unwrap_or(0)))
    })
}

/// `scs-0101-fips-test`: join the `fips-test` payloads with newlines and
/// find `failures:\s\d+`. No section or no match → error (ABORT, d.2).
/// ≤ 3 failures PASS; 4–5 PASS with an INFO line; more FAIL.
pub fn fips_test(
    collected: &Collected,
    image_name: &str,
    lines: &mut Lines,
) -> Result<bool, String> {
    let payloads = collected
        .get("fips-test")
        .ok_or_else(|| "the VM's console has no fips-test output".to_string())?;
    let data = payloads.join("\n");
    let Some((ws, digits)) = find_failures(&data) else {
        lines.debug(format!("fips-test output:\n{data}"));
        return Err(format!(
            "VM '{image_name}': failed to determine fips failures"
        ));
    };
    // The number is taken as `match.split(" ")[1]`: a whitespace other than
    // a blank (tab, newline) leaves no second part, and that IndexError is an
    // exception → ABORT (d.0, d.2).
    if ws != ' ' {
        return Err(format!(
            "VM '{image_name}': cannot read the number of fips failures (separator {ws:?} is not a blank)"
        ));
    }
    let failures = int_saturating(digits);
    if failures <= 3 {
        return Ok(true);
    }
    lines.info(format!(
        "VM '{image_name}' didn't pass the strict FIPS 140-2 testing. Expected a maximum of 3 failures, got {digits}."
    ));
    if failures <= 5 {
        return Ok(true);
    }
    lines.error(format!(
        "VM '{image_name}' didn't pass the FIPS 140-2 testing. Expected a maximum of 5 failures, got {digits}."
    ));
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scs_check_sdk::Level;
    use scs_check_sdk::wait::FakeClock;

    const GOOD: &str = "\
[    0.000000] Linux version 6.1.0-18-amd64\r
[   20.645706] cloud-init[539]: _scs-test-entropy-avail: 256\r
[   20.650400] cloud-init[539]: _scs-test-fips-test: rngtest 5\r
[   20.650500] cloud-init[539]: _scs-test-fips-test: rngtest: starting FIPS tests...\r
[   20.650600] cloud-init[539]: _scs-test-fips-test: rngtest: FIPS 140-2 successes: 998\r
[   20.650700] cloud-init[539]: _scs-test-fips-test: rngtest: FIPS 140-2 failures: 2\r
[   20.660000] cloud-init[539]: _scs-test-rngd: Unit rngd.service could not be found.\r
[   20.670000] cloud-init[539]: _scs-test-end\r
";

    #[test]
    fn parsing() {
        let c = parse_console(GOOD);
        assert_eq!(c["entropy-avail"], vec!["256"]);
        assert_eq!(c["fips-test"].len(), 4);
        assert_eq!(c["fips-test"][3], "rngtest: FIPS 140-2 failures: 2");
        // `_scs-test-end` has no `: value` part: skipped, no `end` section
        assert!(!c.contains_key("end"));
        assert_eq!(c["rngd"], vec!["Unit rngd.service could not be found."]);
        // a login prompt in front of the marker does not matter
        let c =
            parse_console("vm login: [ 18.6] cloud-init[520]: _scs-test-entropy-avail:  256 \n");
        assert_eq!(c["entropy-avail"], vec!["256"]);
        // no marker: nothing
        assert!(parse_console("256\nfailures: 0\n").is_empty());
    }

    #[test]
    fn marker_lines_without_a_value_are_skipped() {
        assert_eq!(parse_line("_scs-test-end"), None);
        assert_eq!(
            parse_line("[ 20.6] cloud-init[539]: _scs-test-fips-test"),
            None
        );
        assert_eq!(parse_line("no marker: 256"), None);
        // the `:` must come after the marker; one before it does not count
        assert_eq!(parse_line("cloud-init[539]: _scs-test-entropy-avail"), None);
        assert_eq!(
            parse_line("x: _scs-test-entropy-avail: 256 "),
            Some(("entropy-avail", "256"))
        );
        assert_eq!(parse_line("_scs-test-rngd:"), Some(("rngd", "")));
        assert_eq!(parse_line("_scs-test-a:b:c"), Some(("a", "b:c")));
        // such lines add nothing, not even an empty payload
        let c = parse_console(
            "_scs-test-fips-test\n_scs-test-fips-test: failures: 1\n_scs-test-fips-test\n",
        );
        assert_eq!(c["fips-test"], vec!["failures: 1"]);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn entropy_verdicts() {
        let mut l = Lines::new();
        assert_eq!(
            entropy_avail(&parse_console(GOOD), "Debian 12", &mut l),
            Ok(true)
        );
        assert!(l.0.is_empty());
        let low = parse_console("_scs-test-entropy-avail: 255\n_scs-test-entropy-avail: 256\n");
        assert_eq!(
            entropy_avail(&low, "Debian 12", &mut l),
            Ok(false),
            "only the first payload counts"
        );
        assert_eq!(l.errors().len(), 1);
        assert!(entropy_avail(&parse_console("_scs-test-fips-test: x\n"), "D", &mut l).is_err());
        // a marker line without `: value` is skipped: the section is
        // missing (ABORT), not an empty value (FAIL)
        let bare = parse_console("_scs-test-entropy-avail\n");
        assert!(entropy_avail(&bare, "D", &mut Lines::new()).is_err());
        // ... and the first line *with* a value counts
        let later = parse_console("_scs-test-entropy-avail\n_scs-test-entropy-avail: 256\n");
        assert_eq!(entropy_avail(&later, "D", &mut Lines::new()), Ok(true));
        // an empty value after the `:` is a value: FAIL
        let empty = parse_console("_scs-test-entropy-avail: \n");
        assert_eq!(entropy_avail(&empty, "D", &mut Lines::new()), Ok(false));
    }

    fn fips(text: &str) -> (Result<bool, String>, Lines) {
        let mut l = Lines::new();
        let r = fips_test(&parse_console(text), "Debian 12", &mut l);
        (r, l)
    }

    #[test]
    fn fips_verdicts() {
        assert_eq!(fips(GOOD).0, Ok(true));
        for (n, verdict, infos, errors) in [
            (0, true, 0, 0),
            (3, true, 0, 0),
            (4, true, 1, 0),
            (5, true, 1, 0),
            (6, false, 1, 1),
            (1000, false, 1, 1),
        ] {
            let (r, l) = fips(&format!(
                "_scs-test-fips-test: rngtest: FIPS 140-2 failures: {n}\n"
            ));
            assert_eq!(r, Ok(verdict), "{n}");
            assert_eq!(l.at(Level::Info).len(), infos, "{n}");
            assert_eq!(l.errors().len(), errors, "{n}");
        }
        // huge numbers do not overflow
        assert_eq!(
            fips("_scs-test-fips-test: failures: 99999999999999999999999\n").0,
            Ok(false)
        );
        // no failures line (rngtest not installed, or PR #1225's output): ABORT
        let (r, l) = fips("_scs-test-fips-test: /bin/sh: 1: rngtest: not found\n");
        assert!(r.is_err());
        assert!(l.errors().is_empty());
        // no section: ABORT
        assert!(fips("_scs-test-entropy-avail: 256\n").0.is_err());
        // the first match counts
        assert_eq!(
            fips("_scs-test-fips-test: failures: 9\n_scs-test-fips-test: failures: 0\n").0,
            Ok(false)
        );
        // `failures:` needs exactly one whitespace, then digits
        assert!(fips("_scs-test-fips-test: failures:  3\n").0.is_err());
        assert!(fips("_scs-test-fips-test: failures:x3\n").0.is_err());
        // a later well-formed occurrence is found
        assert_eq!(
            fips("_scs-test-fips-test: failures: x failures: 1\n").0,
            Ok(true)
        );
        // a tab matches \s but split(" ") then fails: ABORT
        assert!(fips("_scs-test-fips-test: failures:\t1\n").0.is_err());
        // the payloads are joined with newlines: `failures:` at the end of
        // one payload and digits in the next match across lines → ABORT
        assert!(
            fips("_scs-test-fips-test: failures:\n_scs-test-fips-test: 1\n")
                .0
                .is_err()
        );
    }

    #[test]
    fn console_polling() {
        // done at once
        let mut clock = FakeClock::default();
        assert!(read_console(&mut clock, "s", || Ok(GOOD.to_string())).is_ok());
        assert!(clock.sleeps.is_empty());
        // done on the third fetch
        let mut clock = FakeClock::default();
        let mut n = 0;
        let r = read_console(&mut clock, "s", || {
            n += 1;
            Ok(if n == 3 {
                GOOD.to_string()
            } else {
                "booting".to_string()
            })
        });
        assert!(r.is_ok());
        assert_eq!(clock.sleeps, vec![1000, 1000]);
        // never done: 300 sleeps, 301 fetches, then an error
        let mut clock = FakeClock::default();
        let mut n = 0;
        let r = read_console(&mut clock, "s", || {
            n += 1;
            Ok("booting".to_string())
        });
        assert_eq!(
            r,
            Err("timeout while waiting for VM to complete computation".to_string())
        );
        assert_eq!(n, 301);
        assert_eq!(clock.sleeps.len(), 300);
        // scripts-user failed: error at once
        let mut clock = FakeClock::default();
        let r = read_console(&mut clock, "srv", || {
            Ok(format!("x\n{SCRIPTS_USER_FAILED}\n"))
        });
        assert_eq!(r, Err("Failed tests for srv".to_string()));
        // ... unless the end marker is there too (end is tested first)
        let mut clock = FakeClock::default();
        assert!(
            read_console(&mut clock, "s", || Ok(format!(
                "{SCRIPTS_USER_FAILED}\n{END_MARKER}\n"
            )))
            .is_ok()
        );
        // a fetch error stops polling
        let mut clock = FakeClock::default();
        assert!(read_console(&mut clock, "s", || Err("HTTP 500".to_string())).is_err());
    }
}
