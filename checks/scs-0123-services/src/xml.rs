//! A small, strict XML reader: just enough to tell, like the expat parser
//! behind botocore, whether an S3 answer is well-formed XML, and to give
//! botocore's view of it (element local names, namespaced or not, leaf
//! text; comments and processing instructions dropped).
//!
//! Owns: well-formedness (one root, matching tags, quoted and unique
//! attributes, known entity references, bound namespace prefixes, legal
//! characters, XML declaration only at the very start) and the element tree.
//!
//! Must never: resolve external entities, expand user-defined entities, or
//! panic on any input.

/// One element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Local name (after any prefix).
    pub name: String,
    /// Whether the element is in a namespace (prefixed, or under a default
    /// `xmlns`); ElementTree then names it `{uri}name`.
    pub namespaced: bool,
    /// Character data before the first child (all of it for a leaf);
    /// None if empty, as in ElementTree.
    pub text: Option<String>,
    /// Child elements.
    pub children: Vec<Element>,
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    /// In-scope namespace declarations: (prefix, declared non-empty);
    /// prefix "" is the default namespace.
    scopes: Vec<Vec<(String, bool)>>,
}

type R<T> = Result<T, String>;

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (c as u32) >= 0xC0
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == '-' || c == '.' || c == '\u{B7}'
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }
    fn eof(&self) -> bool {
        self.pos >= self.s.len()
    }
    fn starts(&self, p: &str) -> bool {
        self.rest().starts_with(p)
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }
    fn err<T>(&self, what: &str) -> R<T> {
        Err(format!("{what} at byte {}", self.pos))
    }
    fn skip_ws(&mut self) -> bool {
        let mut any = false;
        while let Some(c) = self.peek() {
            if matches!(c, ' ' | '\t' | '\n' | '\r') {
                self.pos += 1;
                any = true;
            } else {
                break;
            }
        }
        any
    }
    fn expect(&mut self, p: &str) -> R<()> {
        if self.starts(p) {
            self.pos += p.len();
            Ok(())
        } else {
            self.err(&format!("expected {p:?}"))
        }
    }
    /// Consume up to and including `end`; returns the text before it.
    fn until(&mut self, end: &str) -> R<&'a str> {
        match self.rest().find(end) {
            Some(i) => {
                let t = &self.rest()[..i];
                if let Some(c) = t.chars().find(|c| !is_xml_char(*c)) {
                    return self.err(&format!("illegal character {c:?}"));
                }
                self.pos += i + end.len();
                Ok(t)
            }
            None => self.err(&format!("unterminated construct, {end:?} missing")),
        }
    }
    fn name(&mut self) -> R<&'a str> {
        let start = self.pos;
        match self.peek() {
            Some(c) if is_name_start(c) => {
                self.bump();
            }
            _ => return self.err("expected a name"),
        }
        while let Some(c) = self.peek() {
            if is_name_char(c) {
                self.bump();
            } else {
                break;
            }
        }
        Ok(&self.s[start..self.pos])
    }
    fn comment(&mut self) -> R<()> {
        self.expect("<!--")?;
        let body = self.until("-->")?;
        if body.contains("--") || body.ends_with('-') {
            return self.err("`--` inside a comment");
        }
        Ok(())
    }
    fn pi(&mut self) -> R<()> {
        self.expect("<?")?;
        let target = self.name()?;
        if target.eq_ignore_ascii_case("xml") {
            return self.err("XML declaration not at the start");
        }
        self.until("?>")?;
        Ok(())
    }
    fn misc(&mut self) -> R<()> {
        loop {
            self.skip_ws();
            if self.starts("<!--") {
                self.comment()?;
            } else if self.starts("<?") {
                self.pi()?;
            } else {
                return Ok(());
            }
        }
    }
    fn doctype(&mut self) -> R<()> {
        self.expect("<!DOCTYPE")?;
        let mut depth = 0u32;
        let mut quote: Option<char> = None;
        while let Some(c) = self.bump() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '[') => depth += 1,
                (None, ']') => depth = depth.saturating_sub(1),
                (None, '>') if depth == 0 => return Ok(()),
                _ => {}
            }
        }
        self.err("unterminated DOCTYPE")
    }
    /// A reference after `&`; appends its text.
    fn reference(&mut self, out: &mut String) -> R<()> {
        self.expect("&")?;
        let body = match self.rest().find(';') {
            Some(i) => &self.rest()[..i],
            None => return self.err("unterminated reference"),
        };
        let c = match body {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let n = if let Some(h) = body.strip_prefix("#x") {
                    u32::from_str_radix(h, 16).ok()
                } else if let Some(d) = body.strip_prefix('#') {
                    d.parse::<u32>().ok()
                } else {
                    return self.err(&format!("undefined entity &{body};"));
                };
                match n.and_then(char::from_u32) {
                    Some(c) if is_xml_char(c) => c,
                    _ => return self.err(&format!("bad character reference &{body};")),
                }
            }
        };
        self.pos += body.len() + 1;
        out.push(c);
        Ok(())
    }
    fn declared(&self, prefix: &str) -> Option<bool> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(p, _)| p == prefix)
            .map(|(_, d)| *d)
    }
    fn element(&mut self) -> R<Element> {
        self.expect("<")?;
        let qname = self.name()?;
        let mut attrs: Vec<(&str, String)> = Vec::new();
        let mut decls: Vec<(String, bool)> = Vec::new();
        let empty = loop {
            let ws = self.skip_ws();
            if self.starts("/>") {
                self.pos += 2;
                break true;
            }
            if self.starts(">") {
                self.pos += 1;
                break false;
            }
            if !ws {
                return self.err("expected whitespace before an attribute");
            }
            let an = self.name()?;
            self.skip_ws();
            self.expect("=")?;
            self.skip_ws();
            let q = match self.bump() {
                Some(q @ ('"' | '\'')) => q,
                _ => return self.err("attribute value must be quoted"),
            };
            let mut v = String::new();
            loop {
                match self.peek() {
                    None => return self.err("unterminated attribute value"),
                    Some(c) if c == q => {
                        self.bump();
                        break;
                    }
                    Some('<') => return self.err("`<` in an attribute value"),
                    Some('&') => self.reference(&mut v)?,
                    Some(c) if !is_xml_char(c) => {
                        return self.err(&format!("illegal character {c:?}"));
                    }
                    Some(c) => {
                        self.bump();
                        v.push(c);
                    }
                }
            }
            if attrs.iter().any(|(n, _)| *n == an) {
                return self.err(&format!("duplicate attribute {an}"));
            }
            if an == "xmlns" {
                decls.push((String::new(), !v.is_empty()));
            } else if let Some(p) = an.strip_prefix("xmlns:") {
                if v.is_empty() {
                    return self.err("empty namespace for a prefix");
                }
                decls.push((p.to_string(), true));
            }
            attrs.push((an, v));
        };
        self.scopes.push(decls);
        let result = self.finish_element(qname, &attrs, empty);
        self.scopes.pop();
        result
    }
    fn split<'n>(&self, qname: &'n str, is_attr: bool) -> R<(bool, &'n str)> {
        match qname.split_once(':') {
            Some((p, local)) => {
                if p.is_empty() || local.is_empty() || local.contains(':') {
                    return self.err(&format!("bad qualified name {qname}"));
                }
                if p == "xml" || (is_attr && p == "xmlns") {
                    return Ok((true, local));
                }
                match self.declared(p) {
                    Some(true) => Ok((true, local)),
                    _ => self.err(&format!("unbound prefix {p}")),
                }
            }
            None if is_attr => Ok((false, qname)),
            None => Ok((self.declared("") == Some(true), qname)),
        }
    }
    fn finish_element(&mut self, qname: &str, attrs: &[(&str, String)], empty: bool) -> R<Element> {
        let (namespaced, local) = self.split(qname, false)?;
        for (an, _) in attrs {
            if *an != "xmlns" {
                self.split(an, true)?;
            }
        }
        let mut el = Element {
            name: local.to_string(),
            namespaced,
            text: None,
            children: Vec::new(),
        };
        if empty {
            return Ok(el);
        }
        let mut text = String::new();
        loop {
            if self.eof() {
                return self.err(&format!("element {qname} is not closed"));
            }
            if self.starts("</") {
                self.pos += 2;
                let close = self.name()?;
                if close != qname {
                    return self.err(&format!("mismatched tag </{close}> for <{qname}>"));
                }
                self.skip_ws();
                self.expect(">")?;
                break;
            } else if self.starts("<!--") {
                self.comment()?;
            } else if self.starts("<![CDATA[") {
                self.pos += 9;
                let t = self.until("]]>")?;
                if el.children.is_empty() {
                    text.push_str(t);
                }
            } else if self.starts("<?") {
                self.pi()?;
            } else if self.starts("<!") {
                return self.err("unexpected declaration in content");
            } else if self.starts("<") {
                let child = self.element()?;
                el.children.push(child);
            } else if self.starts("&") {
                let mut t = String::new();
                self.reference(&mut t)?;
                if el.children.is_empty() {
                    text.push_str(&t);
                }
            } else if self.starts("]]>") {
                return self.err("`]]>` in content");
            } else {
                let c = self.bump().unwrap_or(' ');
                if !is_xml_char(c) {
                    return self.err(&format!("illegal character {c:?}"));
                }
                if el.children.is_empty() {
                    text.push(c);
                }
            }
        }
        if !text.is_empty() {
            el.text = Some(text);
        }
        Ok(el)
    }
}

/// Parse a whole document (UTF-8 bytes, as botocore forces the encoding).
pub fn parse(bytes: &[u8]) -> Result<Element, String> {
    let s = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let s = s.strip_prefix('\u{FEFF}').unwrap_or(s);
    let mut p = Parser {
        s,
        pos: 0,
        scopes: Vec::new(),
    };
    if p.starts("<?xml") && p.rest()[5..].starts_with([' ', '\t', '\n', '\r', '?']) {
        p.pos += 5;
        p.until("?>")?;
    }
    p.misc()?;
    if p.starts("<!DOCTYPE") {
        p.doctype()?;
        p.misc()?;
    }
    if p.eof() {
        return p.err("no element found");
    }
    if !p.starts("<") {
        return p.err("text before the root element");
    }
    let root = p.element()?;
    p.misc()?;
    if !p.eof() {
        return p.err("junk after the document element");
    }
    Ok(root)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Element {
        parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn s3_errors() {
        let e = ok(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidAccessKeyId</Code>\
                    <Message>The AWS Access Key Id you provided does not exist in our records.</Message>\
                    <RequestId>tx1</RequestId></Error>",
        );
        assert_eq!(e.name, "Error");
        assert!(!e.namespaced);
        assert_eq!(e.children[0].text.as_deref(), Some("InvalidAccessKeyId"));
        assert_eq!(e.children.len(), 3);
    }

    #[test]
    fn namespaces_text_and_entities() {
        let e = ok(
            "<E xmlns='urn:x'><a:C xmlns:a='urn:a'>x&amp;y<!--c-->z<![CDATA[<w>]]></a:C><D/></E>",
        );
        assert!(e.namespaced);
        assert_eq!(e.children[0].name, "C");
        assert_eq!(e.children[0].text.as_deref(), Some("x&yz<w>"));
        assert_eq!(e.children[1].text, None);
        let e = ok("<E><C>&#73;&#x6e;</C></E>");
        assert_eq!(e.children[0].text.as_deref(), Some("In"));
        // text before the first child only
        let e = ok("<E>a<C/>b</E>");
        assert_eq!(e.text.as_deref(), Some("a"));
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "   ",
            "InvalidAccessKeyId",
            "<Error><Code>InvalidAccessKeyId</Code>",
            "<a></b>",
            "<a/><b/>",
            "<a>&nbsp;</a>",
            "<a x=1/>",
            "<a x='1' x='2'/>",
            "<p:a/>",
            " <?xml version='1.0'?><a/>",
            "<a>\u{1}</a>",
            "<a><!-- a -- b --></a>",
            "<html><body><br></body></html>",
            "<a>]]></a>",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?} should not parse");
        }
        assert!(parse(b"<a>\xff</a>").is_err());
        // fine:
        ok("<!DOCTYPE html><html><body>x</body></html>");
        ok("\u{FEFF}<?xml version='1.0'?>\n<!-- c --><a xml:lang='en'/>\n");
    }
}
