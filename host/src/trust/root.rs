//! The trust root (placeholder while the SSH layer lands).

/// Errors of the trust root.
#[derive(Debug, thiserror::Error)]
pub enum RootError {
    /// Placeholder.
    #[error("{0}")]
    Invalid(String),
}
