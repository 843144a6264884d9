//! Where the built check components are. `build.rs` builds them for
//! wasm32-wasip2 (nested cargo, own target dir) whenever checks/ (the WIT contract included) or
//! tests/guests/ change, so tests find them without any manual step.

include!(concat!(env!("OUT_DIR"), "/paths.rs"));
