//! Why a bundle is refused: the [`Reason`] (one rule, one exit code in 20..=40) and the
//! [`Refusal`] (the reason and one line saying what exactly). Every step of reading and
//! verifying a bundle (archive, manifest, signatures, trust root, state) refuses with these.
//!
//! Must never: depend on the steps that use it (it is the leaf the others share).

/// Why a bundle was refused. Each has its own exit code (20..=40).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Not a readable bundle (zstd, tar, manifest syntax, wrong type).
    Malformed,
    /// `..`, absolute paths, links, non-regular entries, duplicates.
    UnsafeEntry,
    /// An entry, the total or the archive is over its cap.
    Oversize,
    /// A file the manifest does not list.
    UnlistedFile,
    /// A file the manifest lists is absent.
    MissingFile,
    /// A file's sha256 or size differs from the manifest.
    DigestMismatch,
    /// No signature.
    Unsigned,
    /// A signature does not verify over the manifest.
    BadSignature,
    /// Signed only by keys outside the trust root.
    UnknownKey,
    /// Signed by keys that expired.
    KeyExpired,
    /// Too few trusted signatures.
    Threshold,
    /// A delegated key signed a check outside its prefixes: its id, a
    /// testcase id it lists, or its standard.
    DelegationPrefix,
    /// A delegated key signed a capability it may not grant.
    DelegationCapability,
    /// A delegated key signed files outside checks/.
    DelegationScope,
    /// The bundle has expired.
    Expired,
    /// Older than (or a fork of) an accepted sequence.
    Rollback,
    /// The trust root (or a rotation in the bundle's history) is invalid.
    RootInvalid,
    /// The trust root has expired.
    RootExpired,
    /// Needs a newer host or another WIT package.
    Incompatible,
    /// A check.json is invalid or the checks/ layout is wrong.
    CheckMetadata,
    /// The rollback state could not be read or written.
    State,
}

impl Reason {
    /// Short stable name, printed first in a refusal.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::UnsafeEntry => "unsafe-entry",
            Reason::Oversize => "oversize",
            Reason::UnlistedFile => "unlisted-file",
            Reason::MissingFile => "missing-file",
            Reason::DigestMismatch => "digest-mismatch",
            Reason::Unsigned => "unsigned",
            Reason::BadSignature => "bad-signature",
            Reason::UnknownKey => "unknown-key",
            Reason::KeyExpired => "key-expired",
            Reason::Threshold => "threshold",
            Reason::DelegationPrefix => "delegation-prefix",
            Reason::DelegationCapability => "delegation-capability",
            Reason::DelegationScope => "delegation-scope",
            Reason::Expired => "expired",
            Reason::Rollback => "rollback",
            Reason::RootInvalid => "root-invalid",
            Reason::RootExpired => "root-expired",
            Reason::Incompatible => "incompatible",
            Reason::CheckMetadata => "check-metadata",
            Reason::State => "state",
        }
    }

    /// Process exit code of `bundle verify` and `run` for this refusal.
    pub fn exit_code(self) -> u8 {
        match self {
            Reason::Malformed => 20,
            Reason::UnsafeEntry => 21,
            Reason::Oversize => 22,
            Reason::UnlistedFile => 23,
            Reason::MissingFile => 24,
            Reason::DigestMismatch => 25,
            Reason::Unsigned => 26,
            Reason::BadSignature => 27,
            Reason::UnknownKey => 28,
            Reason::KeyExpired => 29,
            Reason::Threshold => 30,
            Reason::DelegationPrefix => 31,
            Reason::DelegationCapability => 32,
            Reason::DelegationScope => 33,
            Reason::Expired => 34,
            Reason::Rollback => 35,
            Reason::RootInvalid => 36,
            Reason::RootExpired => 37,
            Reason::Incompatible => 38,
            Reason::CheckMetadata => 39,
            Reason::State => 40,
        }
    }

    /// Every reason, in exit-code order (for docs and tests).
    #[cfg(test)]
    pub(crate) const ALL: [Reason; 21] = [
        Reason::Malformed,
        Reason::UnsafeEntry,
        Reason::Oversize,
        Reason::UnlistedFile,
        Reason::MissingFile,
        Reason::DigestMismatch,
        Reason::Unsigned,
        Reason::BadSignature,
        Reason::UnknownKey,
        Reason::KeyExpired,
        Reason::Threshold,
        Reason::DelegationPrefix,
        Reason::DelegationCapability,
        Reason::DelegationScope,
        Reason::Expired,
        Reason::Rollback,
        Reason::RootInvalid,
        Reason::RootExpired,
        Reason::Incompatible,
        Reason::CheckMetadata,
        Reason::State,
    ];
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A refused bundle: the reason and one line saying what exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct Refusal {
    /// The rule broken.
    pub reason: Reason,
    /// What exactly.
    pub message: String,
}

impl Refusal {
    /// A refusal.
    /// A refusal; `message` may quote the bundle's bytes, so it is made one bounded line
    /// ([`crate::errtext::untrusted_message`]).
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: crate::errtext::untrusted_message(&message.into()),
        }
    }
}
