//! The taxonomy compiler: loads `taxonomy/`, validates it, and emits Rust.
//!
//! `build.rs` calls [`run`]; tests include this file as a module and call [`load`] on
//! deliberately broken tables to check that every problem is reported at once.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

#[path = "docs.rs"]
pub mod docs;

// ---------------------------------------------------------------------------------------------
// The tables, as written in JSON.
// ---------------------------------------------------------------------------------------------

/// `taxonomy/codes.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodesFile {
    #[serde(rename = "$schema", default, skip_serializing)]
    pub schema: Option<String>,
    pub codes: Vec<CodeRow>,
}

/// One of the 12 codes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRow {
    pub code: String,
    pub status: u16,
    pub retryable: bool,
    pub description: String,
    pub action: String,
    pub message: String,
    pub source: String,
    pub wire: WireRow,
}

/// How a code is written in other APIs' wire formats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireRow {
    pub openai_type: String,
    pub openai_code: String,
    pub anthropic_type: String,
    pub google_status: String,
}

/// Anthropic's error types (<https://docs.anthropic.com/en/api/errors>).
pub const ANTHROPIC_TYPES: [&str; 10] = [
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "billing_error",
    "timeout_error",
    "api_error",
    "overloaded_error",
];

/// The names of google.rpc.Code (<https://cloud.google.com/apis/design/errors>).
pub const GOOGLE_STATUSES: [&str; 16] = [
    "INVALID_ARGUMENT",
    "FAILED_PRECONDITION",
    "OUT_OF_RANGE",
    "UNAUTHENTICATED",
    "PERMISSION_DENIED",
    "NOT_FOUND",
    "ABORTED",
    "ALREADY_EXISTS",
    "RESOURCE_EXHAUSTED",
    "CANCELLED",
    "DATA_LOSS",
    "UNKNOWN",
    "INTERNAL",
    "UNIMPLEMENTED",
    "UNAVAILABLE",
    "DEADLINE_EXCEEDED",
];

/// `taxonomy/transport.json`: failures with no upstream response, or one cut short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportFile {
    #[serde(rename = "$schema", default, skip_serializing)]
    pub schema: Option<String>,
    pub failures: Vec<TransportRow>,
}

/// One transport failure and the error it becomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportRow {
    pub failure: String,
    pub description: String,
    pub code: String,
    pub reason: String,
    pub message: String,
    pub after_headers: bool,
    pub source: String,
}

/// `taxonomy/retry.json`: the defaults of the retry advice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryFile {
    #[serde(rename = "$schema", default, skip_serializing)]
    pub schema: Option<String>,
    /// The wait after the first failed attempt, in milliseconds.
    pub base_ms: RetryParam,
    /// How much longer each wait is than the one before.
    pub factor: RetryParam,
    /// The longest backoff, in milliseconds.
    pub cap_ms: RetryParam,
    /// The most random time added to a wait, in milliseconds.
    pub jitter_ms: RetryParam,
    /// The most attempts in all, the first included.
    pub max_attempts: RetryParam,
    /// A longer `retry_after` means give up now rather than wait, in milliseconds.
    pub give_up_after_ms: RetryParam,
}

/// One retry default and what it is based on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryParam {
    pub value: f64,
    pub source: String,
}

/// `taxonomy/secrets.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsFile {
    #[serde(rename = "$schema", default, skip_serializing)]
    pub schema: Option<String>,
    pub secrets: Vec<SecretRow>,
}

/// A secret format that output must never carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRow {
    pub name: String,
    pub prefix: String,
    pub min_len: usize,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub extra_chars: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_case: bool,
    /// The most token characters a secret of the format has; a longer run is no such secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<usize>,
    /// Character classes the token must hold, each of `digit`, `lower` and `upper` (an
    /// uppercase letter after the token's first character): what tells a key from a word.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    pub source: String,
}

/// `taxonomy/providers/<style>.json` and `taxonomy/generic.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleFile {
    #[serde(rename = "$schema", default, skip_serializing)]
    pub schema: Option<String>,
    pub style: String,
    pub name: String,
    pub description: String,
    pub seed: String,
    /// The style this one builds on: its fields, figures, stream and rules are inherited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Where each field is read, first present wins: any snake_case name.
    pub fields: BTreeMap<String, Vec<String>>,
    /// Fields whose values ride in the first details entry as figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<String>,
    /// Arrays of field-level details and how their members are named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<DetailsSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect: Option<Detect>,
    pub rules: Vec<RuleRow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamSection>,
    /// A gateway's error that carries the upstream provider's own error inside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner: Option<InnerSection>,
}

/// Where a gateway's error carries the upstream's error (an object, or JSON in a string such as
/// OpenRouter's `metadata.raw` or LiteLLM's message) and which style reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InnerSection {
    /// The declared field holding the inner error: its JSON text, from the first `{` or `[`.
    pub body: String,
    /// Provider names as the `provider` field gives them (compared in lowercase) and the style
    /// that reads their errors; a provider not listed is detected from the inner body.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub styles: BTreeMap<String, String>,
    pub source: String,
}

/// Where a style's field-level details live: an array of objects (or, with `keyed`, an object
/// of objects keyed by category), and which member holds each part of a detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetailsSource {
    /// The location of the array or object.
    pub at: String,
    /// Each member of an object is one detail, its key the detail's code.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keyed: bool,
    /// Keep only entries whose member of this name is `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_if: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub source: String,
}

/// How a style's server-sent event streams end, report errors and carry output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSection {
    /// `data` payloads that end the stream, such as `[DONE]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub done: Vec<String>,
    /// Event names that end the stream, such as `message_stop`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub end_events: Vec<String>,
    /// Event names whose data is an error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_events: Vec<String>,
    /// Event names whose messages carry generated output (an event stream's `chunk`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_events: Vec<String>,
    /// SSE field names, besides `data`, whose value is an error object (llama.cpp's `error:`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_fields: Vec<String>,
    /// Paths whose presence in a `data` payload makes it an error object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_paths: Vec<String>,
    /// `path=value`: a payload whose string at `path` is `value` is an error object (vLLM's
    /// `object=error`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_values: Vec<String>,
    /// Where a chunk's finish reason lives; `*` is any array element.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finish_reason: Vec<String>,
    /// Finish reasons that mean the generation failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_finish_reasons: Vec<String>,
    /// Finish reasons that end a stream that has no other terminator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub done_finish_reasons: Vec<String>,
    /// Paths of generated output: a non-empty value there means output was delivered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output: Vec<String>,
    /// SSE comment prefixes followed by the event's HTTP status (DashScope's `:HTTP_STATUS/429`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_comments: Vec<String>,
    pub sources: Vec<String>,
}

/// How `detect` recognizes a style.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detect {
    /// Styles this one is tried before, besides the styles it extends (a style is always tried
    /// before what it builds on). Two styles whose signatures can both hold must be ordered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<String>,
    pub signatures: Vec<Signature>,
}

/// One shape that identifies a style.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub present: Vec<String>,
    /// Body paths that must hold a JSON number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numeric: Vec<String>,
    #[serde(default, skip_serializing_if = "Condition::is_empty")]
    pub when: Condition,
    pub source: String,
}

/// One mapping rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleRow {
    pub name: String,
    pub when: Condition,
    pub then: Outcome,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
    /// The table the rule is written in (a style's wire name, or `generic`), set by
    /// [`Taxonomy::effective`]; empty in a table as read.
    #[serde(skip)]
    pub table: String,
}

/// A rule's conditions: every test must hold. The key `status` is the HTTP status; any other
/// key is a field the style declares.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Condition(pub BTreeMap<String, Test>);

impl Condition {
    /// Whether a field holds a status: the HTTP status, or a field named for one
    /// (`upstream_status`); a number tested on any other field is a vendor's numeric code.
    pub fn is_status_like(subject: &str) -> bool {
        subject == "status" || subject.ends_with("_status")
    }

    /// Rewrites exact numbers tested on fields that are not status-like as the codes' text
    /// (Zhipu's `1113`), which is how the runtime compares them.
    fn numbers_as_codes(&mut self) {
        for (k, t) in self.0.iter_mut() {
            if let Test::Status(p) = t
                && !Condition::is_status_like(k)
                && p.iter().all(|p| matches!(p, StatusPattern::Exact(_)))
            {
                *t = Test::Equals(p.iter().map(ToString::to_string).collect());
            }
        }
    }

    /// Whether nothing is tested.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The test on `subject`, if there is one.
    pub fn get(&self, subject: &str) -> Option<&Test> {
        self.0.get(subject)
    }

    /// The status patterns tested on the HTTP status (empty when the status is not tested).
    pub fn status(&self) -> &[StatusPattern] {
        match self.0.get("status") {
            Some(Test::Status(p)) => p,
            _ => &[],
        }
    }

    /// Whether only the HTTP status is tested: the rule is a fallback by status.
    pub fn is_status_only(&self) -> bool {
        self.0.len() == 1 && !self.status().is_empty()
    }

    /// The phrase tests, as (field, phrases).
    pub fn phrases(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().filter_map(|(k, t)| match t {
            Test::Contains(p) => Some((k.as_str(), p.as_slice())),
            _ => None,
        })
    }
}

/// One test on a field (or on the HTTP status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// The field's text is one of these, exactly: `"code": "x"` or `"code": ["x", "y"]`.
    Equals(Vec<String>),
    /// The field's text starts with one of these: `{"starts_with": [...]}`.
    StartsWith(Vec<String>),
    /// The field's text contains one of these lowercase phrases on word boundaries, ignoring
    /// ASCII case: `{"contains": [...]}`.
    Contains(Vec<String>),
    /// The field, read as a number, matches one of these statuses: `429`, `"4xx"`, `[502, 503]`.
    Status(Vec<StatusPattern>),
    /// The field is present (`true`) or absent (`false`): `{"present": true}`.
    Present(bool),
}

impl Test {
    /// The operator's name as the tables write it.
    pub fn op(&self) -> &'static str {
        match self {
            Test::Equals(_) => "equals",
            Test::StartsWith(_) => "starts_with",
            Test::Contains(_) => "contains",
            Test::Status(_) => "status",
            Test::Present(_) => "present",
        }
    }

    /// Whether every value satisfying `self` also satisfies `earlier`.
    pub fn implies(&self, earlier: &Test) -> bool {
        use Test::*;
        match (self, earlier) {
            (_, Present(true)) => !matches!(self, Present(false)),
            (Present(a), Present(b)) => a == b,
            (Equals(l), Equals(e)) => l.iter().all(|v| e.contains(v)),
            (Equals(l), StartsWith(e)) => l.iter().all(|v| e.iter().any(|p| v.starts_with(p.as_str()))),
            (StartsWith(l), StartsWith(e)) => l.iter().all(|v| e.iter().any(|p| v.starts_with(p.as_str()))),
            (Contains(l), Contains(e)) => l.iter().all(|v| e.iter().any(|p| v.contains(p.as_str()))),
            (Status(l), Status(e)) => l.iter().all(|lp| e.iter().any(|ep| lp.within(*ep))),
            _ => false,
        }
    }
}

impl Serialize for Test {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Test::Equals(v) if v.len() == 1 => v[0].serialize(s),
            Test::Equals(v) => v.serialize(s),
            Test::Status(v) if v.len() == 1 => v[0].serialize(s),
            Test::Status(v) => v.serialize(s),
            Test::StartsWith(v) | Test::Contains(v) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(self.op(), v)?;
                m.end()
            }
            Test::Present(b) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("present", b)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Test {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Scalar {
            N(u64),
            S(String),
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Ops {
            #[serde(default, with = "one_or_many")]
            equals: Vec<String>,
            #[serde(default, with = "one_or_many")]
            starts_with: Vec<String>,
            #[serde(default, with = "one_or_many")]
            contains: Vec<String>,
            #[serde(default, with = "one_or_many")]
            status: Vec<StatusPattern>,
            present: Option<bool>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(Scalar),
            Many(Vec<Scalar>),
            Op(Ops),
        }
        fn is_pattern(s: &Scalar) -> bool {
            match s {
                Scalar::N(_) => true,
                Scalar::S(s) => s.len() == 3 && s.as_bytes()[0].is_ascii_digit() && &s[1..] == "xx",
            }
        }
        fn pattern<E: Error>(s: Scalar) -> Result<StatusPattern, E> {
            match s {
                Scalar::N(n) => u16::try_from(n)
                    .map(StatusPattern::Exact)
                    .map_err(|_| E::custom(format!("status {n} is not an HTTP status"))),
                Scalar::S(s) => Ok(StatusPattern::Class(u16::from(s.as_bytes()[0] - b'0'))),
            }
        }
        fn list<E: Error>(items: Vec<Scalar>) -> Result<Test, E> {
            if items.is_empty() {
                return Err(E::custom("an empty list matches nothing"));
            }
            // Numbers too large for a status are a vendor's numeric codes: their decimal text.
            if items.iter().all(|s| matches!(s, Scalar::N(n) if *n > 999)) {
                return Ok(Test::Equals(
                    items
                        .into_iter()
                        .map(|s| if let Scalar::N(n) = s { n.to_string() } else { String::new() })
                        .collect(),
                ));
            }
            if items.iter().all(is_pattern) {
                return items.into_iter().map(pattern).collect::<Result<_, _>>().map(Test::Status);
            }
            items
                .into_iter()
                .map(|s| match s {
                    Scalar::S(s) => Ok(s),
                    Scalar::N(n) => Err(E::custom(format!("{n} mixes a status into a list of strings"))),
                })
                .collect::<Result<_, _>>()
                .map(Test::Equals)
        }
        match Raw::deserialize(d)? {
            Raw::One(s) => list(vec![s]),
            Raw::Many(v) => list(v),
            Raw::Op(o) => {
                let mut tests = Vec::new();
                if !o.equals.is_empty() {
                    tests.push(Test::Equals(o.equals));
                }
                if !o.starts_with.is_empty() {
                    tests.push(Test::StartsWith(o.starts_with));
                }
                if !o.contains.is_empty() {
                    tests.push(Test::Contains(o.contains));
                }
                if !o.status.is_empty() {
                    tests.push(Test::Status(o.status));
                }
                if let Some(p) = o.present {
                    tests.push(Test::Present(p));
                }
                match tests.len() {
                    1 => Ok(tests.remove(0)),
                    0 => Err(D::Error::custom("a test needs one of equals, starts_with, contains, status, present")),
                    _ => Err(D::Error::custom(
                        "one test per field: give one of equals, starts_with, contains, status, present",
                    )),
                }
            }
        }
    }
}

/// What a rule yields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An HTTP status or a class of them, written `429` or `"4xx"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusPattern {
    Exact(u16),
    /// The hundreds digit: `Class(4)` is `4xx`.
    Class(u16),
}

impl StatusPattern {
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Exact(s) => s == status,
            StatusPattern::Class(c) => status / 100 == c,
        }
    }

    /// Whether every status this pattern matches, `other` matches too.
    pub fn within(self, other: StatusPattern) -> bool {
        match (self, other) {
            (a, StatusPattern::Exact(b)) => a == StatusPattern::Exact(b),
            (StatusPattern::Exact(a), StatusPattern::Class(c)) => a / 100 == c,
            (StatusPattern::Class(a), StatusPattern::Class(c)) => a == c,
        }
    }

    fn in_range(self) -> bool {
        match self {
            StatusPattern::Exact(s) => (400..=599).contains(&s),
            StatusPattern::Class(c) => c == 4 || c == 5,
        }
    }
}

impl fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusPattern::Exact(s) => write!(f, "{s}"),
            StatusPattern::Class(c) => write!(f, "{c}xx"),
        }
    }
}

impl Serialize for StatusPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            StatusPattern::Exact(n) => s.serialize_u16(*n),
            StatusPattern::Class(_) => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for StatusPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => u16::try_from(n)
                .map(StatusPattern::Exact)
                .map_err(|_| serde::de::Error::custom(format!("status {n} is not an HTTP status"))),
            Raw::S(s) => {
                let b = s.as_bytes();
                if b.len() == 3 && b[0].is_ascii_digit() && &b[1..] == b"xx" {
                    Ok(StatusPattern::Class(u16::from(b[0] - b'0')))
                } else {
                    Err(serde::de::Error::custom(format!(
                        "status {s:?} is neither a number nor a class such as \"4xx\""
                    )))
                }
            }
        }
    }
}

/// Accepts `x` or `[x, ...]`; writes `x` when there is one.
mod one_or_many {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany<T> {
            Many(Vec<T>),
            One(T),
        }
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::Many(v) => v,
            OneOrMany::One(x) => vec![x],
        })
    }
}

/// The fields a style table may locate, in the order of the generated `Field` enum.
pub const FIELDS: &[(&str, &str)] = &[
    ("message", "Human-readable message."),
    ("code", "Machine-readable error code."),
    ("type", "Error type or category."),
    ("status", "HTTP status repeated in the body."),
    ("retry_after", "Seconds to wait before retrying."),
    ("provider", "The upstream provider behind the gateway."),
    ("upstream_status", "The upstream provider's own HTTP status."),
    ("details", "An array of `{field, code, message}` objects."),
    ("param", "The request parameter at fault."),
    ("request_id", "The request id to quote to support."),
    ("model_max_tokens", "The model's context window, in tokens."),
    ("request_tokens", "The tokens the request used."),
    ("balance", "The remaining account balance."),
    ("should_retry", "Whether upstream says a retry may succeed (`true` or `false`)."),
];

/// The whole taxonomy, loaded and validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Taxonomy {
    pub codes: Vec<CodeRow>,
    /// The styles, sorted by wire name.
    pub styles: Vec<StyleFile>,
    pub generic: StyleFile,
    pub secrets: Vec<SecretRow>,
    pub retry: RetryFile,
    pub transport: Vec<TransportRow>,
}

impl Taxonomy {
    /// The style named `wire`, or the generic table for `"generic"`.
    pub fn find(&self, wire: &str) -> Option<&StyleFile> {
        if wire == "generic" {
            return Some(&self.generic);
        }
        self.styles.iter().find(|s| s.style == wire)
    }

    /// `style` and the styles it extends, nearest first (stopping at a cycle).
    pub fn lineage<'t>(&'t self, style: &'t StyleFile) -> Vec<&'t StyleFile> {
        let mut chain = vec![style];
        let mut next = style.extends.as_deref();
        while let Some(parent) = next.and_then(|w| self.find(w)) {
            if chain.iter().any(|s| s.style == parent.style) {
                break;
            }
            chain.push(parent);
            next = parent.extends.as_deref();
        }
        chain
    }

    /// Every field name any table declares: the fields the crate reads itself first, in
    /// [`FIELDS`] order, then the others alphabetically. The generated `Field` enum.
    pub fn field_names(&self) -> Vec<String> {
        let mut names: Vec<String> = FIELDS.iter().map(|(n, _)| (*n).to_owned()).collect();
        let mut others = BTreeSet::new();
        for s in self.styles.iter().chain(std::iter::once(&self.generic)) {
            others.extend(s.fields.keys().filter(|k| !names.contains(k)).cloned());
        }
        names.extend(others);
        names
    }

    /// A style's table with everything it inherits, as the crate compiles it: fields and
    /// figures of the styles it extends (its own win), their details and stream section, their
    /// rules after its own, and last the fallbacks by status, its own and its ancestors' before
    /// the generic table's. The generic table's header sources of `retry_after` come first in
    /// every style.
    pub fn effective(&self, style: &StyleFile) -> StyleFile {
        let chain = self.lineage(style);
        let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut figures = Vec::new();
        for s in chain.iter().rev() {
            for (k, v) in &s.fields {
                fields.insert(k.clone(), v.clone());
            }
            for f in &s.figures {
                if !figures.contains(f) {
                    figures.push(f.clone());
                }
            }
        }
        if style.style != "generic" {
            let headers: Vec<String> = self
                .generic
                .fields
                .get("retry_after")
                .into_iter()
                .flatten()
                .filter(|l| l.starts_with("header:"))
                .cloned()
                .collect();
            let own = fields.remove("retry_after").unwrap_or_default();
            let mut all = headers;
            all.extend(
                own.into_iter()
                    .filter(|l| !l.starts_with("header:") || !self.generic.fields["retry_after"].contains(l)),
            );
            if !all.is_empty() {
                fields.insert("retry_after".to_owned(), all);
            }
        }
        let details = chain.iter().flat_map(|s| s.details.iter().cloned()).collect();
        let stream = chain.iter().find_map(|s| s.stream.clone());
        let inner = chain.iter().find_map(|s| s.inner.clone());
        // Structured rules first (a field's value decides, possibly refined by a phrase), then
        // those that test only the status and a phrase, each tier the style's own before its
        // ancestors': a phrase never wins against an inherited structured value.
        let structured = |r: &&RuleRow| r.when.0.iter().any(|(k, t)| k != "status" && !matches!(t, Test::Contains(_)));
        let written_in = |s: &StyleFile, r: &RuleRow| RuleRow { table: s.style.clone(), ..r.clone() };
        let mut rules: Vec<RuleRow> = chain
            .iter()
            .flat_map(|s| s.rules.iter().filter(structured).map(|r| written_in(s, r)))
            .chain(chain.iter().flat_map(|s| {
                s.rules.iter().filter(|r| !r.when.is_status_only() && !structured(r)).map(|r| written_in(s, r))
            }))
            .collect();
        let mut fallbacks: Vec<RuleRow> = Vec::new();
        let generic = (style.style != "generic").then_some(&self.generic);
        for s in chain.iter().copied().chain(generic) {
            for r in s.rules.iter().filter(|r| r.when.is_status_only()) {
                if !fallbacks.iter().any(|f| f.when == r.when) {
                    fallbacks.push(written_in(s, r));
                }
            }
        }
        // Exact statuses before classes, so a class rule never hides an exact one inherited.
        fallbacks.sort_by_key(|r| matches!(r.when.status().first(), Some(StatusPattern::Class(_))));
        rules.extend(fallbacks);
        StyleFile {
            schema: None,
            style: style.style.clone(),
            name: style.name.clone(),
            description: style.description.clone(),
            seed: style.seed.clone(),
            extends: style.extends.clone(),
            fields,
            figures,
            details,
            detect: style.detect.clone(),
            rules,
            stream,
            inner,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Locations: where a field is read.
// ---------------------------------------------------------------------------------------------

/// A path segment of a body location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object member.
    Key(String),
    /// Every element of an array, in order (the first that yields a value wins).
    Any,
    /// The elements of an array that are objects whose member `.0` is the string `.1`.
    Where(String, String),
    /// The string here holds JSON: decode it and go on in the decoded value.
    Json,
}

/// A transform applied to a located value, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transform {
    /// The part before the first occurrence of the separator (all of it when absent).
    Before(String),
    /// The part after the last occurrence of the separator (all of it when absent).
    After(String),
    /// A number, also from a numeric string.
    Number,
    /// Milliseconds, as seconds.
    Millis,
    /// A duration such as `17s`, `6m0s`, `20ms` or `1h2m3s`, as seconds.
    Duration,
    /// Seconds, or an HTTP-date (any of RFC 9110's three forms), as seconds from now.
    Delay,
    /// `X-RateLimit-Reset`: seconds to wait, a Unix time in seconds or milliseconds, or a duration.
    Reset,
    /// An RFC 3339 time, as seconds from now.
    Rfc3339,
    /// ASCII lowercase.
    Lower,
    /// The value only when it contains this text (so that `before:` and `after:` read only
    /// values that have their separator).
    Containing(String),
    /// The value only when the response's header `.0` is `.1` (such as the bucket whose
    /// `x-ratelimit-remaining-tokens` is `0`).
    If(String, String),
}

impl Transform {
    fn parse(s: &str) -> Option<Transform> {
        Some(match s {
            "number" => Transform::Number,
            "ms" => Transform::Millis,
            "duration" => Transform::Duration,
            "delay" => Transform::Delay,
            "reset" => Transform::Reset,
            "rfc3339" => Transform::Rfc3339,
            "lower" => Transform::Lower,
            _ => {
                if let Some(sep) = s.strip_prefix("before:").filter(|p| !p.is_empty()) {
                    Transform::Before(sep.to_owned())
                } else if let Some(sep) = s.strip_prefix("after:").filter(|p| !p.is_empty()) {
                    Transform::After(sep.to_owned())
                } else if let Some(text) = s.strip_prefix("containing:").filter(|p| !p.is_empty()) {
                    Transform::Containing(text.to_owned())
                } else if let Some((h, v)) = s.strip_prefix("if:").and_then(|c| c.split_once('=')) {
                    if h.is_empty() || !h.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                        return None;
                    }
                    Transform::If(h.to_owned(), v.to_owned())
                } else {
                    return None;
                }
            }
        })
    }
}

/// Where a field is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loc {
    /// A path into the JSON body (an empty path is the whole body).
    Body(Vec<Seg>, Vec<Transform>),
    /// A response header, by lowercase name.
    Header(String, Vec<Transform>),
    /// The name of the event-stream message being read (its `:exception-type` or
    /// `:error-code`), as Amazon's binary event streams carry an exception's name.
    Event(Vec<Transform>),
}

impl Loc {
    /// The transforms applied to the value.
    pub fn transforms(&self) -> &[Transform] {
        match self {
            Loc::Body(_, t) | Loc::Header(_, t) | Loc::Event(t) => t,
        }
    }

    /// For a body path: the leading keys that the streaming reader follows, and the rest
    /// (from the first `*`, filter or `|json`), read from the value captured there.
    pub fn split(&self) -> Option<(Vec<&str>, &[Seg])> {
        let Loc::Body(segs, _) = self else { return None };
        let n = segs.iter().position(|s| !matches!(s, Seg::Key(_))).unwrap_or(segs.len());
        let keys = segs[..n].iter().map(|s| if let Seg::Key(k) = s { k.as_str() } else { "" }).collect();
        Some((keys, &segs[n..]))
    }

    /// Whether this is a plain dotted path of keys with no transform.
    pub fn is_plain_path(&self) -> bool {
        matches!(self, Loc::Body(segs, t) if t.is_empty() && !segs.is_empty() && segs.iter().all(|s| matches!(s, Seg::Key(_))))
    }
}

fn valid_key(k: &str) -> bool {
    !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'@' | b'$'))
}

/// Splits a path on dots outside `[...]`.
fn split_path(path: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in path.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.checked_sub(1)?,
            '.' if depth == 0 => {
                parts.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return None;
    }
    parts.push(&path[start..]);
    Some(parts)
}

fn parse_segments(path: &str, out: &mut Vec<Seg>) -> Result<(), String> {
    for part in split_path(path).ok_or("unbalanced brackets")? {
        let (name, filter) = match part.find('[') {
            Some(i) => (&part[..i], Some(&part[i..])),
            None => (part, None),
        };
        match name {
            "*" => out.push(Seg::Any),
            "" if filter.is_some() => {}
            k if valid_key(k) => out.push(Seg::Key(k.to_owned())),
            k => return Err(format!("bad key {k:?}")),
        }
        if let Some(f) = filter {
            let inner = f.strip_prefix('[').and_then(|f| f.strip_suffix(']')).ok_or("a filter is `[key=value]`")?;
            let (k, v) = inner.split_once('=').ok_or("a filter is `[key=value]`")?;
            if !valid_key(k) || v.is_empty() || v.contains([']', '[']) {
                return Err(format!("bad filter {f:?}"));
            }
            out.push(Seg::Where(k.to_owned(), v.to_owned()));
        }
    }
    Ok(())
}

/// The segments of a body path, or none for anything else.
#[allow(dead_code)] // for the tests that include this file
pub fn split_plain(path: &str) -> Vec<Seg> {
    match parse_location(path) {
        Ok(Loc::Body(segs, _)) => segs,
        _ => Vec::new(),
    }
}

/// Parses a location: `error.message`, `*.error.code`, `error.details[@type=X].reason`,
/// `error.metadata.raw|json.error.code`, `header:x-amzn-errortype|before::`, `event`.
pub fn parse_location(loc: &str) -> Result<Loc, String> {
    let mut parts = loc.split('|');
    let head = parts.next().unwrap_or_default();
    let mut transforms = Vec::new();
    let mut segs = Vec::new();
    let mut json_ok = true;
    let mut rest = Vec::new();
    for p in parts {
        if json_ok && (p == "json" || p.starts_with("json.")) {
            rest.push(p);
        } else {
            json_ok = false;
            transforms.push(Transform::parse(p).ok_or_else(|| format!("unknown transform {p:?}"))?);
        }
    }
    let kind = if let Some(name) = head.strip_prefix("header:") {
        let stem = name.strip_suffix('*').unwrap_or(name);
        if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(format!("bad header name {name:?}"));
        }
        if !rest.is_empty() {
            return Err("a header holds no JSON".into());
        }
        return Ok(Loc::Header(name.to_owned(), transforms));
    } else if head == "event" {
        if !rest.is_empty() {
            return Err("an event name holds no JSON".into());
        }
        return Ok(Loc::Event(transforms));
    } else {
        head
    };
    if kind != "$" {
        parse_segments(kind, &mut segs)?;
    }
    for r in rest {
        segs.push(Seg::Json);
        if let Some(p) = r.strip_prefix("json.") {
            parse_segments(p, &mut segs)?;
        }
    }
    if segs.is_empty() && kind != "$" {
        return Err("an empty path".into());
    }
    Ok(Loc::Body(segs, transforms))
}

// ---------------------------------------------------------------------------------------------
// Problems.
// ---------------------------------------------------------------------------------------------

/// One validation problem, with its place.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub file: String,
    pub place: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Some(place) => write!(f, "{}: {}: {}", self.file, place, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Every problem found in the tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the taxonomy tables have {} problem(s):", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

struct Collector {
    problems: Vec<Problem>,
}

impl Collector {
    fn push(&mut self, file: &str, place: Option<String>, message: impl Into<String>) {
        self.problems.push(Problem { file: file.to_owned(), place, message: message.into() });
    }
}

fn rule_place(index: usize, rule: &RuleRow) -> Option<String> {
    Some(format!("rule {} ({:?})", index + 1, rule.name))
}

// ---------------------------------------------------------------------------------------------
// Loading.
// ---------------------------------------------------------------------------------------------

fn read_json<T: for<'de> Deserialize<'de>>(root: &Path, rel: &str, out: &mut Collector) -> Option<T> {
    let path = root.join(rel);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            out.push(&display_path(rel), None, format!("cannot read: {e}"));
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            out.push(&display_path(rel), None, format!("invalid table: {e}"));
            None
        }
    }
}

fn display_path(rel: &str) -> String {
    format!("taxonomy/{rel}")
}

/// Files the build depends on, relative to the taxonomy folder.
pub fn inputs(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![
        root.join("codes.json"),
        root.join("generic.json"),
        root.join("secrets.json"),
        root.join("retry.json"),
        root.join("transport.json"),
        root.join("README.md"),
        root.join("providers"),
    ];
    files.extend(provider_files(root).into_iter().map(|f| root.join(f)));
    files
}

fn provider_files(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("providers"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .map(|n| format!("providers/{n}"))
        .collect();
    names.sort();
    names
}

/// Loads and validates the taxonomy under `root`, reporting every problem at once.
pub fn load(root: &Path) -> Result<Taxonomy, Problems> {
    let mut out = Collector { problems: Vec::new() };
    let codes: Option<CodesFile> = read_json(root, "codes.json", &mut out);
    let secrets: Option<SecretsFile> = read_json(root, "secrets.json", &mut out);
    let generic: Option<StyleFile> = read_json(root, "generic.json", &mut out);
    let retry: Option<RetryFile> = read_json(root, "retry.json", &mut out);
    let transport: Option<TransportFile> = read_json(root, "transport.json", &mut out);
    let mut styles = Vec::new();
    let files = provider_files(root);
    if files.is_empty() {
        out.push("taxonomy/providers", None, "no style tables found");
    }
    for rel in &files {
        if let Some(style) = read_json::<StyleFile>(root, rel, &mut out) {
            let stem = rel.trim_start_matches("providers/").trim_end_matches(".json");
            if style.style != stem {
                out.push(
                    &display_path(rel),
                    None,
                    format!("style {:?} does not match the file name {stem:?}", style.style),
                );
            }
            styles.push(style);
        }
    }
    styles.sort_by(|a, b| a.style.cmp(&b.style));
    let (Some(codes), Some(secrets), Some(mut generic), Some(retry), Some(transport)) =
        (codes, secrets, generic, retry, transport)
    else {
        out.problems.sort();
        return Err(Problems(out.problems));
    };
    let retry = RetryFile { schema: None, ..retry };
    for style in styles.iter_mut().chain(std::iter::once(&mut generic)) {
        let conditions = style.rules.iter_mut().map(|r| &mut r.when);
        let conditions =
            conditions.chain(style.detect.iter_mut().flat_map(|d| d.signatures.iter_mut().map(|s| &mut s.when)));
        conditions.for_each(Condition::numbers_as_codes);
    }
    let taxonomy = Taxonomy {
        codes: codes.codes,
        styles,
        generic,
        secrets: secrets.secrets,
        retry,
        transport: transport.failures,
    };
    validate(&taxonomy, &mut out);
    if out.problems.is_empty() { Ok(taxonomy) } else { Err(Problems(out.problems)) }
}

// ---------------------------------------------------------------------------------------------
// Validation.
// ---------------------------------------------------------------------------------------------

fn is_screaming(s: &str) -> bool {
    !s.is_empty()
        && s.as_bytes()[0].is_ascii_uppercase()
        && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn valid_source(source: &str) -> bool {
    if source.starts_with("https://") || source.starts_with("taxonomy/README.md#") {
        return !source.contains(char::is_whitespace);
    }
    let Some((file, lines)) = source.rsplit_once(':') else { return false };
    let lines_ok = lines.split('-').all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && lines.split('-').count() <= 2;
    file.ends_with(".txt") && !file.contains('/') && lines_ok
}

impl RetryFile {
    /// The parameters by name, in file order.
    pub fn params(&self) -> [(&'static str, &RetryParam); 6] {
        [
            ("base_ms", &self.base_ms),
            ("factor", &self.factor),
            ("cap_ms", &self.cap_ms),
            ("jitter_ms", &self.jitter_ms),
            ("max_attempts", &self.max_attempts),
            ("give_up_after_ms", &self.give_up_after_ms),
        ]
    }
}

fn validate_retry(r: &RetryFile, out: &mut Collector) {
    let file = "taxonomy/retry.json";
    for (name, p) in r.params() {
        let place = Some(format!("{name:?}"));
        let whole = name != "factor";
        if !p.value.is_finite() || p.value < 0.0 || (whole && p.value.fract() != 0.0) || p.value > 86_400_000.0 {
            out.push(file, place.clone(), format!("{} is not a whole number from 0 to 86400000", p.value));
        }
        if !valid_source(&p.source) {
            out.push(file, place, format!("bad source {:?}", p.source));
        }
    }
    if r.base_ms.value <= 0.0 || r.max_attempts.value < 1.0 {
        out.push(file, None, "base_ms and max_attempts must be at least 1");
    }
    if r.factor.value < 1.0 {
        out.push(file, Some("\"factor\"".to_owned()), "the factor must be at least 1: waits never shrink");
    }
    if r.cap_ms.value < r.base_ms.value {
        out.push(file, Some("\"cap_ms\"".to_owned()), "the cap is below the first wait");
    }
}

fn validate_transport(t: &Taxonomy, out: &mut Collector) {
    let file = "taxonomy/transport.json";
    let mut seen = BTreeSet::new();
    for (i, f) in t.transport.iter().enumerate() {
        let place = Some(format!("failure {} ({:?})", i + 1, f.failure));
        if f.failure.is_empty() || !f.failure.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            out.push(file, place.clone(), "failure must be snake_case");
        }
        if !seen.insert(f.failure.as_str()) {
            out.push(file, place.clone(), "duplicate failure");
        }
        if !t.codes.iter().any(|c| c.code == f.code) {
            out.push(file, place.clone(), format!("unknown code {:?}", f.code));
        }
        if !is_screaming(&f.reason) {
            out.push(file, place.clone(), "reason must be SCREAMING_SNAKE_CASE");
        }
        for (what, text) in [("description", &f.description), ("message", &f.message)] {
            if text.trim().is_empty() {
                out.push(file, place.clone(), format!("empty {what}"));
            }
        }
        if !valid_source(&f.source) {
            out.push(file, place.clone(), format!("bad source {:?}", f.source));
        }
    }
    if t.transport.is_empty() {
        out.push(file, None, "no failures");
    }
}

fn validate(t: &Taxonomy, out: &mut Collector) {
    validate_transport(t, out);
    let codes_file = "taxonomy/codes.json";
    let mut known = BTreeSet::new();
    for (i, c) in t.codes.iter().enumerate() {
        let place = Some(format!("code {} ({:?})", i + 1, c.code));
        if !is_screaming(&c.code) {
            out.push(codes_file, place.clone(), "code must be SCREAMING_SNAKE_CASE");
        }
        if !known.insert(c.code.as_str()) {
            out.push(codes_file, place.clone(), "duplicate code");
        }
        if !(400..=599).contains(&c.status) {
            out.push(codes_file, place.clone(), format!("status {} is outside 400-599", c.status));
        }
        for (what, text) in [("description", &c.description), ("action", &c.action), ("message", &c.message)] {
            if text.trim().is_empty() {
                out.push(codes_file, place.clone(), format!("empty {what}"));
            }
        }
        if !valid_source(&c.source) {
            out.push(codes_file, place.clone(), format!("bad source {:?}", c.source));
        }
        let w = &c.wire;
        for (what, name) in [("openai_type", &w.openai_type), ("openai_code", &w.openai_code)] {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                out.push(codes_file, place.clone(), format!("{what} {name:?} must be snake_case"));
            }
        }
        if !ANTHROPIC_TYPES.contains(&w.anthropic_type.as_str()) {
            out.push(
                codes_file,
                place.clone(),
                format!("anthropic_type {:?} is not one of Anthropic's", w.anthropic_type),
            );
        }
        if !GOOGLE_STATUSES.contains(&w.google_status.as_str()) {
            out.push(
                codes_file,
                place.clone(),
                format!("google_status {:?} is not a google.rpc.Code", w.google_status),
            );
        }
    }
    if t.codes.len() != 12 {
        out.push(codes_file, None, format!("expected the 12 codes, found {}", t.codes.len()));
    }

    let mut produced = BTreeSet::new();
    let mut names = BTreeSet::new();
    for style in &t.styles {
        let file = format!("taxonomy/providers/{}.json", style.style);
        if !names.insert(style.name.clone()) {
            out.push(&file, None, format!("duplicate style name {:?}", style.name));
        }
        if style.style.is_empty() || !style.style.bytes().all(|b| b.is_ascii_lowercase()) {
            out.push(&file, None, format!("style {:?} must be lowercase letters", style.style));
        }
        // The name is the `Style` variant: an identifier in upper camel case.
        let ident = style.name.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
            && style.name.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ident {
            out.push(&file, None, format!("style name {:?} must be an upper camel case identifier", style.name));
        }
        if style.detect.is_none() {
            out.push(&file, None, "a style needs a detect section");
        }
        validate_style(t, style, &file, &known, &mut produced, out);
    }
    if t.generic.detect.is_some() {
        out.push("taxonomy/generic.json", None, "the generic reading is never detected; remove detect");
    }
    validate_detect_order(t, out);
    validate_style(t, &t.generic, "taxonomy/generic.json", &known, &mut produced, out);
    validate_retry(&t.retry, out);

    for c in &t.codes {
        if !produced.contains(c.code.as_str()) {
            out.push(codes_file, Some(format!("code {:?}", c.code)), "no rule can produce this code");
        }
    }

    for (i, s) in t.secrets.iter().enumerate() {
        let place = Some(format!("secret {} ({:?})", i + 1, s.name));
        if s.prefix.is_empty() {
            // A format with no prefix is a shape alone: it must be bounded and say its classes.
            if s.max_len.is_none() || s.needs.len() < 2 || s.min_len < 16 {
                out.push(
                    "taxonomy/secrets.json",
                    place.clone(),
                    "a format with no prefix needs max_len, min_len of at least 16 and two classes in needs",
                );
            }
        } else if s.prefix.len() < 2 {
            out.push("taxonomy/secrets.json", place.clone(), "prefix must be at least 2 characters");
        } else if !s.prefix.as_bytes()[0].is_ascii_alphanumeric() && !s.prefix.starts_with(['_', '-']) {
            out.push("taxonomy/secrets.json", place.clone(), "prefix must start with a letter, digit, `_` or `-`");
        }
        if s.min_len == 0 {
            out.push("taxonomy/secrets.json", place.clone(), "min_len must be at least 1");
        }
        if s.max_len.is_some_and(|m| m < s.min_len) {
            out.push("taxonomy/secrets.json", place.clone(), "max_len must be at least min_len");
        }
        for class in s.needs.iter().filter(|c| !["digit", "lower", "upper"].contains(&c.as_str())) {
            out.push("taxonomy/secrets.json", place.clone(), format!("needs: {class:?} is not digit, lower or upper"));
        }
        if !s.extra_chars.is_ascii() || s.extra_chars.contains(char::is_whitespace) {
            out.push("taxonomy/secrets.json", place.clone(), "extra_chars must be visible ASCII");
        }
        if !valid_source(&s.source) {
            out.push("taxonomy/secrets.json", place, format!("bad source {:?}", s.source));
        }
    }
}

fn validate_condition(
    when: &Condition,
    fields: &BTreeMap<String, Vec<String>>,
    file: &str,
    place: &Option<String>,
    out: &mut Collector,
) {
    for (subject, test) in &when.0 {
        if subject != "status" && !fields.contains_key(subject) {
            out.push(file, place.clone(), format!("tests {subject} but the style locates no {subject} field"));
        }
        match test {
            Test::Status(pats) => {
                for p in pats {
                    if !p.in_range() {
                        out.push(file, place.clone(), format!("{subject} {p} is outside 400-599"));
                    }
                }
            }
            Test::Contains(phrases) => {
                for m in phrases {
                    if m.trim().is_empty() || m.to_ascii_lowercase() != *m || !m.is_ascii() || m.trim() != m {
                        out.push(file, place.clone(), format!("phrase {m:?} must be trimmed lowercase ASCII"));
                    }
                }
            }
            Test::Equals(v) | Test::StartsWith(v) => {
                if v.iter().any(|x| x.is_empty()) {
                    out.push(file, place.clone(), format!("{subject}: an empty value"));
                }
            }
            Test::Present(_) => {}
        }
        if subject == "status" && !matches!(test, Test::Status(_)) {
            out.push(file, place.clone(), "status is tested with status patterns only");
        }
    }
    let anchored = when.0.iter().any(|(k, t)| k == "status" || matches!(t, Test::Equals(_) | Test::Status(_)));
    if when.phrases().next().is_some() && !anchored {
        out.push(file, place.clone(), "a phrase must be paired with a status or a structured field's value");
    }
}

fn validate_style(
    t: &Taxonomy,
    style: &StyleFile,
    file: &str,
    known: &BTreeSet<&str>,
    produced: &mut BTreeSet<String>,
    out: &mut Collector,
) {
    if let Some(stream) = &style.stream {
        validate_stream(stream, file, out);
    }
    if let Some(inner) = &style.inner {
        let place = Some("inner".to_owned());
        if !t.effective(style).fields.contains_key(&inner.body) {
            out.push(file, place.clone(), format!("`body` names {:?}, a field the style does not locate", inner.body));
        }
        for (name, target) in &inner.styles {
            if name.is_empty() || name.to_ascii_lowercase() != *name {
                out.push(file, place.clone(), format!("provider name {name:?} must be lowercase"));
            }
            if !t.styles.iter().any(|s| s.style == *target) {
                out.push(file, place.clone(), format!("provider {name:?} names {target:?}, not a style"));
            }
        }
        if !valid_source(&inner.source) {
            out.push(file, place, format!("bad source {:?}", inner.source));
        }
    }
    if !valid_source(&style.seed) && !style.seed.ends_with(".txt") {
        out.push(file, None, format!("bad seed {:?}", style.seed));
    }
    if let Some(parent) = &style.extends {
        if t.find(parent).is_none() || parent == &style.style {
            out.push(file, None, format!("extends {parent:?}, which is no style"));
        } else if t.lineage(style).last().is_some_and(|s| s.extends.is_some()) {
            out.push(file, None, format!("extends {parent:?} in a cycle"));
        }
    }
    let effective = t.effective(style);
    let mut seen_paths: BTreeMap<&str, &str> = BTreeMap::new();
    for (field, locs) in &style.fields {
        let place = Some(format!("field {field:?}"));
        if field.is_empty() || !field.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            out.push(file, place.clone(), "a field name is snake_case");
        }
        if locs.is_empty() {
            out.push(file, place.clone(), "a field needs at least one location");
        }
        for loc in locs {
            match parse_location(loc) {
                Err(e) => out.push(file, place.clone(), format!("bad field path {loc:?}: {e}")),
                Ok(l) => {
                    if field == "details" && !l.is_plain_path() {
                        out.push(file, place.clone(), "details are read from a plain body path");
                    }
                }
            }
            // A path is one field's, except that a numeric code may also be the status the
            // body repeats (Google's and OpenRouter's `error.code`).
            if let Some(other) = seen_paths.insert(loc, field)
                && other != "status"
                && field != "status"
            {
                out.push(file, place.clone(), format!("path {loc:?} is also field {other:?}"));
            }
        }
    }
    if !effective.fields.contains_key("message") {
        out.push(file, None, "the style locates no message field");
    }
    for f in &style.figures {
        if !effective.fields.contains_key(f) {
            out.push(file, Some(format!("figure {f:?}")), "names no field of the style");
        }
    }
    for (i, d) in style.details.iter().enumerate() {
        let place = Some(format!("details {}", i + 1));
        match parse_location(&d.at) {
            Ok(Loc::Body(..)) => {}
            Ok(_) => out.push(file, place.clone(), "details are read from the body"),
            Err(e) => out.push(file, place.clone(), format!("bad path {:?}: {e}", d.at)),
        }
        if d.keyed == d.code.is_some() {
            out.push(file, place.clone(), "a detail's code is its key (`keyed`) or a member (`code`), one of the two");
        }
        for m in [&d.field, &d.code, &d.message, &d.only_if].into_iter().flatten() {
            if !valid_key(m) {
                out.push(file, place.clone(), format!("bad member name {m:?}"));
            }
        }
        if !valid_source(&d.source) {
            out.push(file, place, format!("bad source {:?}", d.source));
        }
    }
    if let Some(detect) = &style.detect {
        for (i, sig) in detect.signatures.iter().enumerate() {
            let place = Some(format!("signature {}", i + 1));
            if sig.present.is_empty() && sig.numeric.is_empty() && sig.when == Condition::default() {
                out.push(file, place.clone(), "an empty signature matches every body");
            }
            for p in sig.present.iter().chain(&sig.numeric) {
                if !parse_location(p).is_ok_and(|l| l.is_plain_path()) {
                    out.push(file, place.clone(), format!("bad field path {p:?}"));
                }
            }
            validate_condition(&sig.when, &effective.fields, file, &place, out);
            if !valid_source(&sig.source) {
                out.push(file, place, format!("bad source {:?}", sig.source));
            }
        }
    }

    let mut rule_names = BTreeSet::new();
    for (i, rule) in style.rules.iter().enumerate() {
        let place = rule_place(i, rule);
        if !rule_names.insert(rule.name.as_str()) {
            out.push(file, place.clone(), "duplicate rule name");
        }
        if !known.contains(rule.then.code.as_str()) {
            out.push(file, place.clone(), format!("unknown code {:?}", rule.then.code));
        } else if rule.deprecated.is_none() {
            produced.insert(rule.then.code.clone());
        }
        if let Some(reason) = &rule.then.reason
            && !is_screaming(reason)
        {
            out.push(file, place.clone(), format!("reason {reason:?} must be SCREAMING_SNAKE_CASE"));
        }
        if rule.then.field.as_deref().is_some_and(|f| f.trim().is_empty()) {
            out.push(file, place.clone(), "empty detail field");
        }
        if rule.when == Condition::default() {
            out.push(file, place.clone(), "a rule needs at least one condition");
        }
        validate_condition(&rule.when, &effective.fields, file, &place, out);
        if !valid_source(&rule.source) {
            out.push(file, place.clone(), format!("bad source {:?}", rule.source));
        }
        if style.style != "generic" && rule.when.is_status_only() {
            let inherited = t.lineage(style).into_iter().skip(1).chain(std::iter::once(&t.generic));
            if let Some(from) = inherited
                .flat_map(|s| s.rules.iter().map(move |r| (s, r)))
                .find(|(_, r)| r.when == rule.when && r.then == rule.then)
            {
                out.push(
                    file,
                    place.clone(),
                    format!("copies the fallback {:?} of {}: leave it out", from.1.name, from.0.style),
                );
            }
        }
        for (j, earlier) in style.rules[..i].iter().enumerate() {
            if earlier.when == rule.when {
                out.push(file, place.clone(), format!("duplicate of rule {} ({:?})", j + 1, earlier.name));
                break;
            }
            if implies(&rule.when, &earlier.when) {
                out.push(
                    file,
                    place.clone(),
                    format!("unreachable: rule {} ({:?}) always matches first", j + 1, earlier.name),
                );
                break;
            }
        }
    }

    // Every style inherits the generic table's fallbacks: only the generic one must cover all.
    let uncovered: Vec<u16> = (400..=599)
        .filter(|_| style.style == "generic")
        .filter(|s| {
            !effective.rules.iter().any(|r| r.when.is_status_only() && r.when.status().iter().any(|p| p.matches(*s)))
        })
        .collect();
    if !uncovered.is_empty() {
        out.push(
            file,
            None,
            format!(
                "no fallback by HTTP status: {} status(es) from {} are matched by no status-only rule",
                uncovered.len(),
                uncovered[0]
            ),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Detection order.
// ---------------------------------------------------------------------------------------------

impl Taxonomy {
    /// The styles `style` is tried before: those its `before` names and those it extends.
    fn tried_after<'a>(&'a self, style: &'a StyleFile) -> Vec<&'a str> {
        let mut next: Vec<&str> = style.detect.iter().flat_map(|d| d.before.iter().map(String::as_str)).collect();
        next.extend(self.lineage(style).iter().skip(1).filter(|s| s.detect.is_some()).map(|s| s.style.as_str()));
        next
    }

    /// Whether `a` is tried before `b`, directly or through other styles.
    fn ordered(&self, a: &str, b: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut todo = vec![a];
        while let Some(s) = todo.pop() {
            let Some(style) = self.styles.iter().find(|x| x.style == s) else { continue };
            for n in self.tried_after(style) {
                if n == b {
                    return true;
                }
                if seen.insert(n) {
                    todo.push(n);
                }
            }
        }
        false
    }

    /// The styles in the order `detect` tries them: every declared order kept, and otherwise
    /// by wire name (styles left unordered have signatures that cannot both hold, so their order
    /// changes no result). `None` when the declared orders loop.
    pub fn detect_order(&self) -> Option<Vec<&StyleFile>> {
        let mut waiting: BTreeMap<&str, usize> = self.styles.iter().map(|s| (s.style.as_str(), 0)).collect();
        for s in &self.styles {
            for n in self.tried_after(s) {
                if let Some(c) = waiting.get_mut(n) {
                    *c += 1;
                }
            }
        }
        let mut order = Vec::new();
        while let Some((&next, _)) = waiting.iter().find(|(_, c)| **c == 0) {
            waiting.remove(next);
            let style = self.styles.iter().find(|s| s.style == next)?;
            for n in self.tried_after(style) {
                if let Some(c) = waiting.get_mut(n) {
                    *c -= 1;
                }
            }
            order.push(style);
        }
        waiting.is_empty().then_some(order)
    }
}

/// Whether a location always gives one value: a plain path (or one through `|json`), a header
/// by its full name, an event's name. A path over array elements may give several, and a test
/// on it holds if it holds for any.
fn single_valued(loc: &str) -> bool {
    match parse_location(loc) {
        Ok(Loc::Body(segs, _)) => segs.iter().all(|s| matches!(s, Seg::Key(_) | Seg::Json)),
        Ok(Loc::Header(name, _)) => !name.ends_with('*'),
        Ok(Loc::Event(_)) => true,
        Err(_) => false,
    }
}

/// Whether no value can pass both tests.
fn tests_disjoint(a: &Test, b: &Test) -> bool {
    use Test::*;
    let starts = |v: &str, p: &[String]| p.iter().any(|p| v.starts_with(p.as_str()));
    let holds = |v: &str, p: &[String]| p.iter().any(|p| v.to_ascii_lowercase().contains(p.as_str()));
    match (a, b) {
        (Present(x), Present(y)) => x != y,
        (Present(false), _) | (_, Present(false)) => true,
        (Present(true), _) | (_, Present(true)) => false,
        (Equals(x), Equals(y)) => !x.iter().any(|v| y.contains(v)),
        (Equals(x), StartsWith(p)) | (StartsWith(p), Equals(x)) => !x.iter().any(|v| starts(v, p)),
        (StartsWith(p), StartsWith(q)) => !p.iter().any(|v| starts(v, q)) && !q.iter().any(|v| starts(v, p)),
        (Equals(x), Contains(p)) | (Contains(p), Equals(x)) => !x.iter().any(|v| holds(v, p)),
        (Status(x), Status(y)) => !x.iter().any(|a| y.iter().any(|b| a.within(*b) || b.within(*a))),
        _ => false,
    }
}

/// Whether no response can match both signatures: some field both test, read from the same
/// single-valued locations in both styles (or the status), with tests no value passes together.
fn signatures_disjoint(a: &Signature, fa: &StyleFile, b: &Signature, fb: &StyleFile) -> bool {
    a.when.0.iter().any(|(k, ta)| {
        let Some(tb) = b.when.0.get(k) else { return false };
        let same = k == "status"
            || matches!((fa.fields.get(k), fb.fields.get(k)), (Some(x), Some(y)) if x == y && x.iter().all(|l| single_valued(l)));
        same && tests_disjoint(ta, tb)
    })
}

/// Detection order: `before` names known styles, the order does not loop, and any two styles
/// whose signatures can both hold are ordered.
fn validate_detect_order(t: &Taxonomy, out: &mut Collector) {
    for s in &t.styles {
        let file = format!("taxonomy/providers/{}.json", s.style);
        for n in s.detect.iter().flat_map(|d| &d.before) {
            if n == &s.style || !t.styles.iter().any(|x| &x.style == n) {
                out.push(&file, Some("detect".to_owned()), format!("`before` names {n:?}, not another style"));
            }
        }
    }
    if t.detect_order().is_none() {
        out.push("taxonomy/providers", None, "the detect orders (`before` and `extends`) loop");
        return;
    }
    let effective: Vec<StyleFile> = t.styles.iter().map(|s| t.effective(s)).collect();
    for (i, a) in effective.iter().enumerate() {
        for b in &effective[i + 1..] {
            let (Some(da), Some(db)) = (&a.detect, &b.detect) else { continue };
            if t.ordered(&a.style, &b.style) || t.ordered(&b.style, &a.style) {
                continue;
            }
            let clash = da.signatures.iter().enumerate().find_map(|(x, sa)| {
                db.signatures.iter().position(|sb| !signatures_disjoint(sa, a, sb, b)).map(|y| (x, y))
            });
            if let Some((x, y)) = clash {
                out.push(
                    &format!("taxonomy/providers/{}.json", a.style),
                    Some("detect".to_owned()),
                    format!(
                        "signature {} can hold together with {:?}'s signature {}: say which style is tried first with `before`",
                        x + 1,
                        b.style,
                        y + 1
                    ),
                );
            }
        }
    }
}

/// Whether every input that satisfies `later` also satisfies `earlier`.
fn implies(later: &Condition, earlier: &Condition) -> bool {
    earlier.0.iter().all(|(k, e)| later.0.get(k).is_some_and(|l| l.implies(e)))
}

/// Whether `path` is a body path the stream reader can probe while it reads an event: the path
/// language's keys and `*` (any array element), with no filter, `|json` or transform.
fn valid_stream_path(path: &str) -> bool {
    probe_path(path).is_some()
}

fn validate_stream(s: &StreamSection, file: &str, out: &mut Collector) {
    let place = Some("stream".to_owned());
    if s.done.is_empty() && s.end_events.is_empty() && s.done_finish_reasons.is_empty() {
        out.push(file, place.clone(), "a stream section needs `done` payloads, `end_events` or `done_finish_reasons`");
    }
    for (what, items) in [
        ("done", &s.done),
        ("end_events", &s.end_events),
        ("error_events", &s.error_events),
        ("output_events", &s.output_events),
        ("error_fields", &s.error_fields),
        ("error_finish_reasons", &s.error_finish_reasons),
        ("done_finish_reasons", &s.done_finish_reasons),
        ("status_comments", &s.status_comments),
    ] {
        for item in items {
            if item.trim().is_empty() || item.trim() != item || item.contains(['\r', '\n']) {
                out.push(file, place.clone(), format!("{what} entry {item:?} must be non-empty, trimmed, one line"));
            }
        }
    }
    for v in &s.error_values {
        if !v.split_once('=').is_some_and(|(p, val)| valid_stream_path(p) && !val.is_empty()) {
            out.push(file, place.clone(), format!("bad error_values entry {v:?}: it is `path=value`"));
        }
    }
    for (what, paths) in [("error_paths", &s.error_paths), ("finish_reason", &s.finish_reason), ("output", &s.output)] {
        for p in paths {
            if !valid_stream_path(p) {
                out.push(file, place.clone(), format!("bad {what} path {p:?}: a stream path is keys and `*`"));
            }
        }
    }
    if s.finish_reason.is_empty() != (s.error_finish_reasons.is_empty() && s.done_finish_reasons.is_empty()) {
        out.push(file, place.clone(), "`finish_reason` and `error_finish_reasons` go together");
    }
    if s.sources.is_empty() {
        out.push(file, place.clone(), "a stream section needs at least one source");
    }
    for src in &s.sources {
        if !valid_source(src) {
            out.push(file, place.clone(), format!("bad source {src:?}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Emitting Rust.
// ---------------------------------------------------------------------------------------------

/// UpperCamelCase from SCREAMING_SNAKE_CASE or snake_case.
pub fn camel(s: &str) -> String {
    s.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut c = lower.chars();
            match c.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

const HEADER: &str = "// @generated by build/codegen.rs from the JSON tables in taxonomy/. Do not edit: change a\n\
// table and build again (`cargo build`); the build reports every problem of the tables at once.\n\
// To read this file: `cat target/debug/build/llm-error-taxonomy-*/out/tables.rs` after a build,\n\
// or `cargo doc --open` for the same tables rendered (`table` module).\n";

fn doc_lines(out: &mut String, indent: &str, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {line}");
        }
    }
}

fn str_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("&[{}]", quoted.join(", "))
}

fn status_list(items: &[StatusPattern]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|p| match p {
            StatusPattern::Exact(s) => format!("StatusPattern::Exact({s})"),
            StatusPattern::Class(c) => format!("StatusPattern::Class({c})"),
        })
        .collect();
    format!("&[{}]", parts.join(", "))
}

/// A condition in words, as rustdoc and the generated docs show it.
pub fn condition_text(c: &Condition) -> String {
    fn joined<T: fmt::Display>(items: &[T], quote: bool, sep: &str) -> String {
        let parts: Vec<String> =
            items.iter().map(|i| if quote { code_span(&i.to_string()) } else { i.to_string() }).collect();
        parts.join(sep)
    }
    let status = c.get("status").map(|t| ("status", t));
    let parts: Vec<String> = status
        .into_iter()
        .chain(c.0.iter().filter(|(k, _)| *k != "status").map(|(k, t)| (k.as_str(), t)))
        .map(|(k, t)| {
            let k = k.replace('_', " ");
            match t {
                Test::Status(p) => format!("{k} {}", joined(p, false, " or ")),
                Test::Equals(v) => format!("{k} {}", joined(v, true, " or ")),
                Test::StartsWith(v) => format!("{k} starts with {}", joined(v, true, " or ")),
                Test::Contains(v) => format!("{k} mentions {}", joined(v, true, " / ")),
                Test::Present(true) => format!("{k} present"),
                Test::Present(false) => format!("no {k}"),
            }
        })
        .collect();
    parts.join(", ")
}

fn code_doc(t: &Taxonomy, c: &CodeRow) -> String {
    code_doc_for(t, c, &|_| true)
}

/// [`code_doc`], listing the upstream errors of the styles `shown` keeps.
fn code_doc_for(t: &Taxonomy, c: &CodeRow, shown: &dyn Fn(&StyleFile) -> bool) -> String {
    let mut doc = String::new();
    let _ = writeln!(doc, "{}", c.description);
    let _ = writeln!(doc);
    let _ = writeln!(
        doc,
        "HTTP status `{}`, {}. {}",
        c.status,
        if c.retryable { "retryable" } else { "not retryable" },
        c.action
    );
    let mut sources = Vec::new();
    for style in t.styles.iter().chain(std::iter::once(&t.generic)).filter(|s| shown(s)) {
        for rule in &style.rules {
            if rule.then.code == c.code && !rule.when.is_status_only() {
                sources.push(format!("- {}: {}", style.name, condition_text(&rule.when)));
            }
        }
    }
    if !sources.is_empty() {
        let _ = writeln!(doc);
        let _ = writeln!(doc, "Upstream errors that map here, besides the fallback by status:");
        let _ = writeln!(doc);
        for s in sources {
            let _ = writeln!(doc, "{s}");
        }
    }
    doc
}

/// The generated `ErrorCode` and `Field` enums.
pub fn emit_codes(t: &Taxonomy) -> String {
    let mut o = String::from(HEADER);
    o.push('\n');
    o.push_str("/// One of the 12 normalized error codes.\n///\n/// Each variant's text comes from `taxonomy/codes.json`. The wire form is\n/// SCREAMING_SNAKE_CASE (`RATE_LIMITED`), for serde and strum alike.\n");
    o.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\n");
    o.push_str("#[derive(serde::Serialize, serde::Deserialize)]\n");
    o.push_str(
        "#[derive(strum::EnumIter, strum::EnumCount, strum::EnumString, strum::IntoStaticStr, strum::Display)]\n",
    );
    o.push_str("#[serde(rename_all = \"SCREAMING_SNAKE_CASE\")]\n#[strum(serialize_all = \"SCREAMING_SNAKE_CASE\")]\npub enum ErrorCode {\n");
    for c in &t.codes {
        doc_lines(&mut o, "    ", &code_doc(t, c));
        let _ = writeln!(o, "    {}, // codes.json {:?}", camel(&c.code), c.code);
    }
    o.push_str("}\n\nimpl ErrorCode {\n");
    let arms = |o: &mut String, sig: &str, doc: &str, f: &dyn Fn(&CodeRow) -> String| {
        let _ = writeln!(o, "    /// {doc}\n    pub const fn {sig} {{\n        match self {{");
        for c in &t.codes {
            let _ = writeln!(o, "            Self::{} => {},", camel(&c.code), f(c));
        }
        o.push_str("        }\n    }\n\n");
    };
    arms(&mut o, "as_str(self) -> &'static str", "The wire form, such as `\"RATE_LIMITED\"`.", &|c| {
        format!("{:?}", c.code)
    });
    arms(&mut o, "status_u16(self) -> u16", "The HTTP status as a number.", &|c| c.status.to_string());
    arms(&mut o, "is_retryable(self) -> bool", "Whether the same request may succeed when retried later.", &|c| {
        c.retryable.to_string()
    });
    arms(&mut o, "description(self) -> &'static str", "What happened, in one sentence.", &|c| {
        format!("{:?}", c.description)
    });
    arms(&mut o, "action(self) -> &'static str", "What the client should do.", &|c| format!("{:?}", c.action));
    arms(&mut o, "default_message(self) -> &'static str", "The message used when upstream gives none.", &|c| {
        format!("{:?}", c.message)
    });
    arms(
        &mut o,
        "source(self) -> &'static str",
        "The line of the taxonomy's source document this code comes from.",
        &|c| format!("{:?}", c.source),
    );
    arms(&mut o, "openai_type(self) -> &'static str", "OpenAI's `error.type` for this code.", &|c| {
        format!("{:?}", c.wire.openai_type)
    });
    arms(
        &mut o,
        "openai_code(self) -> &'static str",
        "OpenAI's `error.code` for this code, when the error has no reason of its own.",
        &|c| format!("{:?}", c.wire.openai_code),
    );
    arms(&mut o, "anthropic_type(self) -> &'static str", "Anthropic's `error.type` for this code.", &|c| {
        format!("{:?}", c.wire.anthropic_type)
    });
    arms(
        &mut o,
        "google_status(self) -> &'static str",
        "The google.rpc.Code name (`error.status` of Google's APIs) for this code.",
        &|c| format!("{:?}", c.wire.google_status),
    );
    o.push_str("}\n\n");
    emit_transport(&mut o, t);

    o.push_str("/// A field a style table can locate in an upstream response.\n");
    o.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, strum::EnumCount, strum::EnumIter, strum::IntoStaticStr)]\n");
    o.push_str("#[strum(serialize_all = \"snake_case\")]\n#[non_exhaustive]\npub enum Field {\n");
    for name in t.field_names() {
        let doc = match FIELDS.iter().find(|(n, _)| *n == name) {
            Some((_, doc)) => (*doc).to_owned(),
            None => {
                let users: Vec<String> = t
                    .styles
                    .iter()
                    .filter(|s| s.fields.contains_key(&name))
                    .map(|s| format!("`{}`", s.style))
                    .collect();
                format!("Declared by the {} table{}.", users.join(", "), if users.len() == 1 { "" } else { "s" })
            }
        };
        let _ = writeln!(o, "    /// {doc}\n    {},", camel(&name));
    }
    o.push_str("}\n");
    o
}

/// The body paths the reader follows: `leaves`, plain key paths whose value is captured, and
/// `anchors`, key paths whose raw JSON is captured for the rest of a deeper path (`*`, filters,
/// `|json`) or for details. Each sorted and deduplicated; `Location::Body` and
/// `Location::Deep` hold indexes into them.
pub struct BodyPaths {
    pub leaves: Vec<String>,
    pub anchors: Vec<String>,
    /// The stream sections' paths (keys and `*`), whose presence and first string are noted
    /// while the same walk reads the rest.
    pub probes: Vec<String>,
    /// The probes whose first string is compared: finish reasons and `error_values` paths.
    pub probe_texts: BTreeSet<String>,
    /// The leaves a `details` field reads an array of details from; an array at any other leaf
    /// is only noted as there.
    pub details: BTreeSet<String>,
    /// The response headers fields are read from, by lowercase name (one ending in `*` stands
    /// for every header it begins): with the leaves and anchors, what a reading notes as found
    /// (`body::Seen`).
    pub headers: Vec<String>,
}

/// A stream path as the trie spells it (`choices.*.finish_reason`), when it is one the walk
/// can follow: keys and `*` over array elements, no filter, `|json` or transform.
pub fn probe_path(path: &str) -> Option<String> {
    let Ok(Loc::Body(segs, t)) = parse_location(path) else { return None };
    if !t.is_empty() || segs.is_empty() {
        return None;
    }
    let parts: Option<Vec<&str>> = segs
        .iter()
        .map(|s| match s {
            Seg::Key(k) if k != "*" => Some(k.as_str()),
            Seg::Any => Some("*"),
            _ => None,
        })
        .collect();
    Some(parts?.join("."))
}

impl StreamSection {
    /// Every path the section probes: error paths, the paths of `error_values`, finish reasons
    /// and output.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        let values = self.error_values.iter().filter_map(|v| v.split_once('=')).map(|(p, _)| p);
        self.error_paths
            .iter()
            .map(String::as_str)
            .chain(values)
            .chain(self.finish_reason.iter().map(String::as_str))
            .chain(self.output.iter().map(String::as_str))
    }
}

pub fn body_paths(t: &Taxonomy) -> BodyPaths {
    let (mut leaves, mut anchors, mut probes) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let (mut texts, mut headers, mut details) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut add = |loc: &str, whole: bool| {
        let Ok(l) = parse_location(loc) else { return };
        if let Loc::Header(name, _) = &l {
            headers.insert(name.clone());
        }
        let Some((keys, rest)) = l.split() else { return };
        if rest.is_empty() && !whole {
            leaves.insert(keys.join("."));
        } else {
            anchors.insert(keys.join("."));
        }
    };
    for style in t.styles.iter().chain(std::iter::once(&t.generic)) {
        for loc in style.fields.values().flatten() {
            add(loc, false);
        }
        // A details field at a path of its own reads the array there (a deeper one, its anchor's).
        for loc in style.fields.get("details").into_iter().flatten() {
            if let Ok(l) = parse_location(loc)
                && let Some((keys, rest)) = l.split()
                && rest.is_empty()
            {
                details.insert(keys.join("."));
            }
        }
        for d in &style.details {
            add(&d.at, true);
        }
        if let Some(d) = &style.detect {
            for sig in &d.signatures {
                for p in sig.present.iter().chain(&sig.numeric) {
                    add(p, false);
                }
            }
        }
        if let Some(stream) = &style.stream {
            probes.extend(stream.paths().filter_map(probe_path));
            let values = stream.error_values.iter().filter_map(|v| v.split_once('=')).map(|(p, _)| p);
            texts.extend(values.chain(stream.finish_reason.iter().map(String::as_str)).filter_map(probe_path));
        }
    }
    BodyPaths {
        leaves: leaves.into_iter().collect(),
        anchors: anchors.into_iter().collect(),
        probes: probes.into_iter().collect(),
        probe_texts: texts,
        details,
        headers: headers.into_iter().collect(),
    }
}

fn transforms(ts: &[Transform]) -> String {
    let parts: Vec<String> = ts
        .iter()
        .map(|t| match t {
            Transform::Before(s) => format!("Transform::Before({s:?})"),
            Transform::After(s) => format!("Transform::After({s:?})"),
            Transform::Containing(s) => format!("Transform::Containing({s:?})"),
            Transform::If(h, v) => format!("Transform::If({h:?}, {v:?})"),
            other => format!("Transform::{other:?}"),
        })
        .collect();
    format!("&[{}]", parts.join(", "))
}

fn location(loc: &str, paths: &BodyPaths) -> String {
    let Ok(l) = parse_location(loc) else { return "Location::Event { then: &[] }".to_owned() };
    let then = transforms(l.transforms());
    match &l {
        Loc::Header(h, _) => {
            let index = paths.headers.iter().position(|n| n == h).unwrap_or(usize::MAX);
            format!("Location::Header {{ name: {h:?}, index: {index}, then: {then} }}")
        }
        Loc::Event(_) => format!("Location::Event {{ then: {then} }}"),
        Loc::Body(..) => {
            let (keys, rest) = l.split().unwrap_or_default();
            let key = keys.join(".");
            if rest.is_empty() {
                let i = paths.leaves.iter().position(|p| *p == key).unwrap_or(usize::MAX);
                format!("Location::Body {{ path: {i}, then: {then} }}")
            } else {
                let i = paths.anchors.iter().position(|p| *p == key).unwrap_or(usize::MAX);
                let segs: Vec<String> = rest
                    .iter()
                    .map(|s| match s {
                        Seg::Key(k) => format!("Seg::Key({k:?})"),
                        Seg::Any => "Seg::Any".to_owned(),
                        Seg::Where(k, v) => format!("Seg::Where({k:?}, {v:?})"),
                        Seg::Json => "Seg::Json".to_owned(),
                    })
                    .collect();
                format!("Location::Deep {{ anchor: {i}, rest: &[{}], then: {then} }}", segs.join(", "))
            }
        }
    }
}

/// Where a details array is read: always from the raw JSON kept at its anchor.
fn details_location(at: &str, paths: &BodyPaths) -> String {
    let loc = location(at, paths);
    match loc.strip_prefix("Location::Body { path: ") {
        Some(_) => {
            let i = paths.anchors.iter().position(|p| p == at).unwrap_or(usize::MAX);
            format!("Location::Deep {{ anchor: {i}, rest: &[], then: &[] }}")
        }
        None => loc,
    }
}

/// Every phrase a `contains` test looks for, in any table, sorted and without repeats.
fn phrase_list(t: &Taxonomy) -> Vec<String> {
    test_values(t, |test| match test {
        Test::Contains(v) => Some(v),
        _ => None,
    })
}

/// Every value of the tables' `equals` tests, sorted and without repeats.
fn literal_list(t: &Taxonomy) -> Vec<String> {
    test_values(t, |test| match test {
        Test::Equals(v) => Some(v),
        _ => None,
    })
}

/// The values `pick` finds in the tests of every rule and signature of every table, sorted and
/// without repeats.
fn test_values(t: &Taxonomy, pick: impl Fn(&Test) -> Option<&Vec<String>>) -> Vec<String> {
    let mut all = BTreeSet::new();
    for style in t.styles.iter().chain(std::iter::once(&t.generic)).map(|s| t.effective(s)) {
        let conditions = style.rules.iter().map(|r| &r.when);
        let signatures = style.detect.iter().flat_map(|d| d.signatures.iter().map(|s| &s.when));
        for c in conditions.chain(signatures) {
            all.extend(c.0.values().filter_map(&pick).flatten().cloned());
        }
    }
    all.into_iter().collect()
}

/// The literal list: the words an upstream code or type is emitted as, uncopied, when it is one.
fn emit_literals(o: &mut String, literals: &[String]) {
    o.push_str("/// Every value of the tables' `equals` tests, sorted: an upstream code or type that is one of\n");
    o.push_str("/// them is emitted as the table's own `&'static str`.\n");
    let _ = writeln!(o, "pub(crate) static LITERALS: [&str; {}] = [", literals.len());
    for l in literals {
        let _ = writeln!(o, "    {l:?},");
    }
    o.push_str("];\n\n");
}

/// The phrase list.
fn emit_phrases(o: &mut String, phrases: &[String]) {
    o.push_str("/// Every phrase of the tables' `contains` tests, sorted; a test names its phrases by index.\n");
    let _ = writeln!(o, "pub(crate) static PHRASES: [&str; {}] = [", phrases.len());
    for p in phrases {
        let _ = writeln!(o, "    {p:?},");
    }
    o.push_str("];\n\n");
}

/// The bit a location sets in a response's reading when it may hold a value (`body::Seen`): a
/// body path's index, then an anchor's after every path's, a header's after every anchor's, and
/// last the one of an event's name.
fn location_bit(loc: &str, paths: &BodyPaths) -> Option<usize> {
    let l = parse_location(loc).ok()?;
    let headers = paths.leaves.len() + paths.anchors.len();
    match &l {
        Loc::Header(name, _) => return paths.headers.iter().position(|h| h == name).map(|i| headers + i),
        Loc::Event(_) => return Some(headers + paths.headers.len()),
        Loc::Body(..) => {}
    }
    let (keys, rest) = l.split().unwrap_or_default();
    let key = keys.join(".");
    if rest.is_empty() {
        paths.leaves.iter().position(|p| *p == key)
    } else {
        paths.anchors.iter().position(|p| *p == key).map(|i| paths.leaves.len() + i)
    }
}

/// What a condition needs of a response before its tests are worth running: for each test that
/// needs a value of a field, the bits of the field's locations, one of which a reading must have
/// set (see `Condition::need`).
fn needs(c: &Condition, fields: &BTreeMap<String, Vec<String>>, paths: &BodyPaths) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (k, t) in &c.0 {
        if k == "status" || matches!(t, Test::Present(false)) {
            continue;
        }
        let locs = fields.get(k).map(Vec::as_slice).unwrap_or_default();
        let Some(mut bits) = locs.iter().map(|l| location_bit(l, paths)).collect::<Option<Vec<usize>>>() else {
            continue;
        };
        bits.sort_unstable();
        bits.dedup();
        if !out.contains(&bits) {
            out.push(bits);
        }
    }
    out
}

fn condition(c: &Condition, phrases: &[String], fields: &BTreeMap<String, Vec<String>>, paths: &BodyPaths) -> String {
    let status = c.get("status").map(|t| ("status", t));
    // The tests all hold or the condition does not, so they run cheapest first: the status, then
    // presence, equality and prefixes, and phrases (a scan of the text each) last.
    let cost = |t: &Test| match t {
        Test::Status(_) => 0,
        Test::Present(_) => 1,
        Test::Equals(_) => 2,
        Test::StartsWith(_) => 3,
        Test::Contains(_) => 4,
    };
    let mut rest: Vec<(&str, &Test)> =
        c.0.iter().filter(|(k, _)| *k != "status").map(|(k, t)| (k.as_str(), t)).collect();
    rest.sort_by_key(|(_, t)| cost(t));
    let tests: Vec<String> = status
        .into_iter()
        .chain(rest)
        .map(|(k, t)| {
            let subject = if k == "status" {
                "Subject::Status".to_owned()
            } else {
                format!("Subject::Field(Field::{})", camel(k))
            };
            let op = match t {
                Test::Equals(v) => {
                    // Sorted, so that a value is looked up by binary search.
                    let mut v = v.clone();
                    v.sort();
                    v.dedup();
                    format!("Op::Equals({})", str_list(&v))
                }
                Test::StartsWith(v) => format!("Op::StartsWith({})", str_list(v)),
                Test::Contains(v) => format!("Op::Contains({})", str_list(v)),
                Test::Status(v) => format!("Op::Status({})", status_list(v)),
                Test::Present(b) => format!("Op::Present({b})"),
            };
            let ids: Vec<String> = match t {
                Test::Contains(v) => {
                    v.iter().filter_map(|p| phrases.iter().position(|q| q == p)).map(|i| i.to_string()).collect()
                }
                _ => Vec::new(),
            };
            let lengths: u64 = match t {
                Test::Equals(v) => v.iter().fold(0, |m, l| m | 1 << l.len().min(63)),
                _ => 0,
            };
            format!("Test {{ subject: {subject}, op: {op}, phrases: &[{}], lengths: {lengths:#x} }}", ids.join(", "))
        })
        .collect();
    format!("Condition {{ tests: &[{}], need: &[{}] }}", tests.join(", "), seen_list(&needs(c, fields, paths)))
}

/// A need as the items of a `&[Seen]`: one set of locations for each list of bits.
fn seen_list(need: &[Vec<usize>]) -> String {
    let sets: Vec<String> = need
        .iter()
        .map(|bits| format!("Seen::of(&[{}])", bits.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")))
        .collect();
    sets.join(", ")
}

fn opt_str(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("Some({s:?})"),
        None => "None".to_owned(),
    }
}

/// A field's locations as the generated code writes them: tables that read a field from the
/// same locations read the same values from a response.
fn field_locations(style: &StyleFile, field: &str, paths: &BodyPaths) -> String {
    let written = style.fields.get(field).cloned().unwrap_or_default();
    written.iter().map(|l| location(l, paths)).collect::<Vec<_>>().join(", ")
}

/// Numbers for the distinct location lists of every table's fields, from 1 (0 is no
/// location): a response read for one table is then read once for all that share a list.
fn shared_reads(t: &Taxonomy, paths: &BodyPaths) -> BTreeMap<String, usize> {
    let mut reads = BTreeMap::new();
    for style in t.styles.iter().chain(std::iter::once(&t.generic)).map(|s| t.effective(s)) {
        for name in t.field_names() {
            let locs = field_locations(&style, &name, paths);
            let next = reads.len() + 1;
            if !locs.is_empty() {
                reads.entry(locs).or_insert(next);
            }
        }
    }
    reads
}

#[allow(clippy::too_many_arguments)]
fn emit_table(
    o: &mut String,
    t: &Taxonomy,
    raw: &StyleFile,
    ident: &str,
    variant: Option<&str>,
    file: &str,
    paths: &BodyPaths,
    reads: &BTreeMap<String, usize>,
    phrases: &[String],
) {
    let style = t.effective(raw);
    let _ = writeln!(o, "/// The `{}` table ({file}), with what it inherits.", style.style);
    let _ = writeln!(o, "pub static {ident}: StyleTable = StyleTable {{");
    let _ = writeln!(o, "    style: {},", variant.map_or("None".to_owned(), |v| format!("Some(Style::{v})")));
    let _ = writeln!(
        o,
        "    wire: {:?},\n    name: {:?},\n    description: {:?},\n    seed: {:?},\n    extends: {},",
        style.style,
        style.name,
        style.description,
        style.seed,
        opt_str(&style.extends)
    );
    o.push_str("    fields: [\n");
    for name in t.field_names() {
        let written = style.fields.get(&name).cloned().unwrap_or_default();
        let locs: Vec<String> = written.iter().map(|l| location(l, paths)).collect();
        if written.is_empty() {
            let _ = writeln!(o, "        &[], // {name}");
        } else {
            let _ = writeln!(o, "        // {name}: {}", written.join(", "));
            let _ = writeln!(o, "        &[{}],", locs.join(", "));
        }
    }
    o.push_str("    ],\n");
    let shared: Vec<String> = t
        .field_names()
        .iter()
        .map(|n| reads.get(&field_locations(&style, n, paths)).unwrap_or(&0).to_string())
        .collect();
    let _ = writeln!(o, "    reads: [{}],", shared.join(", "));
    let figures: Vec<String> = style.figures.iter().map(|f| format!("({f:?}, Field::{})", camel(f))).collect();
    let _ = writeln!(o, "    figures: &[{}],", figures.join(", "));
    o.push_str("    details: &[\n");
    for d in &style.details {
        let _ = writeln!(
            o,
            "        DetailsSpec {{ at: {}, keyed: {}, only_if: {}, field: {}, code: {}, message: {} }}, // {}",
            details_location(&d.at, paths),
            d.keyed,
            opt_str(&d.only_if),
            opt_str(&d.field),
            opt_str(&d.code),
            opt_str(&d.message),
            d.source
        );
    }
    o.push_str("    ],\n");
    match &style.detect {
        Some(d) => {
            let before: Vec<String> = d
                .before
                .iter()
                .filter_map(|b| t.styles.iter().find(|s| s.style == *b))
                .map(|s| format!("Style::{}", s.name))
                .collect();
            let _ = writeln!(
                o,
                "    detect: Some(Detect {{\n        before: &[{}],\n        signatures: &[",
                before.join(", ")
            );
            // A response meets no signature without meeting one of their first sets.
            let mut firsts: Option<Vec<usize>> = Some(Vec::new());
            for sig in &d.signatures {
                let present: Vec<String> = sig.present.iter().map(|p| location(p, paths)).collect();
                let numeric: Vec<String> = sig.numeric.iter().map(|p| location(p, paths)).collect();
                // The condition's need, and each path that must be present.
                let mut need = needs(&sig.when, &style.fields, paths);
                for bit in sig.present.iter().chain(&sig.numeric).filter_map(|p| location_bit(p, paths)) {
                    if !need.contains(&vec![bit]) {
                        need.push(vec![bit]);
                    }
                }
                match (need.first(), &mut firsts) {
                    (Some(first), Some(all)) => all.extend(first),
                    _ => firsts = None,
                }
                let _ = writeln!(
                    o,
                    "            Signature {{ present: &[{}], numeric: &[{}], when: {}, need: &[{}], source: {:?} }},",
                    present.join(", "),
                    numeric.join(", "),
                    condition(&sig.when, phrases, &style.fields, paths),
                    seen_list(&need),
                    sig.source
                );
            }
            let any = firsts.map_or("None".to_owned(), |mut bits| {
                bits.sort_unstable();
                bits.dedup();
                format!("Some({})", seen_list(&[bits]))
            });
            let _ = writeln!(o, "        ],\n        any: {any},\n    }}),");
        }
        None => o.push_str("    detect: None,\n"),
    }
    match &style.inner {
        Some(i) => {
            let styles: Vec<String> = i
                .styles
                .iter()
                .filter_map(|(k, v)| {
                    t.styles.iter().find(|s| s.style == *v).map(|s| format!("({k:?}, Style::{})", s.name))
                })
                .collect();
            let _ = writeln!(
                o,
                "    inner: Some(Inner {{ body: Field::{}, styles: &[{}] }}), // {}",
                camel(&i.body),
                styles.join(", "),
                i.source
            );
        }
        None => o.push_str("    inner: None,\n"),
    }
    o.push_str("    rules: &[\n");
    for (i, r) in style.rules.iter().enumerate() {
        let _ = writeln!(o, "        // rule {}: {}", i + 1, r.source);
        let _ = writeln!(
            o,
            "        Rule {{ name: {:?}, table: {:?}, when: {}, then: Outcome {{ code: ErrorCode::{}, reason: {}, field: {} }}, source: {:?}, deprecated: {} }},",
            r.name,
            r.table,
            condition(&r.when, phrases, &style.fields, paths),
            camel(&r.then.code),
            opt_str(&r.then.reason),
            opt_str(&r.then.field),
            r.source,
            opt_str(&r.deprecated),
        );
    }
    o.push_str("    ],\n};\n\n");
}

/// The body paths as a trie, so the body reader finds a key's node by comparing against only
/// the keys that can follow: node 0 is the document root.
fn emit_path_trie(o: &mut String, paths: &BodyPaths) {
    /// A trie node: the segments that lead to it, its children by key, the leaf, anchor and
    /// probe here.
    type Node<'p> = (Vec<&'p str>, Vec<(String, usize)>, Option<usize>, Option<usize>, Option<usize>);
    let mut nodes: Vec<Node<'_>> = vec![(Vec::new(), Vec::new(), None, None, None)];
    let all = paths.leaves.iter().enumerate().map(|(i, p)| (p, Some(i), None, None));
    let all = all.chain(paths.anchors.iter().enumerate().map(|(i, p)| (p, None, Some(i), None)));
    let all = all.chain(paths.probes.iter().enumerate().map(|(i, p)| (p, None, None, Some(i))));
    for (path, leaf, anchor, probe) in all {
        let mut node = 0;
        for seg in path.split('.').filter(|s| !s.is_empty()) {
            let existing = nodes[node].1.iter().find(|(k, _)| k == seg).map(|(_, n)| *n);
            node = match existing {
                Some(n) => n,
                None => {
                    let mut prefix = nodes[node].0.clone();
                    prefix.push(seg);
                    nodes.push((prefix, Vec::new(), None, None, None));
                    let n = nodes.len() - 1;
                    nodes[node].1.push((seg.to_owned(), n));
                    n
                }
            };
        }
        if leaf.is_some() {
            nodes[node].2 = leaf;
        }
        if anchor.is_some() {
            nodes[node].3 = anchor;
        }
        if probe.is_some() {
            nodes[node].4 = probe;
        }
    }
    o.push_str("/// The body paths as a trie; node 0 is the document root.\n");
    let _ = writeln!(o, "pub(crate) static PATH_TRIE: [PathNode; {}] = [", nodes.len());
    for (prefix, children, leaf, anchor, probe) in &nodes {
        // `*` continues a path into every element of an array; keys continue it into an object.
        let any = children.iter().find(|(k, _)| k == "*").map(|(_, n)| *n);
        let kids: Vec<String> =
            children.iter().filter(|(k, _)| k != "*").map(|(k, n)| format!("({k:?}, {n})")).collect();
        // Every path at or under this node: a value here replaces all of them.
        let below: Vec<String> = nodes
            .iter()
            .filter(|(p, _, l, _, _)| l.is_some() && p.starts_with(prefix))
            .filter_map(|(_, _, l, _, _)| l.map(|i| i.to_string()))
            .collect();
        let below_anchors: Vec<String> = nodes
            .iter()
            .filter(|(p, _, _, a, _)| a.is_some() && p.starts_with(prefix))
            .filter_map(|(_, _, _, a, _)| a.map(|i| i.to_string()))
            .collect();
        let opt = |x: &Option<usize>| x.map_or("None".to_owned(), |i| format!("Some({i})"));
        let name = if prefix.is_empty() { "(root)".to_owned() } else { prefix.join(".") };
        let _ = writeln!(
            o,
            "    PathNode {{ children: &[{}], any: {}, leaf: {}, details: {}, anchor: {}, probe: {}, probe_text: {}, below: &[{}], below_anchors: &[{}] }}, // {name}",
            kids.join(", "),
            opt(&any),
            opt(leaf),
            leaf.is_some_and(|i| paths.details.contains(&paths.leaves[i])),
            opt(anchor),
            opt(probe),
            probe.is_some_and(|i| paths.probe_texts.contains(&paths.probes[i])),
            below.join(", "),
            below_anchors.join(", ")
        );
    }
    o.push_str("];\n\n");
}

/// The retry defaults as constants for `RetryPolicy::DEFAULT`.
fn emit_retry(o: &mut String, r: &RetryFile) {
    o.push_str("/// The defaults of the retry advice (`taxonomy/retry.json`).\npub(crate) mod retry_defaults {\n");
    o.push_str("    use std::time::Duration;\n\n");
    let ms = |p: &RetryParam| p.value as u64;
    let _ = writeln!(
        o,
        "    pub const BASE: Duration = Duration::from_millis({}); // {}",
        ms(&r.base_ms),
        r.base_ms.source
    );
    let _ = writeln!(o, "    pub const FACTOR: f64 = {:?}; // {}", r.factor.value, r.factor.source);
    let _ =
        writeln!(o, "    pub const CAP: Duration = Duration::from_millis({}); // {}", ms(&r.cap_ms), r.cap_ms.source);
    let _ = writeln!(
        o,
        "    pub const JITTER: Duration = Duration::from_millis({}); // {}",
        ms(&r.jitter_ms),
        r.jitter_ms.source
    );
    let _ = writeln!(o, "    pub const MAX_ATTEMPTS: u32 = {}; // {}", ms(&r.max_attempts), r.max_attempts.source);
    let _ = writeln!(
        o,
        "    pub const GIVE_UP_AFTER: Duration = Duration::from_millis({}); // {}",
        ms(&r.give_up_after_ms),
        r.give_up_after_ms.source
    );
    o.push_str("}\n\n");
}

/// The generated `Style` enum and every table as statics.
pub fn emit_tables(t: &Taxonomy) -> String {
    let paths = body_paths(t);
    let mut o = String::from(HEADER);
    o.push('\n');
    o.push_str("/// An upstream error style, named after the gateway whose documentation defines it.\n");
    o.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\n#[derive(serde::Serialize, serde::Deserialize)]\n");
    o.push_str(
        "#[derive(strum::EnumIter, strum::EnumCount, strum::EnumString, strum::IntoStaticStr, strum::Display)]\n",
    );
    o.push_str("#[serde(rename_all = \"lowercase\")]\n#[strum(serialize_all = \"lowercase\", ascii_case_insensitive)]\n#[non_exhaustive]\npub enum Style {\n");
    for s in &t.styles {
        doc_lines(
            &mut o,
            "    ",
            &format!("{}\n\nTable: `taxonomy/providers/{}.json`, from `{}`.", s.description, s.style, s.seed),
        );
        let _ = writeln!(o, "    {},", s.name);
    }
    o.push_str("}\n\nimpl Style {\n    /// The style's table: where its fields live, its detection signatures and its rules.\n    ///\n    /// ```\n    /// use llm_error_taxonomy::{Field, Style};\n    ///\n    /// let table = Style::Azure.table();\n    /// assert_eq!((table.wire, table.extends), (\"azure\", Some(\"openai\")));\n    /// assert!(!table.locations(Field::Message).is_empty());\n    /// ```\n    pub fn table(self) -> &'static StyleTable {\n        match self {\n");
    for s in &t.styles {
        let _ = writeln!(o, "            Self::{} => &{},", s.name, s.style.to_ascii_uppercase());
    }
    o.push_str("        }\n    }\n\n    /// The wire name, such as `\"modelbridge\"`, which it also parses from.\n    ///\n    /// ```\n    /// use llm_error_taxonomy::Style;\n    ///\n    /// assert_eq!(Style::ModelBridge.as_str(), \"modelbridge\");\n    /// assert_eq!(\"modelbridge\".parse::<Style>(), Ok(Style::ModelBridge));\n    /// ```\n    pub const fn as_str(self) -> &'static str {\n        match self {\n");
    for s in &t.styles {
        let _ = writeln!(o, "            Self::{} => {:?},", s.name, s.style);
    }
    o.push_str("        }\n    }\n}\n\n");

    for (what, ident, list) in [
        ("captured", "BODY_PATHS", &paths.leaves),
        ("whose raw JSON is captured", "ANCHORS", &paths.anchors),
        ("a stream section probes", "PROBES", &paths.probes),
    ] {
        let _ = writeln!(o, "/// Every body path {what}, as segments; `Location` indexes this.");
        let _ = writeln!(o, "pub(crate) static {ident}: [&[&str]; {}] = [", list.len());
        for p in list.iter() {
            let segs: Vec<String> = p.split('.').filter(|s| !s.is_empty()).map(|s| format!("{s:?}")).collect();
            let _ = writeln!(o, "    &[{}],", segs.join(", "));
        }
        o.push_str("];\n\n");
    }
    emit_path_trie(&mut o, &paths);
    let by_priority: Vec<&StyleFile> = t.detect_order().unwrap_or_default();
    o.push_str("/// Every header name a field is read from, sorted (one ending in `*`: every header it begins).\n");
    let _ = writeln!(o, "pub(crate) static HEADER_NAMES: [&str; {}] = [", paths.headers.len());
    for h in &paths.headers {
        let _ = writeln!(o, "    {h:?},");
    }
    o.push_str("];\n\n");
    o.push_str("/// The index in `HEADER_NAMES` of `name`, when it is one of them exactly.\n");
    o.push_str("pub(crate) fn header_index(name: &str) -> Option<usize> {\n    match name {\n");
    for (i, h) in paths.headers.iter().enumerate().filter(|(_, h)| !h.ends_with('*')) {
        let _ = writeln!(o, "        {h:?} => Some({i}),");
    }
    o.push_str("        _ => None,\n    }\n}\n\n");
    let prefixes: Vec<String> = paths
        .headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| Some(format!("({:?}, {i})", h.strip_suffix('*')?)))
        .collect();
    o.push_str("/// The names of `HEADER_NAMES` that end in `*`, without it, and their index.\n");
    let _ = writeln!(
        o,
        "pub(crate) static HEADER_PREFIXES: [(&str, usize); {}] = [{}];\n",
        prefixes.len(),
        prefixes.join(", ")
    );
    o.push_str("/// The styles in the order `detect` tries them.\n");
    let _ = writeln!(o, "pub(crate) static DETECT_ORDER: [Style; {}] = [", by_priority.len());
    for s in by_priority {
        let _ = writeln!(o, "    Style::{},", s.name);
    }
    o.push_str("];\n\n");
    let reads = shared_reads(t, &paths);
    o.push_str("/// How many distinct lists of locations the tables read fields from, plus one: `reads`\n");
    o.push_str("/// numbers them, 0 for none.\n");
    let _ = writeln!(o, "pub(crate) const READS: usize = {};\n", reads.len() + 1);
    let phrases = phrase_list(t);
    emit_phrases(&mut o, &phrases);
    emit_literals(&mut o, &literal_list(t));
    for s in &t.styles {
        let file = format!("taxonomy/providers/{}.json", s.style);
        emit_table(&mut o, t, s, &s.style.to_ascii_uppercase(), Some(&s.name), &file, &paths, &reads, &phrases);
    }
    emit_table(&mut o, t, &t.generic, "GENERIC", None, "taxonomy/generic.json", &paths, &reads, &phrases);
    emit_reasons(&mut o, t);
    emit_streams(&mut o, t, &paths);

    emit_retry(&mut o, &t.retry);
    o.push_str("/// Secret formats redacted from every message (`taxonomy/secrets.json`).\n");
    o.push_str("pub(crate) const SECRETS: &[SecretPattern] = &[\n");
    for s in &t.secrets {
        let _ = writeln!(
            o,
            "    SecretPattern {{ prefix: {:?}, min_len: {}, max_len: {}, extra_chars: {:?}, ignore_case: {}, needs: [{}, {}, {}] }}, // {}: {}",
            s.prefix,
            s.min_len,
            s.max_len.unwrap_or(usize::MAX),
            s.extra_chars,
            s.ignore_case,
            s.needs.iter().any(|c| c == "digit"),
            s.needs.iter().any(|c| c == "lower"),
            s.needs.iter().any(|c| c == "upper"),
            s.name,
            s.source
        );
    }
    o.push_str("];\n");
    o
}

/// `text` as a Markdown code span: between single backticks, or, when it holds one, between
/// double backticks and spaces (`` model ` ``).
pub fn code_span(text: &str) -> String {
    if text.contains('`') { format!("`` {text} ``") } else { format!("`{text}`") }
}

/// The `TransportFailure` enum, from `taxonomy/transport.json`.
fn emit_transport(o: &mut String, t: &Taxonomy) {
    o.push_str("/// A failure with no upstream response, or with one cut short.\n///\n");
    o.push_str("/// Each variant's text and error come from `taxonomy/transport.json`; its name is snake_case\n");
    o.push_str("/// (`connect_timeout`) for serde and strum alike.\n");
    o.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\n");
    o.push_str("#[derive(serde::Serialize, serde::Deserialize)]\n");
    o.push_str(
        "#[derive(strum::EnumIter, strum::EnumCount, strum::EnumString, strum::IntoStaticStr, strum::Display)]\n",
    );
    o.push_str("#[serde(rename_all = \"snake_case\")]\n#[strum(serialize_all = \"snake_case\")]\n#[non_exhaustive]\npub enum TransportFailure {\n");
    for f in &t.transport {
        let _ = writeln!(o, "    /// {} `{}` ({}).", f.description, f.code, f.reason);
        let _ = writeln!(o, "    {},", camel(&f.failure));
    }
    o.push_str("}\n\nimpl TransportFailure {\n");
    let arms = |o: &mut String, sig: &str, doc: &str, f: &dyn Fn(&TransportRow) -> String| {
        let _ = writeln!(o, "    /// {doc}\n    pub const fn {sig} {{\n        match self {{");
        for row in &t.transport {
            let _ = writeln!(o, "            Self::{} => {},", camel(&row.failure), f(row));
        }
        o.push_str("        }\n    }\n\n");
    };
    arms(o, "as_str(self) -> &'static str", "The name, such as `\"connect_timeout\"`.", &|r| {
        format!("{:?}", r.failure)
    });
    arms(o, "description(self) -> &'static str", "What failed, in one sentence.", &|r| format!("{:?}", r.description));
    arms(o, "code(self) -> ErrorCode", "The code the failure becomes.", &|r| format!("ErrorCode::{}", camel(&r.code)));
    arms(o, "reason(self) -> &'static str", "The reason, the code of the error's first details entry.", &|r| {
        format!("{:?}", r.reason)
    });
    arms(o, "message(self) -> &'static str", "The error's message.", &|r| format!("{:?}", r.message));
    arms(
        o,
        "after_headers(self) -> bool",
        "Whether it happens after the response's headers, so possibly after output reached the client.",
        &|r| r.after_headers.to_string(),
    );
    arms(o, "source(self) -> &'static str", "The policy the mapping follows.", &|r| format!("{:?}", r.source));
    o.push_str("}\n\n");
}

/// Every reason a rule gives, as a constant.
fn emit_reasons(o: &mut String, t: &Taxonomy) {
    let mut reasons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in t.styles.iter().chain(std::iter::once(&t.generic)) {
        for r in &s.rules {
            if let Some(reason) = &r.then.reason {
                let users = reasons.entry(reason.as_str()).or_default();
                if !users.contains(&s.style.as_str()) {
                    users.push(&s.style);
                }
            }
        }
    }
    for f in &t.transport {
        let users = reasons.entry(f.reason.as_str()).or_default();
        if !users.contains(&"transport") {
            users.push("transport");
        }
    }
    o.push_str("/// Every reason the tables give (the code of an error's first details entry), so that a\n");
    o.push_str("/// gateway matching on one cannot mistype it.\n");
    o.push_str("pub mod reason {\n");
    for extra in EXTRA_REASONS {
        reasons.entry(extra.0).or_default();
    }
    let all: Vec<String> = reasons.keys().map(|r| format!("{r:?}")).collect();
    let _ = writeln!(
        o,
        "    /// Every reason, sorted: those of the tables and the crate's own.\n    pub const ALL: &[&str] = &[{}];",
        all.join(", ")
    );
    for (r, users) in reasons {
        let doc = EXTRA_REASONS.iter().find(|e| e.0 == r).map_or_else(
            || {
                format!(
                    "Given by the rules of {}.",
                    users.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ")
                )
            },
            |e| e.1.to_owned(),
        );
        let _ = writeln!(o, "    /// {doc}\n    pub const {r}: &str = {r:?};");
    }
    o.push_str("}\n\n");
}

/// Reasons the crate gives itself, outside any table.
pub const EXTRA_REASONS: &[(&str, &str)] = &[
    ("STREAM_DROPPED", "A stream that ended without its end marker."),
    ("STREAM_ERROR", "An error reported inside a stream."),
    ("STREAM_CORRUPT", "A stream whose framing is broken, such as an event-stream checksum that does not match."),
    ("GATEWAY_LAYER", "The gateway's own layer of an error that carries the upstream provider's error inside it."),
];

/// The words a payload must hold for a stream section to find an error or the stream's end in it:
/// the first word of each key it probes for an error, of each value it compares and of each
/// finish reason it knows. A key or string holding one of them begins with it, right after its
/// opening quote, unless written with a `\u` escape. `None` when a needle begins with no word
/// (every payload must then be read).
pub fn stream_triggers(s: &StreamSection) -> Option<Vec<&str>> {
    let keys = s.error_paths.iter().filter_map(|p| p.rsplit('.').find(|k| *k != "*"));
    let values = s.error_values.iter().filter_map(|v| v.split_once('=')).map(|(_, v)| v);
    let reasons = s.error_finish_reasons.iter().chain(&s.done_finish_reasons).map(String::as_str);
    let mut words = BTreeSet::new();
    for needle in keys.chain(values).chain(reasons) {
        let end = needle.bytes().position(|b| !is_word_byte(b)).unwrap_or(needle.len());
        if end == 0 {
            return None;
        }
        words.insert(&needle[..end]);
    }
    Some(words.into_iter().collect())
}

/// A byte of a word (ASCII), for [`stream_triggers`].
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The `stream` sections as statics, and `stream_set` to find what a reader of a style reads:
/// the generic section and the style's own (every style's, when the style is to be recognized).
fn emit_streams(o: &mut String, t: &Taxonomy, paths: &BodyPaths) {
    let effective: Vec<StyleFile> = t.styles.iter().map(|s| t.effective(s)).collect();
    let ident = |style: &StyleFile| format!("{}_STREAM", style.style.to_ascii_uppercase());
    let probe = |p: &str| {
        let spelled = probe_path(p).unwrap_or_default();
        paths.probes.iter().position(|q| *q == spelled).unwrap_or(usize::MAX)
    };
    let probes = |list: &[String]| {
        let items: Vec<String> = list.iter().map(|p| format!("{} /* {p} */", probe(p))).collect();
        format!("&[{}]", items.join(", "))
    };
    // Each section once, named after the style that declares it; a style that inherits its
    // parent's reads the parent's.
    let mut sections: Vec<(&StyleFile, &StreamSection)> = Vec::new();
    for st in std::iter::once(&t.generic).chain(&t.styles) {
        if let Some(section) = &st.stream
            && !sections.iter().any(|(_, s)| *s == section)
        {
            sections.push((st, section));
        }
    }
    let mut holder: BTreeMap<&str, usize> = BTreeMap::new();
    for st in std::iter::once(&t.generic).chain(&effective) {
        if let Some(i) = st.stream.as_ref().and_then(|section| sections.iter().position(|(_, s)| *s == section)) {
            holder.insert(&st.style, i);
        }
    }
    for (style, s) in &sections {
        let _ = writeln!(o, "/// The `{}` stream facts: {}.", style.style, s.sources.join(", "));
        let _ = writeln!(o, "static {}: crate::stream::StreamSpec = crate::stream::StreamSpec {{", ident(style));
        let _ = writeln!(o, "    error_paths: {},", probes(&s.error_paths));
        let values: Vec<String> = s
            .error_values
            .iter()
            .filter_map(|v| v.split_once('='))
            .map(|(p, v)| format!("({} /* {p} */, {v:?})", probe(p)))
            .collect();
        let _ = writeln!(o, "    error_values: &[{}],", values.join(", "));
        let _ = writeln!(o, "    finish_reason: {},", probes(&s.finish_reason));
        let _ = writeln!(o, "    error_finish_reasons: {},", str_list(&s.error_finish_reasons));
        let _ = writeln!(o, "    done_finish_reasons: {},", str_list(&s.done_finish_reasons));
        let _ = writeln!(o, "    output: {},", probes(&s.output));
        o.push_str("};\n\n");
    }
    // A set: its sections, and the union of their lists that any one of them decides alone.
    let set = |o: &mut String, name: &str, doc: &str, members: &[(&StyleFile, &StreamSection)]| {
        let union = |f: &dyn Fn(&StreamSection) -> &Vec<String>| {
            let all: BTreeSet<String> = members.iter().flat_map(|(_, s)| f(s).iter().cloned()).collect();
            str_list(&all.into_iter().collect::<Vec<_>>())
        };
        let triggers: Option<BTreeSet<&str>> =
            members.iter().map(|(_, s)| stream_triggers(s)).try_fold(BTreeSet::new(), |mut acc, words| {
                acc.extend(words?);
                Some(acc)
            });
        // A word that another one begins is found wherever it is: only the shorter is searched.
        let triggers = triggers.map(|all| {
            all.iter().filter(|w| !all.iter().any(|p| p != *w && w.starts_with(p))).copied().collect::<BTreeSet<_>>()
        });
        let specs: Vec<String> = members.iter().map(|(st, _)| format!("&{}", ident(st))).collect();
        let _ = writeln!(o, "/// {doc}");
        let _ = writeln!(o, "static {name}: crate::stream::StreamSet = crate::stream::StreamSet {{");
        let _ = writeln!(o, "    specs: &[{}],", specs.join(", "));
        let _ = writeln!(o, "    done: {},", union(&|s| &s.done));
        let _ = writeln!(o, "    end_events: {},", union(&|s| &s.end_events));
        let _ = writeln!(o, "    error_events: {},", union(&|s| &s.error_events));
        let _ = writeln!(o, "    output_events: {},", union(&|s| &s.output_events));
        let _ = writeln!(o, "    error_fields: {},", union(&|s| &s.error_fields));
        let _ = writeln!(o, "    status_comments: {},", union(&|s| &s.status_comments));
        match triggers {
            Some(words) => {
                // runs[b]..runs[b + 1] indexes the words that begin with byte b (all ASCII).
                let words: Vec<&str> = words.into_iter().collect();
                let runs: Vec<String> = (0..=128u8)
                    .map(|b| words.iter().filter(|w| w.as_bytes()[0] < b || b == 128).count().to_string())
                    .collect();
                let _ = writeln!(
                    o,
                    "    triggers: &{words:?},\n    trigger_runs: [{}],\n    trigger_starts: crate::scan::pair_set(&{words:?}),\n    always_read: false,\n    searcher: std::sync::OnceLock::new(),",
                    runs.join(", "),
                );
            }
            None => o.push_str("    triggers: &[],\n    trigger_runs: [0; 129],\n    trigger_starts: [0; 16],\n    always_read: true,\n    searcher: std::sync::OnceLock::new(),\n"),
        }
        o.push_str("};\n\n");
    };
    let generic: Vec<(&StyleFile, &StreamSection)> =
        holder.get(t.generic.style.as_str()).map(|&i| sections[i]).into_iter().collect();
    let mut arms = Vec::new();
    for style in &effective {
        let mut members = generic.clone();
        if let Some(&i) = holder.get(style.style.as_str())
            && !members.contains(&sections[i])
        {
            members.push(sections[i]);
        }
        if members.len() == generic.len() {
            arms.push(format!("        Some(Style::{}) => &GENERIC_STREAMS,", style.name));
            continue;
        }
        let name = format!("{}_STREAMS", style.style.to_ascii_uppercase());
        set(
            o,
            &name,
            &format!("What a reader of `{}` streams reads: the generic section and its own.", style.style),
            &members,
        );
        arms.push(format!("        Some(Style::{}) => &{name},", style.name));
    }
    set(
        o,
        "GENERIC_STREAMS",
        "What a reader of a style with no stream section of its own reads: the generic section.",
        &generic,
    );
    set(o, "ANY_STREAMS", "What a reader that recognizes each error's style reads: every section.", &sections);
    arms.push("        None => &ANY_STREAMS,".to_owned());
    o.push_str("/// What a stream reader of `style` reads (`None`: a style recognized from each error).\n");
    o.push_str("pub(crate) fn stream_set(style: Option<Style>) -> &'static crate::stream::StreamSet {\n");
    o.push_str("    match style {\n");
    for arm in arms {
        let _ = writeln!(o, "{arm}");
    }
    o.push_str("    }\n}\n\n");
}

/// Loads, validates and writes the generated files into `out_dir`.
pub fn run(taxonomy: &Path, out_dir: &Path) -> Result<Taxonomy, String> {
    let t = load(taxonomy).map_err(|p| p.to_string())?;
    let write = |name: &str, text: String| {
        std::fs::write(out_dir.join(name), text).map_err(|e| format!("cannot write {name}: {e}"))
    };
    write("codes.rs", emit_codes(&t))?;
    write("tables.rs", emit_tables(&t))?;
    let readme = std::fs::read_to_string(taxonomy.join("README.md"))
        .map_err(|e| format!("taxonomy/README.md: cannot read: {e}"))?;
    for (name, text) in docs::render_all(&t, &readme)? {
        write(&name, text)?;
    }
    Ok(t)
}
