//! Test-only component built against the previous contract, `scs:check@0.1.0` (a copy of
//! `wit/check.wit` as it was before 0.1.1 added `kubernetes` and `data`, kept in `wit/` here).
//! It logs a line, reads the clock and lists the flavors through `openstack`; PASS when the
//! flavor list answered 200. The host must keep running such components (issue 10: 0.1.1
//! only extends 0.1.0). Never part of a released bundle.

#![allow(unsafe_code)] // generated export glue only

wit_bindgen::generate!({
    world: "check",
    path: "wit",
});

use scs::check::types::{Level, Verdict};
use scs::check::{clock, log, openstack};

struct Old;

impl Guest for Old {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        log::emit(Level::Info, "built against scs:check@0.1.0");
        let now = clock::now();
        let listed = openstack::send(&openstack::Request {
            service_type: "compute".to_string(),
            method: openstack::Method::Get,
            path: "flavors".to_string(),
            query: vec![],
            headers: vec![],
            body: None,
            anchor: openstack::Anchor::Endpoint,
            shared: false,
        });
        let (verdict, message) = match listed {
            Ok(r) if r.status == 200 => (Verdict::Pass, format!("flavors listed at {now}")),
            Ok(r) => (Verdict::Fail, format!("flavors: HTTP {}", r.status)),
            Err(_) => (Verdict::Fail, "flavors: error".to_string()),
        };
        testcases
            .into_iter()
            .map(|id| TestcaseResult {
                id,
                verdict,
                message: message.clone(),
            })
            .collect()
    }
}

export!(Old);
