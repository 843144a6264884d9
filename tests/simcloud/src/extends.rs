//! `extends:`: a fixture file that is another fixture file plus changes.
//!
//! The semantics are documented in the `fixture` module and in the README; the real-OpenStack
//! seeder (`tests/realcloud/realcloud.py`, `resolve_extends`) implements the same rules and must
//! stay in step with this file.
//!
//! The files are merged as YAML trees, before the fixture model sees them, and the merged tree
//! is written back as YAML text that the ordinary parser reads. Every scalar keeps its written
//! form on the way (`os_version: 22.10` stays `"22.10"`, `fips_failures: null` stays null), so
//! a merged fixture reads exactly like the same content written out by hand; that is why the
//! tree is not a `yaml_serde::Value` (whose numbers forget how they were written).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize as _;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use yaml_serde::Value;

use crate::error::Error;

/// At most this many `extends` in a row (a fixture, its base, the base's base, ...).
pub const MAX_EXTENDS: usize = 4;

/// The identity keys of list items, in order of preference.
const ITEM_KEYS: [&str; 2] = ["id", "name"];

/// A YAML node that keeps scalars as written.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// A plain scalar that YAML reads as null, a boolean or a number, exactly as written.
    Plain(String),
    /// A string scalar (quoted, block, or plain text that is no null, boolean or number).
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The text of a scalar (what the identity of keys and list items compares).
    fn text(&self) -> Option<&str> {
        match self {
            Node::Plain(s) | Node::Str(s) => Some(s),
            Node::Seq(_) | Node::Map(_) => None,
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// True if `text` is a YAML mapping with a top-level `extends` key.
pub(crate) fn has_extends(text: &str) -> bool {
    match yaml_serde::from_str::<Value>(text) {
        Ok(Value::Mapping(m)) => m.contains_key("extends"),
        _ => false,
    }
}

/// The fixture text of `path` with its `extends` chain applied: `None` if the file does not
/// use `extends` (then its own text is the fixture), else the merged fixture as YAML text.
pub(crate) fn resolve(path: &Path, text: &str) -> Result<Option<String>, Error> {
    if !has_extends(text) {
        return Ok(None);
    }
    let mut chain = Vec::new();
    let merged = resolve_node(path, text, &mut chain)
        .map_err(|msg| Error::Invalid(format!("{}: {msg}", path.display())))?;
    let mut out = String::new();
    emit_document(&merged, &mut out)
        .map_err(|msg| Error::Invalid(format!("{}: {msg}", path.display())))?;
    Ok(Some(out))
}

/// The merged tree of `path` (whose text is `text`); `chain` holds the files that extend it.
fn resolve_node(path: &Path, text: &str, chain: &mut Vec<PathBuf>) -> Result<Node, String> {
    let me = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    if chain.contains(&me) {
        let names: Vec<String> = chain
            .iter()
            .chain(std::iter::once(&me))
            .map(|p| file_name(p))
            .collect();
        return Err(format!("extends cycle: {}", names.join(" -> ")));
    }
    if chain.len() > MAX_EXTENDS {
        return Err(format!(
            "extends chain longer than {MAX_EXTENDS} (at {})",
            file_name(&me)
        ));
    }
    let node = parse(text).map_err(|e| format!("{}: {e}", file_name(path)))?;
    let Node::Map(mut entries) = node else {
        return Err(format!("{}: a fixture must be a mapping", file_name(path)));
    };
    let Some(at) = entries
        .iter()
        .position(|(k, _)| k.text() == Some("extends"))
    else {
        return Ok(Node::Map(entries));
    };
    let (_, target) = entries.remove(at);
    let Node::Str(target) = target else {
        return Err(format!(
            "{}: extends must be a file name (relative to the fixture)",
            file_name(path)
        ));
    };
    let base_path = path.parent().unwrap_or(Path::new(".")).join(&target);
    let base_text = std::fs::read_to_string(&base_path).map_err(|e| {
        format!(
            "{}: extends {target}: cannot read {}: {e}",
            file_name(path),
            base_path.display()
        )
    })?;
    chain.push(me);
    let base = resolve_node(&base_path, &base_text, chain)?;
    chain.pop();
    merge(base, Node::Map(entries), "").map_err(|e| format!("{}: {e}", file_name(path)))
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// `over` applied to `base`; `at` is where in the document (for error messages).
fn merge(base: Node, over: Node, at: &str) -> Result<Node, String> {
    match (base, over) {
        (Node::Map(mut entries), Node::Map(changes)) => {
            for (key, value) in changes {
                let name = key.text().unwrap_or("?").to_owned();
                let here = if at.is_empty() {
                    name
                } else {
                    format!("{at}.{name}")
                };
                match entries
                    .iter()
                    .position(|(k, _)| k.text().is_some() && k.text() == key.text())
                {
                    Some(i) => {
                        let old = std::mem::replace(&mut entries[i].1, Node::Plain(String::new()));
                        entries[i].1 = merge(old, value, &here)?;
                    }
                    None => entries.push((key, value)),
                }
            }
            Ok(Node::Map(entries))
        }
        (Node::Seq(items), Node::Seq(changes)) => match item_key(&items, &changes) {
            Some(key) => merge_items(items, changes, key, at),
            None => Ok(Node::Seq(changes)),
        },
        (_, over) => Ok(over),
    }
}

/// The identity key of two lists that merge item by item: `id` if every item of both has a
/// scalar `id`, else `name` if every item has a scalar `name`; none if `changes` is empty.
fn item_key(items: &[Node], changes: &[Node]) -> Option<&'static str> {
    if changes.is_empty() {
        return None;
    }
    ITEM_KEYS.into_iter().find(|key| {
        items
            .iter()
            .chain(changes)
            .all(|item| item.get(key).and_then(Node::text).is_some())
    })
}

fn merge_items(
    mut items: Vec<Node>,
    changes: Vec<Node>,
    key: &str,
    at: &str,
) -> Result<Node, String> {
    let ident = |item: &Node| item.get(key).and_then(Node::text).unwrap_or("").to_owned();
    for (i, item) in items.iter().enumerate() {
        if items[..i].iter().any(|other| ident(other) == ident(item)) {
            return Err(format!(
                "{at}: the base has two items with {key} {:?}",
                ident(item)
            ));
        }
    }
    for (i, change) in changes.iter().enumerate() {
        if changes[..i]
            .iter()
            .any(|other| ident(other) == ident(change))
        {
            return Err(format!("{at}: two changes of {key} {:?}", ident(change)));
        }
    }
    for change in changes {
        let id = ident(&change);
        let found = items.iter().position(|item| ident(item) == id);
        if let Node::Map(entries) = &change
            && let Some(remove) = change.get("remove")
        {
            if entries.len() != 2 || remove.text() != Some("true") {
                return Err(format!(
                    "{at}: {key} {id:?}: an item with remove must be exactly {{{key}: ..., remove: true}}"
                ));
            }
            let Some(i) = found else {
                return Err(format!(
                    "{at}: removes {key} {id:?}, which the base does not have"
                ));
            };
            items.remove(i);
            continue;
        }
        match found {
            Some(i) => items[i] = change,
            None => items.push(change),
        }
    }
    Ok(Node::Seq(items))
}

// ------------------------------------------------------------------------------- parsing

/// Parse YAML text into a [`Node`] tree. The text is read twice: as a `Value` for the shape
/// (and YAML's own reading of each scalar), then guided by that shape, asking for the
/// written text of every scalar that is not a string.
fn parse(text: &str) -> Result<Node, String> {
    let value: Value = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
    Guide(&value)
        .deserialize(yaml_serde::Deserializer::from_str(text))
        .map_err(|e| e.to_string())
}

struct Guide<'a>(&'a Value);

impl<'de> DeserializeSeed<'de> for Guide<'_> {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        match self.0 {
            Value::Mapping(m) => d.deserialize_map(MapGuide(m)),
            Value::Sequence(s) => d.deserialize_seq(SeqGuide(s)),
            Value::String(s) => {
                IgnoredAny::deserialize(d)?;
                Ok(Node::Str(s.clone()))
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {
                d.deserialize_str(Written).map(Node::Plain)
            }
            Value::Tagged(t) => Err(de::Error::custom(format!(
                "YAML tags ({}) are not supported in fixtures that use extends",
                t.tag
            ))),
        }
    }
}

/// The written text of a scalar.
struct Written;

impl Visitor<'_> for Written {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
}

struct MapGuide<'a>(&'a yaml_serde::Mapping);

impl<'de> Visitor<'de> for MapGuide<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::with_capacity(self.0.len());
        for (k, v) in self.0 {
            let key = map
                .next_key_seed(Guide(k))?
                .ok_or_else(|| de::Error::custom("mapping ended early"))?;
            let value = map.next_value_seed(Guide(v))?;
            entries.push((key, value));
        }
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("mapping has more entries than expected"));
        }
        Ok(Node::Map(entries))
    }
}

struct SeqGuide<'a>(&'a [Value]);

impl<'de> Visitor<'de> for SeqGuide<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::with_capacity(self.0.len());
        for v in self.0 {
            let item = seq
                .next_element_seed(Guide(v))?
                .ok_or_else(|| de::Error::custom("sequence ended early"))?;
            items.push(item);
        }
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("sequence has more items than expected"));
        }
        Ok(Node::Seq(items))
    }
}

// ------------------------------------------------------------------------------- writing

/// The tree as block-style YAML: strings double-quoted (JSON escapes are YAML escapes), the
/// other scalars as written, so the ordinary parser reads them exactly as in the source.
fn emit_document(node: &Node, out: &mut String) -> Result<(), String> {
    match node {
        Node::Map(entries) => emit_map(entries, 0, out),
        _ => Err("a fixture must be a mapping".into()),
    }
}

fn emit_map(entries: &[(Node, Node)], indent: usize, out: &mut String) -> Result<(), String> {
    for (key, value) in entries {
        out.push_str(&" ".repeat(indent));
        match key {
            Node::Str(s) => out.push_str(&quote(s)),
            Node::Plain(s) if !s.is_empty() => out.push_str(s),
            _ => return Err("only non-empty scalar keys are supported".into()),
        }
        out.push(':');
        emit_value(value, indent, out)?;
    }
    Ok(())
}

/// A value after `key:` or `-` at `indent`.
fn emit_value(node: &Node, indent: usize, out: &mut String) -> Result<(), String> {
    match node {
        Node::Plain(s) => {
            if !s.is_empty() {
                out.push(' ');
                out.push_str(s);
            }
            out.push('\n');
        }
        Node::Str(s) => {
            out.push(' ');
            out.push_str(&quote(s));
            out.push('\n');
        }
        Node::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Node::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Node::Map(entries) => {
            out.push('\n');
            emit_map(entries, indent + 2, out)?;
        }
        Node::Seq(items) => {
            out.push('\n');
            for item in items {
                out.push_str(&" ".repeat(indent + 2));
                out.push('-');
                emit_value(item, indent + 2, out)?;
            }
        }
    }
    Ok(())
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> String {
        let node = parse(text).expect("parses");
        let mut out = String::new();
        emit_document(&node, &mut out).expect("emits");
        out
    }

    #[test]
    fn scalars_keep_their_written_form() {
        let text = "a: 22.10\nb: \"22.10\"\nc: ~\nd:\ne: True\nf: 0x1F\ng: [1.50, x, \"\"]\n\
                    h: {k: 007}\ni: |\n  two\n  lines\nj: 'it''s'\n";
        let out = roundtrip(text);
        let before: Value = yaml_serde::from_str(text).expect("yaml");
        let after: Value = yaml_serde::from_str(&out).expect("yaml");
        assert_eq!(before, after, "{out}");
        assert!(out.contains("\"a\": 22.10\n"), "{out}");
        assert!(out.contains("\"f\": 0x1F\n"), "{out}");
        // not a number for YAML 1.2, so a string (and quoted)
        assert!(out.contains("\"k\": \"007\"\n"), "{out}");
        assert!(out.contains("\"d\":\n"), "{out}");
        assert_eq!(parse(&out).expect("parses"), parse(text).expect("parses"));
    }

    fn merged(base: &str, over: &str) -> Result<Value, String> {
        let node = merge(parse(base)?, parse(over)?, "")?;
        let mut out = String::new();
        emit_document(&node, &mut out)?;
        yaml_serde::from_str(&out).map_err(|e| e.to_string())
    }

    fn yaml(text: &str) -> Value {
        yaml_serde::from_str(text).expect("yaml")
    }

    #[test]
    fn mappings_merge_and_other_values_replace() {
        let base = "a: {x: 1, y: [1, 2], z: {p: q}}\nb: 2\nc: 3\n";
        let got = merged(base, "a: {y: [3], z: null, w: 4}\nc: {n: 1}\nd: 5\n");
        assert_eq!(
            got,
            Ok(yaml(
                "a: {x: 1, y: [3], z: null, w: 4}\nb: 2\nc: {n: 1}\nd: 5\n"
            ))
        );
    }

    #[test]
    fn lists_of_items_merge_by_id_else_name() {
        let base = "f: [{id: '1', name: a, v: 1}, {id: '2', name: b}, {id: '3', name: c}]\n";
        let got = merged(
            base,
            "f: [{id: '3', name: C}, {id: 1, remove: true}, {id: '4', name: d}]\n",
        );
        assert_eq!(
            got,
            Ok(yaml(
                "f: [{id: '2', name: b}, {id: '3', name: C}, {id: '4', name: d}]\n"
            ))
        );
        // An item without an id: by name (whole items replace, not merge).
        let got = merged(base, "f: [{name: b, v: 2}]\n");
        assert_eq!(
            got,
            Ok(yaml(
                "f: [{id: '1', name: a, v: 1}, {name: b, v: 2}, {id: '3', name: c}]\n"
            ))
        );
        // Neither on every item, or an empty list: the list is replaced.
        assert_eq!(merged(base, "f: [{v: 1}]\n"), Ok(yaml("f: [{v: 1}]\n")));
        assert_eq!(merged(base, "f: []\n"), Ok(yaml("f: []\n")));
    }

    #[test]
    fn bad_item_changes_are_errors() {
        let base = "f: [{name: a}, {name: b}]\n";
        let err = |over: &str| merged(base, over).expect_err(over);
        assert!(err("f: [{name: x, remove: true}]").contains("does not have"));
        assert!(err("f: [{name: a, remove: true, v: 1}]").contains("exactly"));
        assert!(err("f: [{name: a, remove: false}]").contains("exactly"));
        assert!(err("f: [{name: a}, {name: a, v: 1}]").contains("two changes"));
        let err = merged("f: [{name: a}, {name: a}]\n", "f: [{name: b}]\n").expect_err("dup");
        assert!(err.contains("two items with name"), "{err}");
    }

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir = std::env::temp_dir()
                .join(format!("simcloud-extends-{}-{name}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("mkdir");
            Dir(dir)
        }
        fn write(&self, name: &str, text: &str) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, text).expect("write");
            p
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn load(p: &Path) -> Result<Option<String>, Error> {
        let text = std::fs::read_to_string(p).expect("read");
        resolve(p, &text)
    }

    #[test]
    fn chains_are_followed_relative_to_the_file() {
        let d = Dir::new("chain");
        std::fs::create_dir_all(d.0.join("sub")).expect("mkdir");
        d.write(
            "base.yaml",
            "region: One\nusers: [{name: u, password: p, project: x}]\n",
        );
        d.write("sub/mid.yaml", "extends: ../base.yaml\nregion: Two\n");
        let top = d.write(
            "top.yaml",
            "# header\nextends: sub/mid.yaml\ngenerate: {images: 1}\n",
        );
        let text = load(&top).expect("resolves").expect("extends");
        let v: Value = yaml_serde::from_str(&text).expect("yaml");
        assert_eq!(
            v,
            yaml(
                "region: Two\nusers: [{name: u, password: p, project: x}]\n\
                 generate: {images: 1}\n"
            )
        );
        let plain = d.write("plain.yaml", "region: Three\n");
        assert!(load(&plain).expect("reads").is_none());
    }

    #[test]
    fn cycles_missing_bases_and_long_chains_are_one_line_errors() {
        let d = Dir::new("errors");
        d.write("a.yaml", "extends: b.yaml\n");
        let b = d.write("b.yaml", "extends: a.yaml\n");
        let err = load(&b).expect_err("cycle").to_string();
        assert!(
            err.contains("b.yaml: extends cycle: b.yaml -> a.yaml -> b.yaml"),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
        let gone = d.write("gone.yaml", "extends: nowhere.yaml\n");
        let err = load(&gone).expect_err("missing").to_string();
        assert!(
            err.contains("gone.yaml: extends nowhere.yaml: cannot read"),
            "{err}"
        );
        d.write("c0.yaml", "region: R\n");
        for i in 1..=MAX_EXTENDS + 1 {
            d.write(
                &format!("c{i}.yaml"),
                &format!("extends: c{}.yaml\n", i - 1),
            );
        }
        let ok = d.0.join(format!("c{MAX_EXTENDS}.yaml"));
        assert!(load(&ok).expect("deep enough").is_some());
        let deep = d.0.join(format!("c{}.yaml", MAX_EXTENDS + 1));
        let err = load(&deep).expect_err("too deep").to_string();
        assert!(err.contains("longer than"), "{err}");
        let bad = d.write("bad.yaml", "extends: [a.yaml]\n");
        assert!(
            load(&bad)
                .expect_err("list")
                .to_string()
                .contains("file name")
        );
    }
}
