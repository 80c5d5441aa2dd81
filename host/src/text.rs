//! Text that came from a plugin (describe, plans, verdict reasons, `host.log` messages, plugin
//! errors) made safe for where the host writes it: a terminal or log, Markdown, HTML, XML.
//!
//! A plugin is untrusted, and a terminal obeys what it prints: ESC and CSI/OSC sequences can
//! clear the screen, retitle the window or move the cursor; a carriage return lets a line be
//! overwritten by a fake one; bidi overrides make text read differently from what it is. Every
//! writer of plugin-originated text goes through one of these functions, which show such
//! characters escaped (`\x1b`, `\r`, `\u{202e}`) instead of passing them on.
//!
//! | function | for | newlines |
//! |---|---|---|
//! | [`terminal`] | one line on a terminal or in a log | escaped |
//! | [`terminal_block`] | several lines (log tails, multi-line reasons) | kept |
//! | [`markdown`] | inline Markdown (table cells, list items, headings) | escaped |
//! | [`html`] | HTML text and attribute values | kept |
//! | [`xml`] | text handed to an XML writer that escapes `<&>` itself | kept |
//! | [`slug`] | a file or directory name in the run directory (test and service names) | — |
//!
//! [`Clean`] does the same to a whole [`miette::Diagnostic`] before it is rendered.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// Whether `c` must not reach a terminal as is: C0 controls and DEL, C1 controls, bidi
/// embeddings, overrides and isolates, and the invisible marks that reorder or hide text.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\0'..='\x1f' | '\x7f'..='\u{9f}'
        | '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

fn escape_char(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

fn neutralise(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let keep = |c: char| keep_newlines && (c == '\n' || c == '\t');
    if !s.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        // A CRLF line end is a line end, not an overwrite.
        if keep_newlines && c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        if is_unsafe(c) && !keep(c) {
            escape_char(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line for a terminal or a log: every control character, newlines included, escaped.
pub fn terminal(s: &str) -> Cow<'_, str> {
    neutralise(s, false)
}

/// Several lines for a terminal or a log: as [`terminal`], but `\n` and `\t` stay (and a CRLF
/// becomes `\n`); a lone `\r` is still escaped, so no line can overwrite another.
pub fn terminal_block(s: &str) -> Cow<'_, str> {
    neutralise(s, true)
}

/// Inline Markdown: control characters escaped as in [`terminal`], and every character that
/// gives Markdown or embedded HTML a meaning outside a code span (links, images, emphasis,
/// tags, entities, table pipes; `#` at the start, a heading) backslash-escaped, so plugin text
/// reads as the plain text it is. Backticks stay: inside a code span nothing is interpreted,
/// so the host's own `name` quoting keeps reading as code and cannot be turned into markup.
pub fn markdown(s: &str) -> String {
    let t = terminal(s);
    let mut out = String::with_capacity(t.len() + 8);
    for (i, c) in t.chars().enumerate() {
        if matches!(c, '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '!' | '&') || (i == 0 && c == '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// HTML text or a quoted attribute value: `& < > " '` as entities, control characters escaped
/// as in [`terminal_block`] (newlines stay: they are whitespace in HTML).
pub fn html(s: &str) -> String {
    let t = terminal_block(s);
    let mut o = String::with_capacity(t.len() + 8);
    for ch in t.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(ch),
        }
    }
    o
}

/// Text for an XML writer that escapes markup itself (quick-junit): control characters, which
/// XML 1.0 cannot carry and a terminal showing the file would obey, escaped as in
/// [`terminal_block`].
pub fn xml(s: &str) -> String {
    terminal_block(s).into_owned()
}

/// The host's log stream (stderr): every write is passed through [`terminal_block`] except
/// for ESC. tracing-subscriber already escapes ESC, BEL and C1 controls inside messages and
/// fields, so an ESC that reaches this writer is the formatter's own colouring; what the
/// formatter lets through (a lone `\r` that overwrites a line, other C0 controls, bidi
/// overrides) is escaped here, whatever call site logged the text.
pub struct LogWriter<W>(pub W);

impl<W: std::io::Write> std::io::Write for LogWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(s) if s.chars().any(|c| is_unsafe(c) && !matches!(c, '\n' | '\t' | '\x1b')) => {
                let mut out = String::with_capacity(s.len() + 16);
                for c in s.chars() {
                    if is_unsafe(c) && !matches!(c, '\n' | '\t' | '\x1b') {
                        escape_char(&mut out, c);
                    } else {
                        out.push(c);
                    }
                }
                self.0.write_all(out.as_bytes())?;
            }
            _ => self.0.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// A diagnostic whose every text (message, help, labels, causes, related diagnostics) is
/// neutralised with [`terminal_block`]; the source code it points into is the user's own file
/// and passes unchanged. Render this instead of a diagnostic that may quote plugin text.
pub struct Clean<'a> {
    message: String,
    code: Option<String>,
    help: Option<String>,
    url: Option<String>,
    severity: Option<miette::Severity>,
    labels: Vec<miette::LabeledSpan>,
    source_code: Option<&'a dyn miette::SourceCode>,
    related: Vec<Clean<'a>>,
    cause: Option<Box<Clean<'a>>>,
}

impl<'a> Clean<'a> {
    pub fn new(d: &'a dyn miette::Diagnostic) -> Clean<'a> {
        let labels = d
            .labels()
            .map(|ls| {
                ls.map(|l| {
                    miette::LabeledSpan::new_with_span(l.label().map(|t| terminal_block(t).into_owned()), *l.inner())
                })
                .collect()
            })
            .unwrap_or_default();
        let cause = match d.diagnostic_source() {
            Some(c) => Some(Box::new(Clean::new(c))),
            None => d.source().map(|e| Box::new(Clean::std(e))),
        };
        Clean {
            message: terminal_block(&d.to_string()).into_owned(),
            code: d.code().map(|c| terminal(&c.to_string()).into_owned()),
            help: d.help().map(|h| terminal_block(&h.to_string()).into_owned()),
            url: d.url().map(|u| terminal(&u.to_string()).into_owned()),
            severity: d.severity(),
            labels,
            source_code: d.source_code(),
            related: d.related().map(|r| r.map(Clean::new).collect()).unwrap_or_default(),
            cause,
        }
    }

    fn std(e: &'a (dyn std::error::Error + 'static)) -> Clean<'a> {
        Clean {
            message: terminal_block(&e.to_string()).into_owned(),
            code: None,
            help: None,
            url: None,
            severity: None,
            labels: vec![],
            source_code: None,
            related: vec![],
            cause: e.source().map(|c| Box::new(Clean::std(c))),
        }
    }
}

impl fmt::Debug for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Clean<'_> {}

impl miette::Diagnostic for Clean<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.code.as_ref().map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.severity
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help.as_ref().map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }
    fn url<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.url.as_ref().map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source_code
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        (!self.labels.is_empty()).then(|| Box::new(self.labels.iter().cloned()) as Box<dyn Iterator<Item = _>>)
    }
    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        (!self.related.is_empty())
            .then(|| Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)) as Box<dyn Iterator<Item = _>>)
    }
    fn diagnostic_source(&self) -> Option<&dyn miette::Diagnostic> {
        self.cause.as_deref().map(|c| c as &dyn miette::Diagnostic)
    }
}

/// A file-system and URL safe form of a name: lower-case ASCII letters, digits, `-` and `_`.
pub fn slug(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            'a'..='z' | '0'..='9' | '_' | '-' => s.push(c),
            'A'..='Z' => s.push(c.to_ascii_lowercase()),
            _ if !s.ends_with('-') => s.push('-'),
            _ => {}
        }
    }
    let t = s.trim_matches('-').to_string();
    if t.is_empty() {
        "unnamed".into()
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "ok\x1b[2J\x1b]0;pwned\x07\rall tests passed\u{202e}txt.exe\u{9b}31m";

    #[test]
    fn terminal_escapes_every_control() {
        let t = terminal(HOSTILE);
        assert_eq!(t, "ok\\x1b[2J\\x1b]0;pwned\\x07\\rall tests passed\\u{202e}txt.exe\\u{9b}31m");
        assert!(!t.chars().any(is_unsafe));
        assert_eq!(terminal("a\nb\tc"), "a\\nb\\tc");
        assert!(matches!(terminal("plain ünïcode ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn blocks_keep_lines_but_not_overwrites() {
        assert_eq!(terminal_block("one\r\ntwo\rfake\n\tx"), "one\ntwo\\rfake\n\tx");
        assert_eq!(terminal_block("\x1b[1A"), "\\x1b[1A");
    }

    #[test]
    fn markdown_is_plain_text() {
        assert_eq!(
            markdown("![x](http://t/) <b>|</b> `c` \x1b"),
            "\\!\\[x\\](http://t/) \\<b\\>\\|\\</b\\> `c` \\\\x1b"
        );
        assert_eq!(markdown("# h #2 &amp;"), "\\# h #2 \\&amp;");
        assert_eq!(markdown("a\nb"), "a\\\\nb");
    }

    #[test]
    fn html_and_xml() {
        assert_eq!(html("<script>\"'&\x1b"), "&lt;script&gt;&quot;&#39;&amp;\\x1b");
        assert_eq!(xml("a\x07\nb"), "a\\x07\nb");
    }

    #[test]
    fn log_writer_escapes_what_the_formatter_lets_through() {
        use std::io::Write;
        let mut w = LogWriter(Vec::new());
        w.write_all("\x1b[33mWARN\x1b[0m fake\rall tests passed \u{202e}x\n".as_bytes()).unwrap();
        assert_eq!(String::from_utf8(w.0).unwrap(), "\x1b[33mWARN\x1b[0m fake\\rall tests passed \\u{202e}x\n");
    }

    #[derive(Debug, thiserror::Error, miette::Diagnostic)]
    #[error("plugin said {0}")]
    #[diagnostic(code(x::y), help("help {0}"))]
    struct Hostile(String, #[source] std::io::Error);

    #[test]
    fn diagnostics_are_cleaned_throughout() {
        let e = Hostile("\x1b]0;pwned\x07".into(), std::io::Error::other("cause \x1b[2J"));
        let c = Clean::new(&e);
        let mut out = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .render_report(&mut out, &c)
            .unwrap();
        assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out}");
        assert!(out.contains("plugin said \\x1b]0;pwned\\x07"), "{out}");
        assert!(out.contains("help \\x1b]0;pwned\\x07"), "{out}");
        assert!(out.contains("cause \\x1b[2J"), "{out}");
    }
}
