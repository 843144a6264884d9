//! Errors as one line of text: the message of an error followed by each cause that adds
//! something new (reqwest and hyper wrap the reason a connection failed several layers deep).
//!
//! Owns: [`error_chain`], [`one_line`], [`untrusted_message`], [`bounded_text`]. Must never: include a secret (callers pass errors,
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

/// Characters of a parser's message kept by [`untrusted_message`].
pub(crate) const MAX_UNTRUSTED_MESSAGE_CHARS: usize = 500;

/// A parser's message that may quote the untrusted input (a serde "unknown field" with the
/// field's name, a tar error with a header's bytes): one line, every control character, line
/// or paragraph separator and text-reordering format character a space, at most
/// [`MAX_UNTRUSTED_MESSAGE_CHARS`] characters.
pub(crate) fn untrusted_message(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_UNTRUSTED_MESSAGE_CHARS)
        .map(|c| {
            // controls, line/paragraph separators and the format characters that reorder or
            // hide text (bidi embeddings, overrides and isolates, zero-width marks, BOM)
            if c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{061c}' | '\u{feff}')
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}')
                || matches!(c, '\u{2060}'..='\u{2069}')
            {
                ' '
            } else {
                c
            }
        })
        .collect();
    if text.chars().nth(MAX_UNTRUSTED_MESSAGE_CHARS).is_some() {
        out.push('…');
    }
    out
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
