//! The converted experiment as TOML, with comments: where each value came from (YAML line
//! numbers) and, above each table, what of the original's part of it was not converted.
//!
//! Built with `toml_edit` so that comments are part of the document; the result is parsed back
//! by the tests to make sure it stays valid TOML.

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

/// One `key = value` line and the comment after it.
pub struct Entry {
    pub key: String,
    pub value: Value,
    pub comment: String,
}

impl Entry {
    pub fn new(key: &str, value: impl Into<Value>, comment: impl Into<String>) -> Entry {
        Entry { key: key.to_string(), value: value.into(), comment: comment.into() }
    }
}

/// A table: comment lines above its header, then its entries.
#[derive(Default)]
pub struct Block {
    pub comments: Vec<String>,
    pub entries: Vec<Entry>,
}

pub struct Service {
    pub name: String,
    pub block: Block,
}

pub struct Test {
    pub block: Block,
    pub services: Vec<Service>,
}

/// The whole converted file.
#[derive(Default)]
pub struct Doc {
    /// Comment lines at the top of the file.
    pub header: Vec<String>,
    pub experiment: Block,
    pub tests: Vec<Test>,
}

/// Renders the document.
pub fn render(doc: &Doc) -> String {
    let mut out = DocumentMut::new();
    let mut exp = table(&doc.experiment);
    let mut prefix = comment_lines(&doc.header);
    prefix.push('\n');
    prefix.push_str(&comment_lines(&doc.experiment.comments));
    exp.decor_mut().set_prefix(prefix);
    out.insert("experiment", Item::Table(exp));
    let mut tests = ArrayOfTables::new();
    for t in &doc.tests {
        let mut tt = table(&t.block);
        tt.decor_mut().set_prefix(format!("\n{}", comment_lines(&t.block.comments)));
        if !t.services.is_empty() {
            let mut services = Table::new();
            services.set_implicit(true);
            for s in &t.services {
                let mut st = table(&s.block);
                st.decor_mut().set_prefix(format!("\n{}", comment_lines(&s.block.comments)));
                services.insert(&s.name, Item::Table(st));
            }
            tt.insert("services", Item::Table(services));
        }
        tests.push(tt);
    }
    out.insert("tests", Item::ArrayOfTables(tests));
    out.to_string()
}

fn table(b: &Block) -> Table {
    let mut t = Table::new();
    for e in &b.entries {
        let mut v = e.value.clone();
        if e.comment.is_empty() {
            v.decor_mut().set_suffix("");
        } else {
            v.decor_mut().set_suffix(format!("  # {}", one_line(&e.comment)));
        }
        t.insert(&e.key, Item::Value(v));
    }
    t
}

fn comment_lines(lines: &[String]) -> String {
    lines.iter().map(|l| format!("# {}\n", one_line(l))).collect()
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Comments land above tables and after values, and the result is TOML.
    #[test]
    fn renders_comments() {
        let doc = Doc {
            header: vec!["from x.yaml".into()],
            experiment: Block {
                comments: vec![],
                entries: vec![Entry::new("log_level", "info", "logging.level, line 2")],
            },
            tests: vec![Test {
                block: Block {
                    comments: vec!["not converted: ports".into()],
                    entries: vec![Entry::new("name", "t", "")],
                },
                services: vec![Service {
                    name: "server".into(),
                    block: Block {
                        comments: vec![],
                        entries: vec![Entry::new("implementation", "picoquic", "line 9")],
                    },
                }],
            }],
        };
        let text = render(&doc);
        assert!(text.starts_with("# from x.yaml\n"), "{text}");
        assert!(text.contains("log_level = \"info\"  # logging.level, line 2\n"), "{text}");
        assert!(text.contains("# not converted: ports\n[[tests]]\n"), "{text}");
        assert!(text.contains("[tests.services.server]\nimplementation = \"picoquic\"  # line 9\n"), "{text}");
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed["tests"][0]["services"]["server"]["implementation"].as_str(), Some("picoquic"));
    }
}
