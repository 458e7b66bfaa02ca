//! `normalize_structured`: builds envelope-shaped responses from the tables' own field paths,
//! header names, codes, types, statuses and message phrases (read through the public
//! `llm_error_taxonomy::table` API, see `tests/common/vocab.rs`), so the fuzzer reaches the
//! rules instead of stopping in the JSON parser. Each response is rendered in the raw format
//! and checked exactly as `normalize_raw` checks it (`tests/common/targets.rs`).
//!
//! With `FUZZ_RENDER_TO=<file>` set, the rendered response is also written to that file before
//! it is checked: that is how a failing input is kept under
//! `tests/fuzz_regressions/normalize_structured/`.

#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

use arbitrary::Arbitrary;
use common::invariants::NOW;
use common::vocab::{Node, RETRY_HEADERS, RETRY_PHRASES, RETRY_UNITS, float, http_date, pick, string, vocab};
use llm_error_taxonomy::Style;
use strum::IntoEnumIterator;

#[derive(Debug, Arbitrary)]
enum Status {
    Table(u8, u8),
    Any(u16),
}

impl Status {
    fn number(&self) -> u16 {
        match *self {
            Status::Table(i, n) => common::vocab::table_status(usize::from(i), u16::from(n)),
            Status::Any(n) => n,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum HeaderName {
    Table(u8),
    Retry(u8),
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum HeaderValue {
    Seconds(u32),
    Float(f64),
    /// An HTTP-date this many seconds from the fixed "now".
    DateFromNow(i32),
    UnixSeconds(i32),
    UnixMillis(i64),
    Duration {
        h: u8,
        m: u8,
        s: u8,
        ms: u16,
    },
    Text(String),
}

impl HeaderValue {
    fn render(&self) -> String {
        let now = NOW as i64;
        match self {
            HeaderValue::Seconds(n) => n.to_string(),
            HeaderValue::Float(f) => f.to_string(),
            HeaderValue::DateFromNow(d) => http_date(now + i64::from(*d)),
            HeaderValue::UnixSeconds(d) => (now + i64::from(*d)).to_string(),
            HeaderValue::UnixMillis(d) => (now * 1000).saturating_add(*d).to_string(),
            HeaderValue::Duration { h, m, s, ms } => format!("{h}h{m}m{s}s{ms}ms"),
            HeaderValue::Text(t) => t.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Key {
    Known(u8),
    Named(String),
}

impl Key {
    fn text(&self) -> String {
        match self {
            Key::Known(i) => pick(&vocab().segments, usize::from(*i)).cloned().unwrap_or_default(),
            Key::Named(s) => s.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Scalar {
    Code(u8),
    Type(u8),
    Phrase(u8, String, String),
    RetryPhrase(u8, u32, u8),
    Status(Status),
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
}

impl Scalar {
    fn json(&self) -> String {
        let v = vocab();
        let word = |list: &[&'static str], i: u8| pick(list, usize::from(i)).copied().unwrap_or("");
        match self {
            Scalar::Code(i) => string(word(&v.codes, *i)),
            Scalar::Type(i) => string(word(&v.types, *i)),
            Scalar::Phrase(i, before, after) => string(&format!("{before}{}{after}", word(&v.phrases, *i))),
            Scalar::RetryPhrase(p, n, u) => string(&format!(
                "Please {} {n}{}.",
                RETRY_PHRASES[usize::from(*p) % RETRY_PHRASES.len()],
                RETRY_UNITS[usize::from(*u) % RETRY_UNITS.len()]
            )),
            Scalar::Status(s) => s.number().to_string(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Float(f) => float(*f),
            Scalar::Str(s) => string(s),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Null => "null".to_owned(),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Entry {
    field: Option<Scalar>,
    code: Option<Scalar>,
    message: Option<Scalar>,
    others: Vec<(Key, Scalar)>,
}

#[derive(Debug, Arbitrary)]
enum Json {
    Scalar(Scalar),
    Details(Vec<Entry>),
    Object(Vec<(Key, Scalar)>),
    Array(Vec<Scalar>),
}

impl Json {
    fn node(&self) -> Node {
        match self {
            Json::Scalar(s) => Node::Raw(s.json()),
            Json::Object(members) => Node::object(members.iter().map(|(k, v)| (k.text(), v.json()))),
            Json::Array(items) => {
                Node::Raw(format!("[{}]", items.iter().map(Scalar::json).collect::<Vec<_>>().join(",")))
            }
            Json::Details(entries) => {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|e| {
                        let named = [("field", &e.field), ("code", &e.code), ("message", &e.message)];
                        let members = named
                            .into_iter()
                            .filter_map(|(k, v)| Some((k.to_owned(), v.as_ref()?.json())))
                            .chain(e.others.iter().map(|(k, v)| (k.text(), v.json())));
                        Node::object(members).to_json(false)
                    })
                    .collect();
                Node::Raw(format!("[{}]", entries.join(",")))
            }
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Where {
    Root,
    Error,
}

#[derive(Debug, Arbitrary)]
enum Tail {
    Whole,
    Truncated(u16),
    Garbage(String),
}

#[derive(Debug, Arbitrary)]
struct Input {
    style: Option<u8>,
    status: Status,
    headers: Vec<(HeaderName, HeaderValue)>,
    fields: Vec<(u8, Json)>,
    unknown: Vec<(Where, Key, Json)>,
    pretty: bool,
    bom: bool,
    tail: Tail,
}

impl Input {
    fn render(&self) -> Vec<u8> {
        let v = vocab();
        let style = self.style.and_then(|i| Style::iter().nth(usize::from(i) % Style::iter().len()));
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter_map(|(name, value)| {
                let name = match name {
                    HeaderName::Table(i) => (*pick(&v.headers, usize::from(*i))?).to_owned(),
                    HeaderName::Retry(i) => (*pick(&RETRY_HEADERS, usize::from(*i))?).to_owned(),
                    HeaderName::Other(s) => s.clone(),
                };
                let value = value.render();
                let valid = http::HeaderName::from_bytes(name.as_bytes()).is_ok()
                    && http::HeaderValue::from_str(&value).is_ok()
                    && !value.contains(['\r', '\n']);
                valid.then_some((name, value))
            })
            .collect();

        let mut root = Node::Object(Vec::new());
        for (i, value) in &self.fields {
            if let Some(path) = pick(&v.paths, usize::from(*i)) {
                root.insert(path, value.node());
            }
        }
        for (place, key, value) in &self.unknown {
            let path = match place {
                Where::Root => vec![key.text()],
                Where::Error => vec!["error".to_owned(), key.text()],
            };
            root.insert(&path, value.node());
        }
        let mut body = Vec::new();
        if self.bom {
            body.extend_from_slice(b"\xEF\xBB\xBF");
        }
        body.extend_from_slice(root.to_json(self.pretty).as_bytes());
        match &self.tail {
            Tail::Whole => {}
            Tail::Truncated(n) => body.truncate(usize::from(*n) % (body.len() + 1)),
            Tail::Garbage(s) => body.extend_from_slice(s.as_bytes()),
        }
        common::response::render(style, self.status.number(), &headers, &body)
    }
}

libfuzzer_sys::fuzz_target!(|input: Input| {
    let raw = input.render();
    if let Some(path) = std::env::var_os("FUZZ_RENDER_TO") {
        std::fs::write(path, &raw).expect("FUZZ_RENDER_TO is writable");
    }
    common::targets::normalize_raw(&raw);
});
