//! Fuzz target `exec_credential`: see `scs_cert_host::untrusted::Input::ExecCredential`.
#![no_main]
use scs_cert_host::untrusted::{Input, parse};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = parse(Input::ExecCredential, data) {
        assert!(!e.contains('\n'), "a refusal of more than one line: {e:?}");
    }
});
