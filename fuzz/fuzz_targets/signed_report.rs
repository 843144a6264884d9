//! Fuzz target `signed_report`: see `scs_cert_host::untrusted::Input::SignedReport`.
#![no_main]
use scs_cert_host::untrusted::{Input, parse};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = parse(Input::SignedReport, data) {
        assert!(!e.contains('\n'), "a refusal of more than one line: {e:?}");
    }
});
