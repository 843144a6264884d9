//! The simulated cloud's one test binary: HTTP API behaviour per service (`api`, `services`),
//! limits and quota enforcement (`quotas`), fault injection (`faults`), fixture loading (`fixtures`) and the `simcloud` binary
//! (`binary`). One binary links the crate once instead of five times.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod binary;
mod faults;
mod fixtures;
mod quotas;
mod services;
