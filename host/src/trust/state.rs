//! Rollback state (placeholder while the SSH layer lands).

/// Errors of the state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Placeholder.
    #[error("{0}")]
    Invalid(String),
}
