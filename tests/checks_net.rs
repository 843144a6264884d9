//! Verdict-table tests of check components (being written).

#[path = "common/mod.rs"]
mod common;
