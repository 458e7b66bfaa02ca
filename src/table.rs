//! The compiled style tables: where each style's fields live and its ordered rules.
//!
//! Everything here is generated from `taxonomy/` by `build/codegen.rs`; the types are
//! read-only views, public so that tools can list and render the rules.

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
    /// Where each [`Field`] is read, indexed by `Field as usize`; first present wins.
    pub fields: [&'static [Location]; Field::COUNT],
    /// How `detect` recognizes the style.
    pub detect: Option<Detect>,
    /// The rules, in order; the first that matches wins.
    pub rules: &'static [Rule],
}

impl StyleTable {
    /// Where `field` is read, in order.
    pub fn locations(&self, field: Field) -> &'static [Location] {
        self.fields[field as usize]
    }

    /// The generic reading, used when no style is given or recognized.
    pub fn generic() -> &'static StyleTable {
        &GENERIC
    }
}

/// Where a field is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A JSON body path, as an index into the compiled path list.
    Body(usize),
    /// A response header, by lowercase name.
    Header(&'static str),
}

impl Location {
    /// The location as the tables write it: `error.message` or `header:x-request-id`.
    pub fn path(self) -> String {
        match self {
            Location::Body(i) => BODY_PATHS.get(i).map(|s| s.join(".")).unwrap_or_default(),
            Location::Header(h) => format!("header:{h}"),
        }
    }
}

/// How `detect` recognizes a style.
#[derive(Debug)]
#[non_exhaustive]
pub struct Detect {
    /// Styles are tried by ascending priority.
    pub priority: u32,
    /// The style matches when any signature holds.
    pub signatures: &'static [Signature],
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
    /// What the signature is based on.
    pub source: &'static str,
}

/// A rule: when its conditions hold, it yields an outcome.
#[derive(Debug)]
#[non_exhaustive]
pub struct Rule {
    /// The rule's name, unique in its table.
    pub name: &'static str,
    /// The conditions.
    pub when: Condition,
    /// What it yields.
    pub then: Outcome,
    /// What the rule implements: a seed line, a URL or a policy anchor.
    pub source: &'static str,
    /// Why the rule is kept but should no longer be relied on.
    pub deprecated: Option<&'static str>,
}

/// Conditions that must all hold; a list means any of its values, an empty list any value.
#[derive(Debug)]
#[non_exhaustive]
pub struct Condition {
    /// The HTTP status.
    pub status: &'static [StatusPattern],
    /// The error code, compared exactly.
    pub code: &'static [&'static str],
    /// The error type, compared exactly.
    pub type_: &'static [&'static str],
    /// The upstream provider's own status.
    pub upstream_status: &'static [StatusPattern],
    /// Lowercase phrases, any of which the message contains (ASCII case-insensitive).
    pub message: &'static [&'static str],
}

impl Condition {
    /// A condition that holds for every input; generated rules fill in the rest from it.
    pub const ANY: Condition = Condition { status: &[], code: &[], type_: &[], upstream_status: &[], message: &[] };

    /// Whether only the HTTP status is tested: the rule is a fallback by status.
    pub fn is_status_only(&self) -> bool {
        !self.status.is_empty()
            && self.code.is_empty()
            && self.type_.is_empty()
            && self.upstream_status.is_empty()
            && self.message.is_empty()
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
    pub leaf: Option<usize>,
    /// Every path at or under this node.
    pub below: &'static [usize],
}

/// A secret format (`taxonomy/secrets.json`).
#[derive(Debug)]
pub(crate) struct SecretPattern {
    pub prefix: &'static str,
    pub min_len: usize,
    pub extra_chars: &'static str,
    pub ignore_case: bool,
}

/// All style tables, in the order of [`Style`]'s variants, then the generic one.
pub fn all() -> impl Iterator<Item = &'static StyleTable> {
    use strum::IntoEnumIterator;
    Style::iter().map(Style::table).chain(std::iter::once(&GENERIC))
}
