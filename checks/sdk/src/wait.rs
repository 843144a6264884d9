//! Waiting, polling and retrying through the host clock.
//!
//! Owns: the [`Clock`] abstraction (the host clock in a component, a fake
//! clock in native unit tests), retrying with a fixed schedule of sleeps
//! ([`retry`], used by the volume-backup check with the official schedule
//! [`BACKUP_RETRY_SECS`]), and polling until a condition holds or a time
//! budget is spent ([`poll`]).
//!
//! Must never: read time or sleep other than through [`Clock`] (in a
//! component that is `sdk::now_ms` / `sdk::sleep_ms`, which the host records
//! and a replay skips), busy-wait, or sleep longer than asked.

use std::fmt;

/// A source of time and a way to wait. [`HostClock`] in components.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&mut self) -> u64;
    /// Wait `ms` milliseconds.
    fn sleep_ms(&mut self, ms: u64);
}

/// The host's clock (`sdk::now_ms`, `sdk::sleep_ms`). Only usable inside a
/// component.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostClock;

impl Clock for HostClock {
    fn now_ms(&mut self) -> u64 {
        crate::now_ms()
    }
    fn sleep_ms(&mut self, ms: u64) {
        crate::sleep_ms(ms);
    }
}

/// A clock for unit tests: time only moves when someone sleeps; every sleep
/// is recorded.
#[derive(Debug, Clone, Default)]
pub struct FakeClock {
    /// Current time in ms.
    pub now: u64,
    /// Every sleep, in order, in ms.
    pub sleeps: Vec<u64>,
}

impl Clock for FakeClock {
    fn now_ms(&mut self) -> u64 {
        self.now
    }
    fn sleep_ms(&mut self, ms: u64) {
        self.sleeps.push(ms);
        self.now += ms;
    }
}

/// The sleeps (in seconds) between the attempts of the official volume-backup
/// waits (docs/official-behaviour.md d.9): at most 8 attempts, 110 s of sleeping.
pub const BACKUP_RETRY_SECS: [u64; 7] = [2, 3, 5, 10, 15, 25, 50];

/// A retry gave up: every attempt failed and the schedule is used up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryTimeout {
    /// Seconds slept in total.
    pub waited_secs: u64,
    /// The error of the last attempt.
    pub last_error: String,
}

impl fmt::Display for RetryTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Timed out after {} s: {}",
            self.waited_secs, self.last_error
        )
    }
}

impl std::error::Error for RetryTimeout {}

/// Call `attempt` until it succeeds. After the n-th failure sleep
/// `schedule_secs[n]` seconds and try again; when the schedule is used up,
/// give up with the last error. Every error counts as a failure (the
/// official `retry` catches every exception, "not found" included).
pub fn retry<T, E: fmt::Display>(
    clock: &mut dyn Clock,
    schedule_secs: &[u64],
    mut attempt: impl FnMut() -> Result<T, E>,
) -> Result<T, RetryTimeout> {
    let mut waited_secs = 0u64;
    let mut delays = schedule_secs.iter();
    loop {
        match attempt() {
            Ok(v) => return Ok(v),
            Err(e) => match delays.next() {
                Some(&d) => {
                    clock.sleep_ms(d.saturating_mul(1000));
                    waited_secs = waited_secs.saturating_add(d);
                }
                None => {
                    return Err(RetryTimeout {
                        waited_secs,
                        last_error: e.to_string(),
                    });
                }
            },
        }
    }
}

/// Why [`poll`] stopped without a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollError<E> {
    /// The condition did not hold within the budget.
    Timeout {
        /// Milliseconds waited.
        waited_ms: u64,
    },
    /// The probe failed; polling stops at once.
    Failed(E),
}

impl<E: fmt::Display> fmt::Display for PollError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PollError::Timeout { waited_ms } => {
                write!(f, "timed out after {} s", waited_ms / 1000)
            }
            PollError::Failed(e) => write!(f, "{e}"),
        }
    }
}

/// Probe at once, then every `interval_ms`, until `probe` gives `Some` (→
/// `Ok`), fails (→ [`PollError::Failed`]) or `timeout_ms` have passed since
/// the start (→ [`PollError::Timeout`]). The last sleep is cut to the time
/// left, so the budget is never overrun by more than one probe.
pub fn poll<T, E>(
    clock: &mut dyn Clock,
    timeout_ms: u64,
    interval_ms: u64,
    mut probe: impl FnMut() -> Result<Option<T>, E>,
) -> Result<T, PollError<E>> {
    let start = clock.now_ms();
    loop {
        if let Some(v) = probe().map_err(PollError::Failed)? {
            return Ok(v);
        }
        let elapsed = clock.now_ms().saturating_sub(start);
        if elapsed >= timeout_ms {
            return Err(PollError::Timeout { waited_ms: elapsed });
        }
        clock.sleep_ms(interval_ms.min(timeout_ms - elapsed).max(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_uses_the_schedule_then_gives_up() {
        let mut clock = FakeClock::default();
        let mut calls = 0;
        let r: Result<(), _> = retry(&mut clock, &BACKUP_RETRY_SECS, || {
            calls += 1;
            Err(format!("attempt {calls}"))
        });
        assert_eq!(calls, 8);
        assert_eq!(
            clock.sleeps,
            vec![2000, 3000, 5000, 10000, 15000, 25000, 50000]
        );
        let e = r.expect_err("must time out");
        assert_eq!(e.waited_secs, 110);
        assert_eq!(e.to_string(), "Timed out after 110 s: attempt 8");
    }

    #[test]
    fn retry_stops_at_the_first_success() {
        let mut clock = FakeClock::default();
        let mut calls = 0;
        let r = retry(&mut clock, &BACKUP_RETRY_SECS, || {
            calls += 1;
            if calls < 3 { Err("not yet") } else { Ok(calls) }
        });
        assert_eq!(r, Ok(3));
        assert_eq!(clock.sleeps, vec![2000, 3000]);
        // immediate success: no sleep at all
        let mut clock = FakeClock::default();
        assert_eq!(retry(&mut clock, &[1, 2], || Ok::<_, String>(7)), Ok(7));
        assert!(clock.sleeps.is_empty());
        // empty schedule: one attempt
        let mut clock = FakeClock::default();
        let e = retry(&mut clock, &[], || Err::<(), _>("no")).expect_err("must time out");
        assert_eq!(e.to_string(), "Timed out after 0 s: no");
    }

    #[test]
    fn poll_probes_until_done_or_budget() {
        let mut clock = FakeClock::default();
        let mut n = 0;
        let r: Result<u32, PollError<String>> = poll(&mut clock, 10_000, 2_000, || {
            n += 1;
            Ok((n == 3).then_some(n))
        });
        assert_eq!(r, Ok(3));
        assert_eq!(clock.sleeps, vec![2000, 2000]);

        let mut clock = FakeClock::default();
        let r: Result<(), PollError<String>> = poll(&mut clock, 5_000, 2_000, || Ok(None));
        assert_eq!(r, Err(PollError::Timeout { waited_ms: 5_000 }));
        assert_eq!(clock.sleeps, vec![2000, 2000, 1000]);

        let mut clock = FakeClock::default();
        let r: Result<(), PollError<&str>> = poll(&mut clock, 5_000, 2_000, || Err("boom"));
        assert_eq!(r, Err(PollError::Failed("boom")));
        assert!(clock.sleeps.is_empty());
    }
}
