//! Cinder volume types, read over the host's mediated `openstack` interface.
//!
//! Owns: the volume-type list as the official suite reads it
//! (`GET /v3/{project}/types`, the types visible to the caller, every page),
//! through the catalog type `block-storage` (the host resolves it to the
//! cloud's Cinder v3 entry).
//!
//! Must never: write to Cinder, or interpret the type descriptions (that is
//! the checks' business; the raw JSON value is kept).

use crate::json::Field;
use crate::openstack::{ApiError, NextStyle, Request, list_all};
use serde_json::Value;

/// Catalog service type used for Cinder requests (the module's [`super::SERVICE`]).
pub const BLOCK_STORAGE: &str = super::SERVICE;

/// One volume type.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeType {
    /// Type id.
    pub id: String,
    /// Name (None when missing or null).
    pub name: Option<String>,
    /// `description` exactly as returned (`Value::Null` when missing); Cinder
    /// gives a string or null.
    pub description: Value,
}

/// All volume types visible to the caller (`GET types`, shared, following
/// `volume_types_links`).
pub fn volume_types() -> Result<Vec<VolumeType>, ApiError> {
    let first = Request::get(BLOCK_STORAGE, "types").shared();
    let what = first.describe();
    let raw = list_all(first, "volume_types", NextStyle::Links)?;
    let mut out = Vec::with_capacity(raw.len());
    for (i, v) in raw.iter().enumerate() {
        let f = Field::at(&what, format!("volume_types[{i}]"), v);
        f.object()?;
        out.push(VolumeType {
            id: f.get("id").opt_string()?.unwrap_or_default(),
            name: f.get("name").opt_string()?,
            description: f.get("description").value().cloned().unwrap_or(Value::Null),
        });
    }
    Ok(out)
}
