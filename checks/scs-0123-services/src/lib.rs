//! Check component for scs-0123 (mandatory and supported IaaS services).
//!
//! Owns: the service-presence testcases of scs-0123 v1 and v2 (behaviour
//! notes d.10 and h.2): a testcase passes iff at least one entry of the
//! token's catalog has one of its service types, with or without endpoints.
//! `scs-0123-swift-s3` (the S3 probe) is not implemented in this version and
//! is reported as ABORT with that reason, never as a pass.
//!
//! Must never: create anything in the cloud, or treat a missing catalog
//! entry as anything but FAIL.

#![allow(unsafe_code)] // generated export glue only

use scs_check_sdk::openstack::{catalog, catalog_has_any};
use scs_check_sdk::{self as sdk, TestcaseResult};

/// Service types per presence testcase (d.10).
pub fn types_for(testcase: &str) -> Option<&'static [&'static str]> {
    Some(match testcase {
        "scs-0123-service-compute" => &["compute"],
        "scs-0123-service-identity" => &["identity"],
        "scs-0123-service-image" => &["image"],
        "scs-0123-service-network" => &["network"],
        "scs-0123-service-load-balancer" => &["load-balancer"],
        "scs-0123-service-placement" => &["placement"],
        "scs-0123-storage-apis" => &["volume", "volumev3", "block-storage"],
        "scs-0123-service-s3" => &["object-store-s3"],
        _ => return None,
    })
}

/// Decide a presence testcase from the catalog's service types.
pub fn presence(testcase: &str, present_types: &[&str]) -> Option<Result<bool, String>> {
    let types = types_for(testcase)?;
    Some(Ok(types.iter().any(|t| present_types.contains(t))))
}

struct Check;

impl scs_check_sdk::bindings::Guest for Check {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        sdk::install_panic_hook();
        let cat = catalog();
        sdk::run_testcases(&testcases, |id| {
            if id == "scs-0123-swift-s3" {
                return Some(Err(
                    "the S3 probe is not implemented in this version of the check".to_string(),
                ));
            }
            let types = types_for(id)?;
            let ok = catalog_has_any(&cat, types);
            if !ok {
                sdk::error(&format!("No service of type(s) {} found", types.join(", ")));
            }
            Some(Ok(ok))
        })
    }
}

scs_check_sdk::bindings::export_check!(Check);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_rules() {
        assert_eq!(
            presence("scs-0123-service-compute", &["compute"]),
            Some(Ok(true))
        );
        assert_eq!(
            presence("scs-0123-service-compute", &["computev2"]),
            Some(Ok(false))
        );
        for t in ["volume", "volumev3", "block-storage"] {
            assert_eq!(
                presence("scs-0123-storage-apis", &[t]),
                Some(Ok(true)),
                "{t}"
            );
        }
        // h.7: volumev2 is not accepted by the storage-apis testcase
        assert_eq!(
            presence("scs-0123-storage-apis", &["volumev2"]),
            Some(Ok(false))
        );
        assert_eq!(
            presence("scs-0123-service-s3", &["object-store"]),
            Some(Ok(false))
        );
        assert_eq!(
            presence("scs-0123-service-s3", &["object-store-s3"]),
            Some(Ok(true))
        );
        assert_eq!(presence("scs-0123-unknown", &["compute"]), None);
    }
}
