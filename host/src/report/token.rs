//! Credentials for the compliance monitor.
//!
//! Owns: reading the token (base64 of `subject:password`, the official
//! runner's token file format, used verbatim after `Basic `) from the
//! environment variable `SCS_MONITOR_TOKEN` or from a file, and checking
//! that it is well formed.
//!
//! Must never: take the token from a command-line argument (it would show
//! in `ps`), print or log it, or put it into an error message.

use base64::Engine as _;
use std::path::Path;

/// The environment variable holding the token.
pub(crate) const TOKEN_ENV: &str = "SCS_MONITOR_TOKEN";

/// Errors reading the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Neither a file nor the variable.
    #[error(
        "no monitor credentials: set {TOKEN_ENV} to base64 of subject:password \
         (printf 'SUBJECT:PASSWORD' | base64) or pass --token-file PATH"
    )]
    Missing,
    /// Unreadable token file.
    #[error("{path}: cannot read the monitor token: {message}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        message: String,
    },
    /// Not base64 of `subject:password`.
    #[error(
        "{source_name}: not a monitor token: {why}; it must be base64 of subject:password \
         (printf 'SUBJECT:PASSWORD' | base64)"
    )]
    Malformed {
        /// File path or variable name.
        source_name: String,
        /// What is wrong.
        why: &'static str,
    },
}

/// A monitor token. Debug output shows the subject, never the secret.
#[derive(Clone)]
pub struct MonitorToken {
    value: String,
    subject: String,
    source_name: String,
}

impl std::fmt::Debug for MonitorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorToken")
            .field("subject", &self.subject)
            .field("source", &self.source_name)
            .finish_non_exhaustive()
    }
}

impl MonitorToken {
    /// Check and wrap token text from `source_name` (surrounding whitespace,
    /// e.g. the file's trailing newline, is dropped).
    pub fn parse(text: &str, source_name: &str) -> Result<MonitorToken, TokenError> {
        let malformed = |why| TokenError::Malformed {
            source_name: source_name.to_string(),
            why,
        };
        let value = text.trim();
        if value.is_empty() {
            return Err(malformed("it is empty"));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|_| malformed("it is not base64"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| malformed("it is not UTF-8"))?;
        let (subject, password) = decoded
            .split_once(':')
            .ok_or_else(|| malformed("the decoded text has no ':'"))?;
        if subject.is_empty() || password.is_empty() {
            return Err(malformed("the subject or the password is empty"));
        }
        Ok(MonitorToken {
            value: value.to_string(),
            subject: subject.to_string(),
            source_name: source_name.to_string(),
        })
    }

    /// From `file` if given, else from `$SCS_MONITOR_TOKEN`.
    pub fn load(file: Option<&Path>) -> Result<MonitorToken, TokenError> {
        Self::load_with(file, std::env::var(TOKEN_ENV).ok())
    }

    /// [`MonitorToken::load`] with the variable's value passed in (tests).
    pub(crate) fn load_with(
        file: Option<&Path>,
        env: Option<String>,
    ) -> Result<MonitorToken, TokenError> {
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| TokenError::Read {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            warn_if_readable_by_others(path);
            return Self::parse(&text, &path.display().to_string());
        }
        match env.filter(|v| !v.trim().is_empty()) {
            Some(v) => Self::parse(&v, TOKEN_ENV),
            None => Err(TokenError::Missing),
        }
    }

    /// The account the token authenticates as.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Where it came from (file path or variable name).
    #[cfg(test)]
    pub(crate) fn source_name(&self) -> &str {
        &self.source_name
    }

    /// The `Authorization` header value.
    pub fn authorization(&self) -> String {
        format!("Basic {}", self.value)
    }
}

fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            "{}: the monitor token file is readable by group or others; chmod 600 it",
            path.display()
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_reject() {
        // printf 'testcloud:PW' | base64
        let t = MonitorToken::parse("dGVzdGNsb3VkOlBX\n", "f").unwrap();
        assert_eq!(t.subject(), "testcloud");
        assert_eq!(t.authorization(), "Basic dGVzdGNsb3VkOlBX");
        assert!(!format!("{t:?}").contains("dGVzdGNsb3VkOlBX"));
        for (bad, why) in [
            ("", "empty"),
            ("***", "not base64"),
            ("dGVzdGNsb3Vk", "no ':'"),
            ("OlBX", "empty"),
        ] {
            let e = MonitorToken::parse(bad, "tok").unwrap_err().to_string();
            assert!(e.starts_with("tok: not a monitor token"), "{e}");
            assert!(e.contains(why), "{bad}: {e}");
        }
        let e = MonitorToken::load_with(None, None).unwrap_err().to_string();
        assert!(e.contains("SCS_MONITOR_TOKEN"), "{e}");
        let t = MonitorToken::load_with(None, Some("dGVzdGNsb3VkOlBX".into())).unwrap();
        assert_eq!(t.source_name(), TOKEN_ENV);
        let e = MonitorToken::load_with(Some(Path::new("/nonexistent/tok")), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/nonexistent/tok: cannot read the monitor token"),
            "{e}"
        );
    }
}
