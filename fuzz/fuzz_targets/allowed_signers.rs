//! Fuzz target `allowed_signers`: see `scs_cert_host::untrusted::Input::AllowedSigners`.
#![no_main]
use scs_cert_host::untrusted::{Input, parse};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = parse(Input::AllowedSigners, data) {
        assert!(!e.contains('\n'), "a refusal of more than one line: {e:?}");
    }
});
