//! Keys, signatures and the trust root: everything that decides *who* the
//! host believes.
//!
//! Owns: OpenSSH ed25519 key files ([`keys`]), SSHSIG signatures exactly as
//! `ssh-keygen -Y sign|verify` make and check them ([`sshsig`]), OpenSSH
//! `allowed_signers` files ([`allowed_signers`]), the versioned trust root
//! `root.json` with roles, thresholds, expiry and delegations ([`root`]), and
//! the rollback state (highest accepted bundle sequence per name, [`state`]).
//!
//! Must never: read the network, ship or embed a secret key, print or exit
//! (that is the `scs-cert` binary, `cli/`), run or compile a component, or
//! treat a signature as trusted merely because it verifies: [`sshsig::verify`]
//! only says *which* key signed; the caller decides whether that key is
//! trusted (through [`root`] or [`allowed_signers`]).

pub mod allowed_signers;
pub mod keys;
pub mod root;
pub mod sshsig;
pub mod state;

/// Every error of the trust layer. Each submodule has its own enum; this one
/// wraps them so callers can use one `?` (and `#[from]`) for the whole layer.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// Key files and passphrases.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// SSHSIG signing and verification.
    #[error(transparent)]
    Sig(#[from] sshsig::SigError),
    /// allowed_signers parsing and lookup.
    #[error(transparent)]
    Signers(#[from] allowed_signers::SignersError),
    /// The trust root.
    #[error(transparent)]
    Root(#[from] root::RootError),
    /// The rollback state file.
    #[error(transparent)]
    State(#[from] state::StateError),
}
