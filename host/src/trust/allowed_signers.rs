//! OpenSSH `allowed_signers` files (ssh-keygen(1), "ALLOWED SIGNERS").
//!
//! Owns: parsing `principals [options] keytype base64 [comment]` lines
//! (principal pattern lists with `*`, `?` and `!negation`, quoted
//! principals, `#` comments, the options `namespaces="a,b"`,
//! `valid-after="YYYYMMDD[HHMM[SS]][Z]"` and `valid-before=...`), and finding
//! the entry that allows a key to sign for a principal and namespace at a
//! given time.
//!
//! Must never: accept `cert-authority` lines (scs-cert verifies plain keys,
//! not certificates: refused with a clear error rather than half-supported),
//! ignore an unknown option (OpenSSH refuses them too), or check signatures
//! (that is [`super::sshsig`]).

use super::TrustError;
use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};
use ssh_key::PublicKey;
use std::path::Path;

/// Largest allowed_signers file read.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// Errors of allowed_signers parsing and lookup.
#[derive(Debug, thiserror::Error)]
pub enum SignersError {
    /// File unreadable.
    #[error("{path}: cannot read: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A line is malformed.
    #[error("{source_name}:{line}: {message}")]
    Syntax {
        /// File name or `<input>`.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// No entry holds the key.
    #[error("key {key_id} is not listed in the allowed signers")]
    UnknownKey {
        /// The key.
        key_id: String,
    },
    /// The key is listed, but not for this principal.
    #[error("key {key_id} is not allowed to sign as {principal:?}")]
    Principal {
        /// The key.
        key_id: String,
        /// Asked principal.
        principal: String,
    },
    /// The key is listed, but not for this namespace.
    #[error("key {key_id} is not allowed to sign in namespace {namespace:?}")]
    Namespace {
        /// The key.
        key_id: String,
        /// Asked namespace.
        namespace: String,
    },
    /// Before valid-after.
    #[error("key {key_id} is not valid before {valid_after}")]
    NotYetValid {
        /// The key.
        key_id: String,
        /// Bound.
        valid_after: DateTime<Utc>,
    },
    /// After valid-before.
    #[error("key {key_id} expired at {valid_before}")]
    Expired {
        /// The key.
        key_id: String,
        /// Bound.
        valid_before: DateTime<Utc>,
    },
}

/// An OpenSSH `valid-after`/`valid-before` timestamp that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS` (optionally with `Z`), or not a real
    /// calendar time.
    #[error("{text:?} is not YYYYMMDD[HHMM[SS]][Z]")]
    Format {
        /// The timestamp as written.
        text: String,
    },
    /// A local time (no `Z`) that the local time zone skips.
    #[error("{text:?} does not exist in the local time zone")]
    NotLocalTime {
        /// The timestamp as written.
        text: String,
    },
}

/// What is wrong with one line; it becomes the message of [`SignersError::Syntax`], which adds
/// the file and the line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum LineError {
    #[error("unterminated quote")]
    UnterminatedQuote,
    #[error("text directly after a closing quote")]
    TextAfterQuote,
    #[error("empty principals")]
    EmptyPrincipals,
    #[error("missing key")]
    MissingKey,
    #[error("missing key after the options")]
    MissingKeyAfterOptions,
    #[error("empty option")]
    EmptyOption,
    #[error("unsupported option {name:?}")]
    UnsupportedOption { name: String },
    #[error("option {name} needs a value")]
    OptionWithoutValue { name: String },
    #[error("option {name}: value must be in double quotes")]
    OptionNotQuoted { name: String },
    #[error(
        "cert-authority entries are not supported: scs-cert verifies plain ed25519 keys, not certificates; list the signer's key instead"
    )]
    CertAuthority,
    #[error(transparent)]
    Timestamp(#[from] TimestampError),
    #[error("invalid key: {message}")]
    InvalidKey { message: String },
    #[error("{algorithm} keys are not supported; scs-cert uses ed25519 keys only")]
    NotEd25519 { algorithm: String },
}

/// One allowed_signers line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number.
    pub line: usize,
    /// Principal patterns (comma-separated list, as written).
    pub principals: String,
    /// `namespaces="..."` pattern list, if given.
    pub namespaces: Option<String>,
    /// `valid-after`, if given.
    pub valid_after: Option<DateTime<Utc>>,
    /// `valid-before`, if given.
    pub valid_before: Option<DateTime<Utc>>,
    /// The key.
    pub key: PublicKey,
}

/// A parsed allowed_signers file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedSigners {
    /// Entries in file order.
    pub entries: Vec<Entry>,
}

/// `*`/`?` wildcard match (OpenSSH `match_pattern`, case-sensitive).
pub(crate) fn match_pattern(s: &str, pattern: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            si += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Comma-separated pattern list with `!negation` (OpenSSH
/// `match_pattern_list`): true when some positive pattern matches and no
/// negated one does.
pub(crate) fn match_pattern_list(s: &str, list: &str) -> bool {
    let mut positive = false;
    for pat in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some(neg) = pat.strip_prefix('!') {
            if match_pattern(s, neg) {
                return false;
            }
        } else if match_pattern(s, pat) {
            positive = true;
        }
    }
    positive
}

/// Split off one whitespace-delimited token; `"..."` quotes group (and are
/// kept for options, removed for a token that is entirely quoted).
fn next_token(s: &str) -> Result<(String, &str), LineError> {
    let s = s.trim_start_matches([' ', '\t']);
    if let Some(rest) = s.strip_prefix('"') {
        let end = rest.find('"').ok_or(LineError::UnterminatedQuote)?;
        let after = &rest[end + 1..];
        if !(after.is_empty() || after.starts_with([' ', '\t'])) {
            return Err(LineError::TextAfterQuote);
        }
        return Ok((rest[..end].to_string(), after));
    }
    let mut in_quote = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            ' ' | '\t' if !in_quote => return Ok((s[..i].to_string(), &s[i..])),
            _ => {}
        }
    }
    if in_quote {
        return Err(LineError::UnterminatedQuote);
    }
    Ok((s.to_string(), ""))
}

fn looks_like_key_type(tok: &str) -> bool {
    tok.starts_with("ssh-")
        || tok.starts_with("ecdsa-")
        || tok.starts_with("sk-")
        || tok.starts_with("rsa-")
}

/// Parse `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, with a trailing `Z`
/// for UTC (otherwise local time, as ssh-keygen does): the `valid-after` and
/// `valid-before` format.
pub(crate) fn parse_openssh_timestamp(s: &str) -> Result<DateTime<Utc>, TimestampError> {
    let format_error = || TimestampError::Format {
        text: s.to_string(),
    };
    let (digits, utc) = match s.strip_suffix(['Z', 'z']) {
        Some(d) => (d, true),
        None => (s, false),
    };
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format_error());
    }
    let naive = match digits.len() {
        8 => NaiveDate::parse_from_str(digits, "%Y%m%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0)),
        12 => NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M").ok(),
        14 => NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").ok(),
        _ => None,
    }
    .ok_or_else(format_error)?;
    if utc {
        Ok(Utc.from_utc_datetime(&naive))
    } else {
        Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| TimestampError::NotLocalTime {
                text: s.to_string(),
            })
    }
}

#[derive(Default)]
struct Opts {
    namespaces: Option<String>,
    valid_after: Option<DateTime<Utc>>,
    valid_before: Option<DateTime<Utc>>,
}

fn parse_options(tok: &str) -> Result<Opts, LineError> {
    let mut opts = Opts::default();
    // Split on commas outside quotes.
    let mut parts = Vec::new();
    let (mut start, mut in_quote) = (0usize, false);
    for (i, c) in tok.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            ',' if !in_quote => {
                parts.push(&tok[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tok[start..]);
    for part in parts {
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (n.to_ascii_lowercase(), Some(v)),
            None => (part.to_ascii_lowercase(), None),
        };
        let quoted = |v: Option<&str>| -> Result<String, LineError> {
            let v = v.ok_or_else(|| LineError::OptionWithoutValue { name: name.clone() })?;
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_string)
                .ok_or_else(|| LineError::OptionNotQuoted { name: name.clone() })
        };
        match name.as_str() {
            "cert-authority" => return Err(LineError::CertAuthority),
            "namespaces" => opts.namespaces = Some(quoted(value)?),
            "valid-after" => opts.valid_after = Some(parse_openssh_timestamp(&quoted(value)?)?),
            "valid-before" => opts.valid_before = Some(parse_openssh_timestamp(&quoted(value)?)?),
            "" => return Err(LineError::EmptyOption),
            other => {
                return Err(LineError::UnsupportedOption {
                    name: other.to_string(),
                });
            }
        }
    }
    Ok(opts)
}

fn parse_line(line: &str) -> Result<Option<(String, Opts, PublicKey)>, LineError> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    let (principals, rest) = next_token(t)?;
    if principals.is_empty() {
        return Err(LineError::EmptyPrincipals);
    }
    let (tok, after) = next_token(rest)?;
    if tok.is_empty() {
        return Err(LineError::MissingKey);
    }
    let (opts, key_text) = if looks_like_key_type(&tok) {
        (Opts::default(), rest.trim())
    } else {
        (parse_options(&tok)?, after.trim())
    };
    if key_text.is_empty() {
        return Err(LineError::MissingKeyAfterOptions);
    }
    let key = super::keys::parse_public_key(key_text).map_err(|e| match e {
        super::keys::ParsePublicError::Parse(message) => LineError::InvalidKey {
            message: crate::errtext::untrusted_message(&message),
        },
        super::keys::ParsePublicError::Algorithm(algorithm) => LineError::NotEd25519 { algorithm },
    })?;
    Ok(Some((principals, opts, key)))
}

impl AllowedSigners {
    /// Parse the text of a file; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, TrustError> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let parsed = parse_line(line).map_err(|e| SignersError::Syntax {
                source_name: source_name.to_string(),
                line: i + 1,
                message: e.to_string(),
            })?;
            if let Some((principals, opts, key)) = parsed {
                entries.push(Entry {
                    line: i + 1,
                    principals,
                    namespaces: opts.namespaces,
                    valid_after: opts.valid_after,
                    valid_before: opts.valid_before,
                    key,
                });
            }
        }
        Ok(Self { entries })
    }

    /// Read and parse a file.
    pub fn load(path: &Path) -> Result<Self, TrustError> {
        let read_err = |message: String| SignersError::Read {
            path: path.display().to_string(),
            message,
        };
        let meta = std::fs::metadata(path).map_err(|e| read_err(e.to_string()))?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(read_err(format!("larger than {MAX_FILE_BYTES} bytes")).into());
        }
        let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The first entry that lets `key` sign in `namespace` at `at` (for
    /// `principal`, or for any principal when `None`). The error names the
    /// most specific reason a listed key was refused.
    pub fn find(
        &self,
        principal: Option<&str>,
        key: &PublicKey,
        namespace: &str,
        at: DateTime<Utc>,
    ) -> Result<&Entry, TrustError> {
        let key_id = super::sshsig::key_id(key);
        let mut first_refusal: Option<SignersError> = None;
        for e in self
            .entries
            .iter()
            .filter(|e| e.key.key_data() == key.key_data())
        {
            let refusal =
                if let Some(p) = principal.filter(|p| !match_pattern_list(p, &e.principals)) {
                    Some(SignersError::Principal {
                        key_id: key_id.clone(),
                        principal: p.to_string(),
                    })
                } else if e
                    .namespaces
                    .as_deref()
                    .is_some_and(|ns| !match_pattern_list(namespace, ns))
                {
                    Some(SignersError::Namespace {
                        key_id: key_id.clone(),
                        namespace: namespace.to_string(),
                    })
                } else if let Some(va) = e.valid_after.filter(|va| at < *va) {
                    Some(SignersError::NotYetValid {
                        key_id: key_id.clone(),
                        valid_after: va,
                    })
                } else {
                    e.valid_before
                        .filter(|vb| at > *vb)
                        .map(|vb| SignersError::Expired {
                            key_id: key_id.clone(),
                            valid_before: vb,
                        })
                };
            match refusal {
                None => return Ok(e),
                Some(r) => {
                    first_refusal.get_or_insert(r);
                }
            }
        }
        Err(first_refusal
            .unwrap_or(SignersError::UnknownKey { key_id })
            .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::keys::generate_ed25519;

    fn publine(k: &ssh_key::PrivateKey) -> String {
        k.public_key().to_openssh().expect("openssh")
    }

    #[test]
    fn patterns() {
        assert!(match_pattern("alice@example.com", "*@example.com"));
        assert!(match_pattern("a", "?"));
        assert!(!match_pattern("ab", "?"));
        assert!(match_pattern("", "*"));
        assert!(match_pattern("abcabd", "*abd"));
        assert!(!match_pattern("Alice", "alice"));
        assert!(match_pattern_list("bob@x", "alice@x,bob@*"));
        assert!(!match_pattern_list("bob@x", "*,!bob@x"));
        assert!(!match_pattern_list("bob@x", "!carol"));
    }

    #[test]
    fn times() {
        let t = parse_openssh_timestamp("20240102Z").expect("date");
        assert_eq!(t.to_rfc3339(), "2024-01-02T00:00:00+00:00");
        let t = parse_openssh_timestamp("202401021314Z").expect("hm");
        assert_eq!(t.to_rfc3339(), "2024-01-02T13:14:00+00:00");
        let t = parse_openssh_timestamp("20240102131415Z").expect("hms");
        assert_eq!(t.to_rfc3339(), "2024-01-02T13:14:15+00:00");
        assert!(parse_openssh_timestamp("2024010").is_err());
        assert!(parse_openssh_timestamp("20241399Z").is_err());
        assert!(parse_openssh_timestamp("20240102").is_ok());
    }

    #[test]
    fn parse_and_find() {
        let a = generate_ed25519("a");
        let b = generate_ed25519("b");
        let c = generate_ed25519("c");
        let text = format!(
            "# comment\n\n\
             alice@example.com,*@ops.example {}\n\
             \"bob@example.com\" namespaces=\"scs-cert-bundle,report\",valid-after=\"20200101Z\",valid-before=\"20300101Z\" {}\n\
             carol@example.com valid-before=\"20200101Z\" {}\n",
            publine(&a),
            publine(&b),
            publine(&c)
        );
        let s = AllowedSigners::parse(&text, "as").expect("parse");
        assert_eq!(s.entries.len(), 3);
        assert_eq!(s.entries[1].principals, "bob@example.com");
        let now = parse_openssh_timestamp("20250601Z").expect("t");
        let ka = a.public_key();
        assert_eq!(
            s.find(Some("alice@example.com"), ka, "x", now)
                .expect("a")
                .line,
            3
        );
        assert!(s.find(Some("eve@ops.example"), ka, "x", now).is_ok());
        assert!(s.find(None, ka, "x", now).is_ok());
        let e = s.find(Some("mallory"), ka, "x", now).expect_err("p");
        assert!(e.to_string().contains("not allowed to sign as"), "{e}");
        let kb = b.public_key();
        assert!(s.find(Some("bob@example.com"), kb, "report", now).is_ok());
        let e = s
            .find(Some("bob@example.com"), kb, "git", now)
            .expect_err("ns");
        assert!(e.to_string().contains("namespace"), "{e}");
        let e = s
            .find(
                Some("bob@example.com"),
                kb,
                "report",
                parse_openssh_timestamp("20190101Z").expect("t"),
            )
            .expect_err("early");
        assert!(e.to_string().contains("not valid before"), "{e}");
        let e = s
            .find(Some("carol@example.com"), c.public_key(), "report", now)
            .expect_err("late");
        assert!(e.to_string().contains("expired"), "{e}");
        let d = generate_ed25519("d");
        let e = s
            .find(None, d.public_key(), "report", now)
            .expect_err("unknown");
        assert!(e.to_string().contains("not listed"), "{e}");
    }

    #[test]
    fn refusals() {
        let a = generate_ed25519("a");
        let ca = format!("*@example.com cert-authority {}\n", publine(&a));
        let e = AllowedSigners::parse(&ca, "f").expect_err("ca").to_string();
        assert!(
            e.starts_with("f:1: cert-authority entries are not supported"),
            "{e}"
        );
        let unk = format!("x no-such-option {}\n", publine(&a));
        let e = AllowedSigners::parse(&unk, "f")
            .expect_err("opt")
            .to_string();
        assert!(e.contains("unsupported option"), "{e}");
        let e = AllowedSigners::parse("x ssh-ed25519 AAAAjunk\n", "f")
            .expect_err("key")
            .to_string();
        assert!(e.contains("f:1: invalid key"), "{e}");
        let e = AllowedSigners::parse("\"x ssh-ed25519\n", "f")
            .expect_err("q")
            .to_string();
        assert!(e.contains("unterminated quote"), "{e}");
        let e = AllowedSigners::parse("onlyprincipal\n", "f")
            .expect_err("k")
            .to_string();
        assert!(e.contains("missing key"), "{e}");
        let unq = format!("x namespaces=a {}\n", publine(&a));
        let e = AllowedSigners::parse(&unq, "f")
            .expect_err("uq")
            .to_string();
        assert!(e.contains("double quotes"), "{e}");
    }
}
