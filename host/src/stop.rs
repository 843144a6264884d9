//! Stopping a run early and in order (SIGTERM from systemd's or Kubernetes' deadline, SIGINT
//! from a terminal): the caller holds a [`StopHandle`], the run a [`StopRequest`].
//!
//! Owns: the request (set once, with its reason, e.g. `SIGTERM`) and waiting for it. What a
//! stop means is decided where the work is: the run's component phase (`run::component`)
//! starts no further component; the sandbox stops a running one as its deadline would,
//! keeping its logs and counters (a check that may write then runs its cleanup phase, which
//! has no stop); the Sonobuoy runner stops `sonobuoy run`/`retrieve` and still runs the final
//! `sonobuoy delete`; a queued job of a combined run neither connects nor runs. Every testcase
//! that did not finish ABORTs naming the reason, and the run writes, signs and delivers its
//! report as always.
//!
//! Must never: stop a cleanup (cleanup phase, final `sonobuoy delete`), skip the report, or
//! exit the process (the caller decides what a second signal does).

use tokio::sync::watch;

/// The caller's side: asks the run to stop.
#[derive(Debug)]
pub struct StopHandle {
    tx: watch::Sender<Option<String>>,
}

/// The run's side: whether, and why, it was asked to stop. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StopRequest {
    rx: watch::Receiver<Option<String>>,
}

impl StopHandle {
    /// A new handle and the request to pass to the run (in [`crate::run::RunOptions::stop`]).
    pub fn new() -> (StopHandle, StopRequest) {
        let (tx, rx) = watch::channel(None);
        (StopHandle { tx }, StopRequest { rx })
    }

    /// Ask the run to stop, for `reason` (the first reason is kept).
    pub fn stop(&self, reason: &str) {
        self.tx.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason.to_string());
                true
            } else {
                false
            }
        });
    }
}

impl StopRequest {
    /// The reason, once a stop was asked for.
    pub fn reason(&self) -> Option<String> {
        self.rx.borrow().clone()
    }

    /// Wait until a stop is asked for; its reason. Never returns when the handle is dropped
    /// without asking.
    pub async fn stopped(&self) -> String {
        let mut rx = self.rx.clone();
        loop {
            if let Some(r) = rx.borrow_and_update().clone() {
                return r;
            }
            if rx.changed().await.is_err() {
                // the handle is gone without a stop: there will be none
                std::future::pending::<()>().await;
            }
        }
    }
}

/// The reason of `stop`, once a stop was asked for.
pub(crate) fn reason(stop: Option<&StopRequest>) -> Option<String> {
    stop.and_then(StopRequest::reason)
}

/// Wait for `stop`, if there is one; never returns otherwise.
pub(crate) async fn stopped(stop: Option<&StopRequest>) -> String {
    match stop {
        Some(s) => s.stopped().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_first_reason_wakes_every_waiter() {
        let (handle, req) = StopHandle::new();
        assert_eq!(req.reason(), None);
        let other = req.clone();
        let waiter = tokio::spawn(async move { other.stopped().await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        handle.stop("SIGTERM");
        handle.stop("SIGINT");
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("task");
        assert_eq!(got, "SIGTERM");
        assert_eq!(req.reason().as_deref(), Some("SIGTERM"));
        // asked before waiting: returns at once
        assert_eq!(req.stopped().await, "SIGTERM");
    }

    #[tokio::test]
    async fn no_handle_no_stop() {
        let (handle, req) = StopHandle::new();
        drop(handle);
        let r = tokio::time::timeout(Duration::from_millis(50), req.stopped()).await;
        assert!(r.is_err(), "a dropped handle is no stop");
        let none = tokio::time::timeout(Duration::from_millis(20), stopped(None)).await;
        assert!(none.is_err());
    }
}
