//! SSHSIG signatures, byte-compatible with `ssh-keygen -Y sign|verify`.
//!
//! Owns: making an armored signature (`-----BEGIN SSH SIGNATURE-----`, sha512,
//! 70-column lines, trailing newline: exactly what `ssh-keygen -Y sign`
//! writes, so ed25519 signatures are byte-identical), checking one against a
//! message and namespace, and naming keys by their `SHA256:` fingerprint.
//!
//! Must never: decide whether a signer is trusted ([`verify`] returns the key
//! that signed; the trust root or an allowed_signers file decides), accept a
//! signature for another namespace, or sign with an encrypted key.

use super::TrustError;
use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

/// Largest armored signature accepted (an ed25519 one is ~300 bytes).
pub(crate) const MAX_ARMORED_BYTES: usize = 16 << 10;

/// Errors of signing and verifying.
#[derive(Debug, thiserror::Error)]
pub enum SigError {
    /// The private key is still encrypted.
    #[error("the private key is passphrase-protected; decrypt it before signing")]
    Encrypted,
    /// Not ed25519.
    #[error("{0} keys are not accepted; scs-cert uses ed25519 keys only")]
    Algorithm(String),
    /// The empty namespace.
    #[error("the signature namespace must not be empty")]
    EmptyNamespace,
    /// Signing failed.
    #[error("cannot sign: {0}")]
    Sign(String),
    /// Not an armored SSHSIG.
    #[error("not an SSH signature (-----BEGIN SSH SIGNATURE-----): {0}")]
    Malformed(String),
    /// Namespace differs.
    #[error("signature is for namespace {found:?}, expected {expected:?}")]
    Namespace {
        /// In the signature.
        found: String,
        /// Asked for.
        expected: String,
    },
    /// Hash algorithm not allowed.
    #[error("signature uses hash {0}; expected sha512 or sha256")]
    Hash(String),
    /// The signature does not match the message.
    #[error("signature by {key_id} does not match the signed data")]
    Invalid {
        /// Who claims to have signed.
        key_id: String,
    },
}

/// Sign `msg` in `namespace` with sha512, armored like `ssh-keygen -Y sign`.
pub fn sign(key: &PrivateKey, namespace: &str, msg: &[u8]) -> Result<String, TrustError> {
    if key.is_encrypted() {
        return Err(SigError::Encrypted.into());
    }
    if key.algorithm() != Algorithm::Ed25519 {
        return Err(SigError::Algorithm(crate::errtext::untrusted_message(
            key.algorithm().as_ref(),
        ))
        .into());
    }
    if namespace.is_empty() {
        return Err(SigError::EmptyNamespace.into());
    }
    let sig = key
        .sign(namespace, HashAlg::Sha512, msg)
        .map_err(|e| SigError::Sign(e.to_string()))?;
    let mut pem = sig
        .to_pem(LineEnding::LF)
        .map_err(|e| SigError::Sign(e.to_string()))?;
    if !pem.ends_with('\n') {
        pem.push('\n');
    }
    Ok(pem)
}

/// Parse an armored signature without checking it (e.g. to show its signer).
pub fn parse(armored: &str) -> Result<SshSig, TrustError> {
    if armored.len() > MAX_ARMORED_BYTES {
        return Err(SigError::Malformed(format!(
            "{} bytes; the limit is {MAX_ARMORED_BYTES}",
            armored.len()
        ))
        .into());
    }
    SshSig::from_pem(armored.trim().as_bytes())
        .map_err(|e| SigError::Malformed(crate::errtext::untrusted_message(&e.to_string())).into())
}

/// Check `armored` over `msg` in `namespace`; returns the key that signed.
/// Only says the signature is valid for *that* key: whether the key is
/// trusted is the caller's decision.
pub fn verify(armored: &str, msg: &[u8], namespace: &str) -> Result<PublicKey, TrustError> {
    let sig = parse(armored)?;
    if sig.namespace() != namespace {
        return Err(SigError::Namespace {
            found: sig.namespace().to_string(),
            expected: namespace.to_string(),
        }
        .into());
    }
    if !matches!(sig.hash_alg(), HashAlg::Sha512 | HashAlg::Sha256) {
        return Err(SigError::Hash(sig.hash_alg().to_string()).into());
    }
    let key = PublicKey::new(sig.public_key().clone(), "");
    if key.algorithm() != Algorithm::Ed25519 {
        return Err(SigError::Algorithm(crate::errtext::untrusted_message(
            key.algorithm().as_ref(),
        ))
        .into());
    }
    key.verify(namespace, msg, &sig)
        .map_err(|_| SigError::Invalid {
            key_id: key_id(&key),
        })?;
    Ok(key)
}

/// The key's `SHA256:<base64>` fingerprint, as `ssh-keygen -l` prints it.
pub fn key_id(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::keys::generate_ed25519;

    #[test]
    fn sign_verify_roundtrip() {
        let k = generate_ed25519("t");
        let s = sign(&k, "scs-cert-bundle", b"hello").expect("sign");
        assert!(s.starts_with("-----BEGIN SSH SIGNATURE-----\n"), "{s}");
        assert!(s.ends_with("-----END SSH SIGNATURE-----\n"), "{s}");
        assert!(s.lines().all(|l| l.len() <= 70), "{s}");
        let who = verify(&s, b"hello", "scs-cert-bundle").expect("verify");
        assert_eq!(who.key_data(), k.public_key().key_data());
        assert_eq!(key_id(&who), key_id(k.public_key()));
        assert!(key_id(&who).starts_with("SHA256:"));

        let e = verify(&s, b"hellO", "scs-cert-bundle").expect_err("msg");
        assert!(e.to_string().contains("does not match"), "{e}");
        let e = verify(&s, b"hello", "report").expect_err("ns");
        assert!(e.to_string().contains("namespace"), "{e}");
        let e = verify("junk", b"hello", "report").expect_err("junk");
        assert!(e.to_string().contains("not an SSH signature"), "{e}");
        assert!(sign(&k, "", b"x").is_err());
    }

    #[test]
    fn deterministic() {
        let k = generate_ed25519("t");
        assert_eq!(
            sign(&k, "n", b"m").expect("a"),
            sign(&k, "n", b"m").expect("b")
        );
    }
}
