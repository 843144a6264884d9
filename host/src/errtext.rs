//! Errors as one line of text: the message of an error followed by each cause that adds
//! something new (reqwest and hyper wrap the reason a connection failed several layers deep).
//!
//! Owns: [`error_chain`], [`one_line`], [`bounded_text`]. Must never: include a secret (callers pass errors,
//! never requests).

/// `e` and its sources, joined with ": ", skipping a source already contained in the text.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// A multi-line message (a TOML or YAML parser's, with a caret diagram) as one line: the
/// non-empty lines, trimmed, joined with spaces.
pub(crate) fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most `max` characters of `text`, control characters removed: what of a server's text
/// may reach a message or a log line.
pub fn bounded_text(text: &str, max: usize) -> String {
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(max).collect();
    if text.chars().filter(|c| !c.is_control()).nth(max).is_some() {
        out.push('…');
    }
    out
}
