//! Check component for scs-0117 (work in progress: every testcase ABORTs
//! with "not implemented yet" until the decision logic lands).

#![allow(unsafe_code)] // generated export glue only

use scs_check_sdk::{self as sdk, TestcaseResult};

struct Check;

impl scs_check_sdk::bindings::Guest for Check {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        sdk::install_panic_hook();
        sdk::run_testcases(&testcases, |_| Some(Err("not implemented yet".to_string())))
    }
}

scs_check_sdk::bindings::export_check!(Check);
