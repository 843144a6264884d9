//! The crate's error type: fixture loading and validation, binding, server threads, clouds.yaml.

use std::path::PathBuf;

/// Everything that can go wrong outside of request handling (requests never fail the server).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The fixture file could not be read.
    #[error("cannot read fixture {path}: {source}")]
    Read {
        /// The file that was read.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The fixture is not valid YAML or does not match the fixture model.
    #[error("invalid fixture YAML: {0}")]
    Yaml(String),
    /// The fixture parsed but is inconsistent (duplicate ids, unknown user, ...).
    #[error("invalid fixture: {0}")]
    Invalid(String),
    /// The listening socket could not be bound.
    #[error("cannot bind 127.0.0.1:{port}: {source}")]
    Bind {
        /// The requested port (0 = any).
        port: u16,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The background runtime or thread of a blocking server failed.
    #[error("simcloud server thread: {0}")]
    Runtime(String),
    /// A clouds.yaml was requested for a user or application credential the fixture lacks.
    #[error("unknown credential: {0}")]
    UnknownCredential(String),
}
