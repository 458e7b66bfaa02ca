//! What the tables name (field paths, header names, codes, types, statuses and message phrases),
//! read through the public `llm_error_taxonomy::table` API, and a JSON writer that keeps key
//! order and duplicate keys: the generated inputs of the structured fuzz target and of the
//! property tests are built from these, so no provider knowledge is written down twice.

use llm_error_taxonomy::table::{self, Condition, Location, Op, StatusPattern, Subject};
use llm_error_taxonomy::{ErrorCode, Field};
use std::sync::OnceLock;
use strum::IntoEnumIterator;

/// What the tables name, gathered once.
pub struct Vocab {
    /// Every body path of every table, as segments, sorted.
    pub paths: Vec<Vec<String>>,
    /// Every segment of those paths, plus the keys of a details entry.
    pub segments: Vec<String>,
    /// Every header a table reads.
    pub headers: Vec<&'static str>,
    /// Every code a rule or signature tests, and the 12 codes.
    pub codes: Vec<&'static str>,
    pub types: Vec<&'static str>,
    pub phrases: Vec<&'static str>,
    pub statuses: Vec<StatusPattern>,
}

/// The retry phrases the message reader understands (see `src/retry_after.rs`).
pub const RETRY_PHRASES: [&str; 3] = ["retry after", "try again in", "retry in"];
/// Units that may follow a retry phrase's number.
pub const RETRY_UNITS: [&str; 6] = ["", "s", " seconds", "ms", " minutes", "h"];
/// The standard headers that carry a retry delay, and `date`, which dates are measured from.
pub const RETRY_HEADERS: [&str; 4] = ["retry-after", "retry-after-ms", "x-ratelimit-reset", "date"];

pub fn vocab() -> &'static Vocab {
    static VOCAB: OnceLock<Vocab> = OnceLock::new();
    VOCAB.get_or_init(|| {
        let mut v = Vocab {
            paths: Vec::new(),
            segments: vec!["field".into(), "code".into(), "message".into()],
            headers: Vec::new(),
            codes: ErrorCode::iter().map(ErrorCode::as_str).collect(),
            types: Vec::new(),
            phrases: Vec::new(),
            statuses: Vec::new(),
        };
        let add_location = |v: &mut Vocab, loc: Location| match loc {
            Location::Body { .. } => {
                let path: Vec<String> =
                    loc.path().split('|').next().unwrap_or_default().split('.').map(str::to_owned).collect();
                v.segments.extend(path.iter().cloned());
                v.paths.push(path);
            }
            Location::Header { name, .. } => v.headers.push(name),
            _ => {}
        };
        let add_condition = |v: &mut Vocab, c: &Condition| {
            for t in c.tests {
                match (t.subject, t.op) {
                    (Subject::Field(Field::Type), Op::Equals(e)) => v.types.extend(e),
                    (_, Op::Equals(e) | Op::StartsWith(e)) => v.codes.extend(e),
                    (_, Op::Contains(p)) => v.phrases.extend(p),
                    (_, Op::Status(p)) => v.statuses.extend(p),
                    _ => {}
                }
            }
        };
        for t in table::all() {
            for field in t.fields {
                for loc in field.iter() {
                    add_location(&mut v, *loc);
                }
            }
            if let Some(detect) = &t.detect {
                for sig in detect.signatures {
                    add_condition(&mut v, &sig.when);
                    for loc in sig.present.iter().chain(sig.numeric) {
                        add_location(&mut v, *loc);
                    }
                }
            }
            for rule in t.rules {
                add_condition(&mut v, &rule.when);
            }
        }
        v.paths.sort();
        v.paths.dedup();
        v.segments.sort();
        v.segments.dedup();
        for list in [&mut v.codes, &mut v.types, &mut v.phrases, &mut v.headers] {
            list.sort_unstable();
            list.dedup();
        }
        v.statuses.sort_by_key(|p| p.to_string());
        v.statuses.dedup();
        v
    })
}

/// The `i`-th item of `list`, wrapping around; `None` for an empty list.
pub fn pick<T>(list: &[T], i: usize) -> Option<&T> {
    (!list.is_empty()).then(|| &list[i % list.len()])
}

/// A status the tables test: an exact one, or `n` within a class.
pub fn table_status(i: usize, n: u16) -> u16 {
    match pick(&vocab().statuses, i) {
        Some(StatusPattern::Exact(s)) => *s,
        Some(StatusPattern::Class(c)) => c * 100 + n % 100,
        None => 500,
    }
}

/// An IMF-fixdate for Unix time `t` (clamped to 1970 onwards).
pub fn http_date(t: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let t = t.max(0);
    let (days, secs) = (t / 86_400, t % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A JSON string literal.
pub fn string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A JSON number literal; `null` for a non-finite float.
pub fn float(f: f64) -> String {
    serde_json::Number::from_f64(f).map_or_else(|| "null".to_owned(), |n| n.to_string())
}

/// A JSON object written in order, duplicate keys and all; `Raw` is JSON text written as is.
#[derive(Debug, Clone)]
pub enum Node {
    Object(Vec<(String, Node)>),
    Raw(String),
}

impl Node {
    pub fn object(members: impl IntoIterator<Item = (String, String)>) -> Node {
        Node::Object(members.into_iter().map(|(k, v)| (k, Node::Raw(v))).collect())
    }

    /// Adds `value` at `path`, inside the last object of each key on the way (created when
    /// missing). A key set twice is written twice.
    pub fn insert(&mut self, path: &[String], value: Node) {
        let Node::Object(members) = self else { return };
        let Some((first, rest)) = path.split_first() else { return };
        if rest.is_empty() {
            members.push((first.clone(), value));
            return;
        }
        let at = members.iter().rposition(|(k, n)| k == first && matches!(n, Node::Object(_))).unwrap_or_else(|| {
            members.push((first.clone(), Node::Object(Vec::new())));
            members.len() - 1
        });
        members[at].1.insert(rest, value);
    }

    /// The JSON text, compact or indented.
    pub fn to_json(&self, pretty: bool) -> String {
        let mut out = String::new();
        self.write(pretty, 0, &mut out);
        out
    }

    fn write(&self, pretty: bool, indent: usize, out: &mut String) {
        match self {
            Node::Raw(s) => out.push_str(s),
            Node::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if pretty {
                        out.push('\n');
                        out.push_str(&"  ".repeat(indent + 1));
                    }
                    out.push_str(&string(k));
                    out.push_str(if pretty { ": " } else { ":" });
                    v.write(pretty, indent + 1, out);
                }
                if pretty && !members.is_empty() {
                    out.push('\n');
                    out.push_str(&"  ".repeat(indent));
                }
                out.push('}');
            }
        }
    }
}
