//! Signed check bundles: build, sign, verify, tamper matrix, reproducibility.
