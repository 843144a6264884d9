//! The one integration-test binary of the host library and the `scs-cert` binary.
//!
//! One binary instead of one per file: each test binary links wasmtime, reqwest and
//! the simulated cloud again, so eleven of them cost minutes of linking. Each module is
//! one concern; `common` holds the helpers (simulated clouds, real components, running
//! the binary). The real-OpenStack tier (`tests/realcloud.rs`) stays a binary of its own,
//! because it needs services that `cargo xtask test` starts first.
//!
//! Run one module: `cargo test --test integration e2e::` (a name filter).

#[path = "../common/mod.rs"]
mod common;

mod bundle;
mod checks_net;
mod checks_read;
mod checks_write;
mod contributor;
mod credentials;
mod data;
mod e2e;
mod kaas;
mod kube;
mod mediation;
mod python;
mod replay;
mod reports;
mod sandbox;
mod scheduling;
mod scope;
mod sonobuoy;
mod trust;
mod views;
