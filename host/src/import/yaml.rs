//! YAML text to a tree whose every node knows where it was written (byte span, line, column).
//!
//! The original loaded its files with PyYAML's `safe_load`, so scalars are resolved the way
//! YAML 1.1 does there: `yes`/`no`/`on`/`off` are booleans, `~` is null, quoted text is always
//! a string. A syntax error becomes an [`ImportError`] at the scanner's position.

use std::sync::Arc;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::report::ImportError;
use crate::config::{Source, Span};

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys in file order; a repeated key keeps every entry (the caller decides).
    Map(Vec<(Node, Node)>),
}

/// A value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub col: usize,
}

impl Node {
    /// The entry of a mapping with this key (the last one, as PyYAML keeps).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries().into_iter().rev().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    /// Entries of a mapping (empty for anything else).
    pub fn entries(&self) -> Vec<(&Node, &Node)> {
        match &self.value {
            Value::Map(m) => m.iter().map(|(k, v)| (k, v)).collect(),
            _ => vec![],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The value as text the way Python's `str()` would print a scalar (for names and
    /// versions written unquoted, such as `version: 1`).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
            _ => None,
        }
    }

    /// A short description of the value for messages: `a list`, `"text"`, `30`.
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Str(s) => format!("{s:?}"),
            Value::Seq(_) => "a list".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }
}

/// Parses one YAML document. `name` is shown in errors.
///
/// # Errors
/// A syntax error, with the file's line and column; or a file with more than one document.
pub fn parse(name: &str, text: &str) -> Result<Parsed, ImportError> {
    let mut text = text.to_string();
    let mut lenient = vec![];
    // PyYAML reads `value# text` as a value and a comment; YAML 1.2 (and this parser) wants a
    // space first. The original's files rely on PyYAML here, so read them the same way.
    loop {
        match parse_once(name, &text) {
            Err(Retry(at)) => {
                let line = text[..at].matches('\n').count() + 1;
                text.insert(at, ' ');
                lenient.push(line);
            }
            Ok(r) => return r.map(|root| Parsed { root, lenient }),
        }
    }
}

/// A parsed file, and the lines where a `#` right after a value was read as a comment.
#[derive(Debug)]
pub struct Parsed {
    pub root: Node,
    pub lenient: Vec<usize>,
}

/// A comment glued to a value at this byte offset: insert a space and parse again.
struct Retry(usize);

fn parse_once(name: &str, text: &str) -> Result<Result<Node, ImportError>, Retry> {
    let source = Source { name: name.into(), text: Arc::from(text) };
    let lines = LineIndex::new(text);
    let mut builder = Builder { stack: vec![], docs: vec![], anchors: vec![], lines: &lines, text };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let at = lines.offset(e.marker());
        let glued = !text[..at].ends_with([' ', '\t', '\n']);
        if e.info().starts_with("comments must be separated") && text[at..].starts_with('#') && glued {
            return Err(Retry(at));
        }
        let end = next_char(text, at);
        return Ok(Err(super::report::refused_at(
            &source,
            "yaml_syntax",
            Span::new(at, end),
            "here",
            format!("this is not valid YAML: {}", e.info()),
        )
        .help("fix the YAML syntax; `python3 -c 'import yaml,sys; yaml.safe_load(open(sys.argv[1]))' FILE` shows what the original would have read")));
    }
    let mut docs = builder.docs;
    if docs.len() > 1 {
        let second = &docs[1];
        return Ok(Err(super::report::refused_at(
            &source,
            "yaml_documents",
            second.span,
            "second document",
            "the file holds more than one YAML document; an experiment is one",
        )
        .help("the original read only files with one document (`yaml.safe_load` refuses more); split the file")));
    }
    Ok(Ok(docs.pop().unwrap_or(Node { value: Value::Null, span: Span::new(0, 0), line: 1, col: 1 })))
}

fn next_char(text: &str, at: usize) -> usize {
    text[at.min(text.len())..].chars().next().map(|c| at + c.len_utf8()).unwrap_or(at)
}

/// Byte offsets of line starts, to turn the scanner's line and column into a byte offset
/// whatever the scanner counts its index in.
struct LineIndex<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    fn new(text: &'t str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    fn offset(&self, m: &Marker) -> usize {
        let line = m.line().max(1);
        let Some(&start) = self.starts.get(line - 1) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        // The scanner's column counts characters from 0.
        rest.char_indices().nth(m.col()).map(|(i, _)| start + i).unwrap_or(self.text.len())
    }

    /// 1-based line and column of a byte offset.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let col = self.text[start..offset.min(self.text.len())].chars().count() + 1;
        (line, col)
    }
}

enum Open {
    Seq(Node, usize, Vec<Node>),
    Map(Node, usize, Vec<(Node, Node)>, Option<Node>),
}

struct Builder<'a> {
    stack: Vec<Open>,
    docs: Vec<Node>,
    anchors: Vec<(usize, Node)>,
    lines: &'a LineIndex<'a>,
    text: &'a str,
}

impl Builder<'_> {
    fn node_at(&self, mark: &Marker, len: usize, value: Value) -> Node {
        let start = self.lines.offset(mark);
        let end = (start + len).min(self.text.len());
        let (line, col) = self.lines.line_col(start);
        Node { value, span: Span::new(start, end), line, col }
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Open::Seq(_, _, items)) => items.push(node),
            Some(Open::Map(_, _, entries, key)) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                let len = match style {
                    TScalarStyle::Plain => text.len(),
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => text.len() + 2,
                    _ => 1,
                };
                let value = if style == TScalarStyle::Plain { resolve(&text) } else { Value::Str(text) };
                let node = self.node_at(&mark, len, value);
                if anchor > 0 {
                    self.anchors.push((anchor, node.clone()));
                }
                self.push(node);
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_else(|| self.node_at(&mark, 1, Value::Null));
                self.push(node);
            }
            Event::SequenceStart(anchor, _) => {
                let n = self.node_at(&mark, 1, Value::Null);
                self.stack.push(Open::Seq(n, anchor, vec![]));
            }
            Event::MappingStart(anchor, _) => {
                let n = self.node_at(&mark, 1, Value::Null);
                self.stack.push(Open::Map(n, anchor, vec![], None));
            }
            Event::SequenceEnd => {
                if let Some(Open::Seq(mut n, anchor, items)) = self.stack.pop() {
                    n.value = Value::Seq(items);
                    if anchor > 0 {
                        self.anchors.push((anchor, n.clone()));
                    }
                    self.push(n);
                }
            }
            Event::MappingEnd => {
                if let Some(Open::Map(mut n, anchor, entries, _)) = self.stack.pop() {
                    // A block mapping's start mark is its first key; a span of one character
                    // there is what diagnostics need.
                    n.value = Value::Map(entries);
                    if anchor > 0 {
                        self.anchors.push((anchor, n.clone()));
                    }
                    self.push(n);
                }
            }
            _ => {}
        }
    }
}

/// Resolves a plain scalar like PyYAML's `SafeLoader` (YAML 1.1 core types).
fn resolve(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => return Value::Bool(true),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => return Value::Bool(false),
        _ => {}
    }
    let plain = s.replace('_', "");
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(d) => (-1i64, d),
        None => (1, plain.strip_prefix('+').unwrap_or(&plain)),
    };
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // PyYAML reads a leading 0 as octal.
        let radix = if digits.len() > 1 && digits.starts_with('0') { 8 } else { 10 };
        if let Ok(i) = i64::from_str_radix(digits, radix) {
            return Value::Int(sign * i);
        }
    }
    if let Some(hex) = digits.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Value::Int(sign * i);
        }
    }
    let looks_float = digits.contains('.')
        && digits.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && digits.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '.');
    if looks_float {
        if let Ok(f) = digits.parse::<f64>() {
            return Value::Float(sign as f64 * f);
        }
    }
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" => Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Value::Float(f64::NAN),
        _ => Value::Str(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Scalars resolve as PyYAML's safe_load does; positions are 1-based lines and columns.
    #[test]
    fn values_and_positions() {
        let n = parse("x.yaml", "a: 1\nb:\n  c: \"2\"\n  d: [yes, ~, 1.5]\né: off\n").unwrap().root;
        assert_eq!(n.get("a").unwrap().value, Value::Int(1));
        let b = n.get("b").unwrap();
        let c = b.get("c").unwrap();
        assert_eq!(c.value, Value::Str("2".into()));
        assert_eq!((c.line, c.col), (3, 6));
        let Value::Seq(d) = &b.get("d").unwrap().value else { panic!() };
        assert_eq!(d[0].value, Value::Bool(true));
        assert!(d[1].is_null());
        assert_eq!(d[2].value, Value::Float(1.5));
        let e = n.entries().into_iter().find(|(k, _)| k.as_str() == Some("é")).unwrap();
        assert_eq!(e.1.value, Value::Bool(false));
        assert_eq!((e.1.line, e.1.col), (5, 4));
        assert_eq!(&"a: 1\nb:\n  c: \"2\"\n  d: [yes, ~, 1.5]\né: off\n"[e.1.span.start..e.1.span.end], "off");
    }

    // A comment glued to a value is read as PyYAML reads it, and the line is reported.
    #[test]
    fn glued_comment() {
        let p = parse("x.yaml", "a:\n  b: \"x\"# note\n  c: 1\n").unwrap();
        assert_eq!(p.root.get("a").unwrap().get("b").unwrap().as_str(), Some("x"));
        assert_eq!(p.lenient, vec![2]);
    }

    // A syntax error names the line and column where the scanner stopped.
    #[test]
    fn syntax_error_has_position() {
        let e = parse("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(e.location.starts_with("bad.yaml:"), "{}", e.location);
        let e = parse("bad.yaml", "a:\n  b: 1\n c: 2\n").unwrap_err();
        assert!(e.location.starts_with("bad.yaml:3:"), "{}", e.location);
    }
}
