//! The compiled style tables: where each style's fields live and its ordered rules.
//!
//! Everything here is generated from `taxonomy/` by `build/codegen.rs`; the types are
//! read-only views, public so that tools can list and render the rules.

use crate::body::Seen;
use crate::code::{ErrorCode, Field};
use strum::EnumCount;

include!(concat!(env!("OUT_DIR"), "/tables.rs"));

/// A style's table: field locations, detection signatures and rules.
#[derive(Debug)]
#[non_exhaustive]
pub struct StyleTable {
    /// The style, or `None` for the generic reading.
    pub style: Option<Style>,
    /// The wire name, such as `"modelbridge"` or `"generic"`.
    pub wire: &'static str,
    /// The display name, such as `"ModelBridge"`.
    pub name: &'static str,
    /// What the style looks like.
    pub description: &'static str,
    /// The document the table implements.
    pub seed: &'static str,
    /// The style this one builds on; its fields and rules are compiled into this table.
    pub extends: Option<&'static str>,
    /// Where each [`Field`] is read, indexed by `Field as usize`; first present wins.
    pub fields: [&'static [Location]; Field::COUNT],
    /// For each field, the number of its list of locations among all tables' (0: none): tables
    /// with the same number read the same values from a response.
    pub(crate) reads: [u16; Field::COUNT],
    /// Fields whose values ride in the first details entry, by figure name.
    pub figures: &'static [(&'static str, Field)],
    /// Where field-level details are read.
    pub details: &'static [DetailsSpec],
    /// How `detect` recognizes the style.
    pub detect: Option<Detect>,
    /// Where a gateway's error carries the upstream's own error.
    pub inner: Option<Inner>,
    /// The rules, in order, inherited ones and the fallbacks by status included; the first that
    /// matches wins.
    pub rules: &'static [Rule],
}

impl StyleTable {
    /// Where `field` is read, in order: the first location that yields a value wins.
    ///
    /// ```
    /// use llm_error_taxonomy::{Field, Style};
    ///
    /// let paths: Vec<String> = Style::MoltbotDen.table().locations(Field::RetryAfter).iter().map(|l| l.path()).collect();
    /// assert_eq!(paths.first().map(String::as_str), Some("header:retry-after-ms|ms"));
    /// assert_eq!(paths.last().map(String::as_str), Some("error.retry_after"));
    /// ```
    pub fn locations(&self, field: Field) -> &'static [Location] {
        self.fields[field as usize]
    }

    /// The generic reading, used when no style is given or recognized.
    ///
    /// ```
    /// use llm_error_taxonomy::table::StyleTable;
    ///
    /// let generic = StyleTable::generic();
    /// assert_eq!((generic.style, generic.wire), (None, "generic"));
    /// ```
    pub fn generic() -> &'static StyleTable {
        &GENERIC
    }
}

/// Where a field is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A plain JSON body path, as an index into the compiled path list.
    Body {
        /// The path's index.
        path: usize,
        /// Transforms applied to the value.
        then: &'static [Transform],
    },
    /// A deeper body path: the raw JSON captured at `anchor`, then the `rest` of the path.
    Deep {
        /// The anchor path's index.
        anchor: usize,
        /// The path within the anchor's value.
        rest: &'static [Seg],
        /// Transforms applied to the value.
        then: &'static [Transform],
    },
    /// A response header, by lowercase name.
    Header {
        /// The header's name.
        name: &'static str,
        /// The name's place among the header names the tables read: a response that has the
        /// header notes it at this place of the locations it holds.
        index: u16,
        /// Transforms applied to the value.
        then: &'static [Transform],
    },
    /// The name of the event-stream message being read (its `:exception-type` or `:error-code`).
    Event {
        /// Transforms applied to the value.
        then: &'static [Transform],
    },
}

impl Location {
    /// The location as the tables write it: `error.message`, `header:x-request-id|number`.
    ///
    /// ```
    /// use llm_error_taxonomy::{Field, Style};
    ///
    /// let first = Style::ModelBridge.table().locations(Field::Message)[0];
    /// assert_eq!(first.path(), "error.message");
    /// assert!(first.transforms().is_empty());
    /// ```
    pub fn path(self) -> String {
        let join = |p: &[&str]| p.join(".");
        let (mut s, then) = match self {
            Location::Body { path, then } => (BODY_PATHS.get(path).map(|p| join(p)).unwrap_or_default(), then),
            Location::Deep { anchor, rest, then } => {
                let mut s = ANCHORS.get(anchor).map(|p| join(p)).unwrap_or_default();
                for seg in rest {
                    match seg {
                        Seg::Key(k) => {
                            if !s.is_empty() {
                                s.push('.');
                            }
                            s.push_str(k);
                        }
                        Seg::Any => s.push_str(if s.is_empty() { "*" } else { ".*" }),
                        Seg::Where(k, v) => s.push_str(&format!("[{k}={v}]")),
                        Seg::Json => s.push_str("|json"),
                    }
                }
                (s, then)
            }
            Location::Header { name, then, .. } => (format!("header:{name}"), then),
            Location::Event { then } => ("event".to_owned(), then),
        };
        for t in then {
            s.push('|');
            s.push_str(&t.to_string());
        }
        s
    }

    /// The transforms applied to the value, in order (see [`Location::path`]).
    pub fn transforms(self) -> &'static [Transform] {
        match self {
            Location::Body { then, .. }
            | Location::Deep { then, .. }
            | Location::Header { then, .. }
            | Location::Event { then } => then,
        }
    }
}

/// A segment of a deeper body path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Seg {
    /// An object member.
    Key(&'static str),
    /// Every element of an array, in order (in a field's location, every member value of an
    /// object too, in key order); the first that yields a value wins.
    Any,
    /// The array elements that are objects whose member `.0` is the string `.1`.
    Where(&'static str, &'static str),
    /// The string here holds JSON: decode it (bounded) and go on in the decoded value.
    Json,
}

/// A transform applied to a located value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transform {
    /// The part before the first occurrence of the separator.
    Before(&'static str),
    /// The part after the last occurrence of the separator.
    After(&'static str),
    /// A number, also read from a numeric string.
    Number,
    /// Milliseconds, as seconds.
    Millis,
    /// A duration such as `17s`, `6m0s` or `20ms`, as seconds.
    Duration,
    /// Seconds, or an HTTP-date, as seconds from now.
    Delay,
    /// `X-RateLimit-Reset`: seconds, a Unix time in seconds or milliseconds, or a duration.
    Reset,
    /// An RFC 3339 time, as seconds from now.
    Rfc3339,
    /// ASCII lowercase.
    Lower,
    /// The value only when it contains this text.
    Containing(&'static str),
    /// The value only when the response's header `.0` is `.1`.
    If(&'static str, &'static str),
}

impl std::fmt::Display for Transform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transform::Before(s) => write!(f, "before:{s}"),
            Transform::After(s) => write!(f, "after:{s}"),
            Transform::Number => f.write_str("number"),
            Transform::Millis => f.write_str("ms"),
            Transform::Duration => f.write_str("duration"),
            Transform::Delay => f.write_str("delay"),
            Transform::Reset => f.write_str("reset"),
            Transform::Rfc3339 => f.write_str("rfc3339"),
            Transform::Lower => f.write_str("lower"),
            Transform::If(h, v) => write!(f, "if:{h}={v}"),
            Transform::Containing(s) => write!(f, "containing:{s}"),
        }
    }
}

/// Where a style's field-level details are read.
#[derive(Debug)]
#[non_exhaustive]
pub struct DetailsSpec {
    /// The array (or, when `keyed`, the object) of entries.
    pub at: Location,
    /// Each member of an object is an entry, its key the entry's code.
    pub keyed: bool,
    /// Only entries whose member of this name is `true`.
    pub only_if: Option<&'static str>,
    /// The member holding the request field at fault.
    pub field: Option<&'static str>,
    /// The member holding the entry's code.
    pub code: Option<&'static str>,
    /// The member holding the entry's message.
    pub message: Option<&'static str>,
}

/// Where a gateway's error carries the upstream provider's own error (`taxonomy/README.md`,
/// "Errors inside errors").
#[derive(Debug)]
#[non_exhaustive]
pub struct Inner {
    /// The field holding the inner error's JSON (from its first `{` or `[`).
    pub body: Field,
    /// Provider names, in lowercase as the `provider` field gives them, and the style that
    /// reads their errors; a provider not listed is detected from the inner body.
    pub styles: &'static [(&'static str, Style)],
}

/// How `detect` recognizes a style.
#[derive(Debug)]
#[non_exhaustive]
pub struct Detect {
    /// The styles this one is tried before, besides those it extends.
    pub before: &'static [Style],
    /// The style matches when any signature holds.
    pub signatures: &'static [Signature],
    /// Locations one of which a response must have for any signature to hold (the first set of
    /// each signature's need), derived by the build step; `None` when a signature needs none.
    pub(crate) any: Option<Seen>,
}

/// A shape that identifies a style.
#[derive(Debug)]
#[non_exhaustive]
pub struct Signature {
    /// Body paths that must be present.
    pub present: &'static [Location],
    /// Body paths that must hold a JSON number.
    pub numeric: &'static [Location],
    /// Conditions that must hold.
    pub when: Condition,
    /// What the signature needs of a response, derived by the build step: the condition's need
    /// and the bit of each path that must be present (see [`Condition`]'s).
    pub(crate) need: &'static [Seen],
    /// What the signature is based on.
    pub source: &'static str,
}

/// A rule: when its conditions hold, it yields an outcome.
#[derive(Debug)]
#[non_exhaustive]
pub struct Rule {
    /// The rule's name, unique in its table.
    pub name: &'static str,
    /// The table the rule is written in: a style's wire name (the style's own, or one it
    /// extends), or `generic` for the fallbacks every style shares.
    pub table: &'static str,
    /// The conditions.
    pub when: Condition,
    /// What it yields.
    pub then: Outcome,
    /// What the rule implements: a seed line, a URL or a policy anchor.
    pub source: &'static str,
    /// Why the rule is kept but should no longer be relied on.
    pub deprecated: Option<&'static str>,
}

/// Tests that must all hold.
#[derive(Debug)]
#[non_exhaustive]
pub struct Condition {
    /// The tests; the HTTP status's first when there is one.
    pub tests: &'static [Test],
    /// What the tests need of a body, derived from them by the build step: for each test that
    /// needs a value of a field the table reads only from the body, the bits of the field's
    /// locations (`body::Seen`), one of which the reading must have set. A condition whose
    /// need is not met cannot hold, and its tests are not run.
    pub(crate) need: &'static [Seen],
}

/// What a test looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Subject {
    /// The HTTP status (for a success status, the status the body repeats, else 500).
    Status,
    /// A field the style declares.
    Field(Field),
}

/// One test on a subject.
#[derive(Debug)]
#[non_exhaustive]
pub struct Test {
    /// What is tested.
    pub subject: Subject,
    /// How.
    pub op: Op,
    /// For a `Contains` test, its phrases' indexes in `PHRASES`.
    pub(crate) phrases: &'static [u16],
    /// For an `Equals` test, the lengths of its values as bits (bit 63: 63 bytes or more), by
    /// which most texts are told apart from all of them at once ([`Test::may_equal`]).
    pub(crate) lengths: u64,
}

impl Test {
    /// Whether a text of `len` bytes has the length of one of an `Equals` test's values.
    #[inline]
    pub(crate) fn may_equal(&self, len: usize) -> bool {
        self.lengths >> len.min(63) & 1 == 1
    }
}

/// How a subject is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// Its text is one of these, exactly (sorted bytewise, without repeats).
    Equals(&'static [&'static str]),
    /// Its text starts with one of these.
    StartsWith(&'static [&'static str]),
    /// Its text contains one of these lowercase phrases on word boundaries, ignoring ASCII case.
    Contains(&'static [&'static str]),
    /// Read as a number, it matches one of these statuses.
    Status(&'static [StatusPattern]),
    /// It is present (`true`) or absent (`false`).
    Present(bool),
}

impl Condition {
    /// Whether only the HTTP status is tested: the rule is a fallback by status.
    ///
    /// ```
    /// use llm_error_taxonomy::{Field, Style};
    ///
    /// let rules = Style::ModelBridge.table().rules;
    /// let spending = rules.iter().find(|r| r.name == "spending_limit_exceeded").expect("a rule");
    /// assert!(!spending.when.is_status_only());
    /// assert_eq!(spending.when.equals(Field::Code), ["spending_limit_exceeded"]);
    /// let fallback = rules.last().expect("rules");
    /// assert!(fallback.when.is_status_only() && !fallback.when.status().is_empty());
    /// assert!(fallback.when.statuses(Field::Code).is_empty() && fallback.when.phrases().next().is_none());
    /// ```
    pub fn is_status_only(&self) -> bool {
        matches!(self.tests, [Test { subject: Subject::Status, .. }])
    }

    /// The status patterns the HTTP status is tested against (empty when it is not).
    pub fn status(&self) -> &'static [StatusPattern] {
        self.tests
            .iter()
            .find_map(|t| match (t.subject, t.op) {
                (Subject::Status, Op::Status(p)) => Some(p),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// The values `field` must equal (empty when it is not tested so).
    pub fn equals(&self, field: Field) -> &'static [&'static str] {
        self.tests
            .iter()
            .find_map(|t| match (t.subject, t.op) {
                (Subject::Field(f), Op::Equals(v)) if f == field => Some(v),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// The status patterns `field` is tested against (empty when it is not).
    pub fn statuses(&self, field: Field) -> &'static [StatusPattern] {
        self.tests
            .iter()
            .find_map(|t| match (t.subject, t.op) {
                (Subject::Field(f), Op::Status(v)) if f == field => Some(v),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// Every phrase test, as (field, phrases).
    pub fn phrases(&self) -> impl Iterator<Item = (Field, &'static [&'static str])> + '_ {
        self.tests.iter().filter_map(|t| match (t.subject, t.op) {
            (Subject::Field(f), Op::Contains(p)) => Some((f, p)),
            _ => None,
        })
    }
}

/// What a rule yields.
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// The normalized code.
    pub code: ErrorCode,
    /// Why, such as `SPENDING_LIMIT_EXCEEDED`; `None` keeps the body's own details.
    pub reason: Option<&'static str>,
    /// The request field the caller must fix.
    pub field: Option<&'static str>,
}

/// An HTTP status or a class of statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    /// Exactly this status.
    Exact(u16),
    /// Any status whose hundreds digit is this: `Class(4)` is `4xx`.
    Class(u16),
}

impl StatusPattern {
    /// Whether `status` matches.
    ///
    /// ```
    /// use llm_error_taxonomy::table::StatusPattern;
    ///
    /// assert!(StatusPattern::Class(5).matches(503) && !StatusPattern::Exact(500).matches(503));
    /// assert_eq!(StatusPattern::Class(4).to_string(), "4xx");
    /// ```
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Exact(s) => s == status,
            StatusPattern::Class(c) => status / 100 == c,
        }
    }
}

impl std::fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusPattern::Exact(s) => write!(f, "{s}"),
            StatusPattern::Class(c) => write!(f, "{c}xx"),
        }
    }
}

/// A node of the body path trie: the keys that continue a path, and the path that ends here.
#[derive(Debug)]
pub(crate) struct PathNode {
    pub children: &'static [(&'static str, u16)],
    /// The node every element of an array continues to (`*`).
    pub any: Option<u16>,
    pub leaf: Option<usize>,
    /// Whether an array at the leaf is read as a list of details (a `details` field reads it);
    /// elsewhere an array is only noted as there.
    pub details: bool,
    /// The anchor whose raw JSON is captured here.
    pub anchor: Option<usize>,
    /// The stream probe noted here.
    pub probe: Option<usize>,
    /// Whether the probe's first string is kept (a finish reason, an `error_values` value).
    pub probe_text: bool,
    /// Every path at or under this node.
    pub below: &'static [usize],
    /// Every anchor at or under this node.
    pub below_anchors: &'static [usize],
}

/// A secret format (`taxonomy/secrets.json`).
#[derive(Debug)]
pub(crate) struct SecretPattern {
    pub prefix: &'static str,
    pub min_len: usize,
    pub max_len: usize,
    pub extra_chars: &'static str,
    pub ignore_case: bool,
    /// Whether the token must hold a digit, a lowercase letter, an uppercase letter after its
    /// first character.
    pub needs: [bool; 3],
}

/// All style tables, in the order of [`Style`]'s variants, then the generic one.
///
/// ```
/// use llm_error_taxonomy::{table, Style};
/// use strum::IntoEnumIterator;
///
/// assert_eq!(table::all().count(), Style::iter().count() + 1);
/// assert!(table::all().all(|t| !t.rules.is_empty()));
/// ```
pub fn all() -> impl Iterator<Item = &'static StyleTable> {
    use strum::IntoEnumIterator;
    Style::iter().map(Style::table).chain(std::iter::once(&GENERIC))
}
