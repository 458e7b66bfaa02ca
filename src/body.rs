//! Reads only the fields the tables locate from a JSON body, borrowing where it can.
//!
//! The body is walked once with serde: a key that starts no located path is skipped with
//! [`IgnoredAny`], so no `serde_json::Value` of the body is ever built. Captured strings are
//! capped on a character boundary, arrays of details are capped in length, and `null` counts
//! as absent. A key given twice keeps its last value, as JavaScript's `JSON.parse` does. Keys are
//! compared as raw bytes, so skipped keys are not checked for UTF-8, as skipped values are not.

use crate::limits::Limits;
use crate::table::{ANCHORS, BODY_PATHS, HEADER_NAMES, PATH_TRIE, PROBES, PathNode, Seg};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;

const PATHS: usize = BODY_PATHS.len();
const ANCHOR_COUNT: usize = ANCHORS.len();
const PROBE_COUNT: usize = PROBES.len();

/// How much of a string the rules look at, whatever the output limits: limits bound what is
/// emitted, never what a response is classified as.
pub(crate) const CLASSIFY_BYTES: usize = 8 * 1024;

/// The most `|json` decodings one path may go through.
const MAX_JSON_DEPTH: usize = 4;

/// A captured JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Details(Vec<RawDetail<'a>>),
}

impl Value<'_> {
    /// The value as text, for strings only.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as text, for strings and numbers.
    pub(crate) fn to_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Float(f) => Some(Cow::Owned(f.to_string())),
            Value::Bool(_) | Value::Details(_) => None,
        }
    }

    /// The value as a number, for numbers and numeric strings.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        let n = match self {
            Value::Int(i) => *i as f64,
            Value::Float(f) => *f,
            Value::Str(s) => s.trim().parse::<f64>().ok()?,
            Value::Bool(_) | Value::Details(_) => return None,
        };
        n.is_finite().then_some(n)
    }

    /// The value as an HTTP status in 100-599.
    pub(crate) fn as_status(&self) -> Option<u16> {
        let n = self.as_f64()?;
        (n.fract() == 0.0 && (100.0..=599.0).contains(&n)).then_some(n as u16)
    }
}

/// One entry of a details array, as the body gives it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawDetail<'a> {
    pub field: Option<Cow<'a, str>>,
    pub code: Option<Cow<'a, str>>,
    pub message: Option<Cow<'a, str>>,
    /// Other scalar members, such as `max` or `model_max_tokens`.
    pub figures: Vec<(Cow<'a, str>, Value<'a>)>,
}

/// The most figures kept per details entry.
const MAX_FIGURES: usize = 8;

/// What the walk noted at one of the stream sections' paths (`choices.*.finish_reason`), over
/// every element a `*` reaches.
#[derive(Debug, Default)]
pub(crate) struct Probed<'a> {
    /// A value that is not `null` was found.
    pub seen: bool,
    /// A value that is not empty was found: not `""`, `[]` or `{}`.
    pub filled: bool,
    /// The first non-empty string found (in document order), for the probes whose string is
    /// compared.
    pub text: Option<Cow<'a, str>>,
}

/// The value found at each body path, kept compactly: a body fills few of the paths, so a
/// path's value lives in the next free place, inline for the first [`INLINE`], and a path has
/// one place at most (a key given again reuses it).
#[derive(Debug)]
struct Slots<'a> {
    /// For each path: 0 when it has no place, else one more than its place's index.
    place: [u8; PATHS],
    inline: [Option<Value<'a>>; INLINE],
    more: Vec<Option<Value<'a>>>,
    used: u8,
}

/// How many values a body's reading keeps without allocating.
const INLINE: usize = 8;

const _: () = assert!(PATHS < u8::MAX as usize, "a path's place fits in a byte");

impl<'a> Slots<'a> {
    fn new() -> Self {
        Slots { place: [0; PATHS], inline: [const { None }; INLINE], more: Vec::new(), used: 0 }
    }

    fn slot(&mut self, place: u8) -> &mut Option<Value<'a>> {
        let i = usize::from(place) - 1;
        match self.inline.get_mut(i) {
            Some(slot) => slot,
            None => &mut self.more[i - INLINE],
        }
    }

    fn get(&self, path: usize) -> Option<&Value<'a>> {
        let i = usize::from(*self.place.get(path)?).checked_sub(1)?;
        self.inline.get(i).or_else(|| self.more.get(i - INLINE))?.as_ref()
    }

    fn set(&mut self, path: usize, value: Value<'a>) {
        if self.place[path] == 0 {
            self.used += 1;
            self.place[path] = self.used;
            if usize::from(self.used) > INLINE {
                self.more.push(None);
            }
        }
        *self.slot(self.place[path]) = Some(value);
    }

    fn clear(&mut self, path: usize) {
        if self.place[path] != 0 {
            *self.slot(self.place[path]) = None;
        }
    }

    fn is_empty(&self) -> bool {
        self.inline.iter().chain(&self.more).all(Option::is_none)
    }
}

/// The locations a reading of a response has found a value at: body path `i` is bit `i`, anchor
/// `a` bit `PATHS + a` (both noted at any point of the walk), header `h` of `HEADER_NAMES` bit
/// [`HEADER_BIT`] `+ h`, and an event's name [`EVENT_BIT`]. A value given and then replaced (by
/// a `null`, or by a later object under the same key) leaves its bit set, so the set holds every
/// location that has a value and may hold more: a location whose bit is clear has none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen([u64; SEEN_WORDS]);

/// The first header's bit in a [`Seen`].
pub(crate) const HEADER_BIT: usize = PATHS + ANCHOR_COUNT;
/// The bit of an event's name in a [`Seen`].
pub(crate) const EVENT_BIT: usize = HEADER_BIT + HEADER_NAMES.len();
const SEEN_WORDS: usize = (EVENT_BIT + 1).div_ceil(64);

impl Seen {
    pub(crate) const NONE: Seen = Seen([0; SEEN_WORDS]);

    /// The locations either set holds.
    pub(crate) fn union(mut self, other: Seen) -> Seen {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
        self
    }

    pub(crate) fn add(&mut self, bit: usize) {
        if let Some(word) = self.0.get_mut(bit / 64) {
            *word |= 1 << (bit % 64);
        }
    }

    /// The set of `bits`, made at compile time for the tables' needs (a bit past the set's end
    /// stops the build).
    pub(crate) const fn of(bits: &[u16]) -> Seen {
        let mut words = [0; SEEN_WORDS];
        let mut i = 0;
        while i < bits.len() {
            let b = bits[i] as usize;
            words[b / 64] |= 1 << (b % 64);
            i += 1;
        }
        Seen(words)
    }

    /// Whether the location of `bit` is in this set.
    pub(crate) fn has(&self, bit: usize) -> bool {
        self.0.get(bit / 64).is_some_and(|w| w >> (bit % 64) & 1 == 1)
    }

    /// Whether a location of `other` is in this set too.
    fn meets_one(&self, other: &Seen) -> bool {
        self.0.iter().zip(&other.0).fold(0, |any, (a, b)| any | (a & b)) != 0
    }

    /// Whether a condition's need ([`Condition::need`](crate::table::Condition)) is met: a
    /// location of each of its sets seen.
    pub(crate) fn meets(&self, need: &[Seen]) -> bool {
        need.iter().all(|set| self.meets_one(set))
    }
}

/// What the walk found, one slot per body path.
#[derive(Debug)]
pub(crate) struct Captures<'a> {
    values: Slots<'a>,
    seen: Seen,
    probes: [Probed<'a>; PROBE_COUNT],
    /// The raw JSON at each anchor, and its parse, made the first time a path reads it.
    anchors: [Option<&'a RawValue>; ANCHOR_COUNT],
    parsed: [OnceCell<Option<serde_json::Value>>; ANCHOR_COUNT],
    /// How long a captured string may be.
    keep: usize,
}

impl<'a> Captures<'a> {
    /// Reads `body`; `None` when it is not a JSON document (or is over the size limit).
    pub(crate) fn read(body: &'a [u8], limits: &Limits) -> Option<Captures<'a>> {
        match Self::walk(body, limits)? {
            (caps, true) => Some(caps),
            (_, false) => None,
        }
    }

    /// Reads `body` as far as it is JSON: what was found before any syntax error, and whether
    /// the whole body is one JSON document. `None` when it does not begin as one (an object,
    /// or an array for the paths that read one) or is over the size limit.
    pub(crate) fn walk(body: &'a [u8], limits: &Limits) -> Option<(Captures<'a>, bool)> {
        if body.len() > limits.max_body_bytes {
            return None;
        }
        let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
        let root = &PATH_TRIE[0];
        if *first != b'{' && !(*first == b'[' && root.anchor.is_some()) {
            // Only an object (or, for the paths that read one, an array) holds an error.
            return None;
        }
        let mut caps = Captures {
            values: Slots::new(),
            seen: Seen::NONE,
            probes: std::array::from_fn(|_| Probed::default()),
            anchors: [None; ANCHOR_COUNT],
            parsed: [const { OnceCell::new() }; ANCHOR_COUNT],
            keep: keep(limits.max_message_bytes).max(CLASSIFY_BYTES),
        };
        // The root is kept whole only when it is an array: the paths that start with `*` read
        // a top-level array (an object's members are reached by their keys).
        if let Some(a) = root.anchor
            && *first == b'['
        {
            let raw: Option<&RawValue> = serde_json::from_slice(body).ok();
            caps.anchors[a] = raw;
            caps.seen.add(PATHS + a);
            return Some((caps, raw.is_some()));
        }
        let mut de = serde_json::Deserializer::from_slice(body);
        let walker = Walker { caps: &mut caps, node: root, limits };
        let whole = walker.deserialize(&mut de).is_ok() && de.end().is_ok();
        Some((caps, whole))
    }

    /// What the walk noted at stream probe `index`.
    pub(crate) fn probe(&self, index: usize) -> Option<&Probed<'a>> {
        self.probes.get(index)
    }

    /// The scalars at `rest` within the value captured at `anchor`, in document order: every
    /// element that `*` and filters find (up to a bound), decoding `|json` strings on the way.
    pub(crate) fn deep(&self, anchor: usize, rest: &[Seg]) -> Vec<Value<'static>> {
        let mut out = Vec::new();
        if let Some(value) = self.anchor_value(anchor) {
            deep_in(value, rest, 0, self.keep, &mut out);
        }
        out
    }

    /// Whether raw JSON was captured at `anchor`.
    pub(crate) fn has_anchor(&self, anchor: usize) -> bool {
        self.anchors.get(anchor).is_some_and(Option::is_some)
    }

    /// The value captured at `anchor`, parsed.
    pub(crate) fn anchor_value(&self, anchor: usize) -> Option<&serde_json::Value> {
        let raw = (*self.anchors.get(anchor)?)?;
        self.parsed.get(anchor)?.get_or_init(|| serde_json::from_str(raw.get()).ok()).as_ref()
    }

    /// The value at body path `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&Value<'a>> {
        self.values.get(index)
    }

    /// Keeps `value` as body path `path`'s.
    fn set(&mut self, path: usize, value: Value<'a>) {
        self.values.set(path, value);
        self.seen.add(path);
    }

    /// The body paths and anchors that may hold a value.
    pub(crate) fn seen(&self) -> Seen {
        self.seen
    }

    /// Whether any path was found.
    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty() && self.anchors.iter().all(Option::is_none)
    }
}

/// The first value (of any kind) at `rest` within `v`, for the paths with keys, `*` and filters
/// (a `|json` step holds no value to borrow, so it finds nothing here).
pub(crate) fn deep_ref<'v>(v: &'v serde_json::Value, rest: &[Seg]) -> Option<&'v serde_json::Value> {
    use serde_json::Value as J;
    let Some((seg, tail)) = rest.split_first() else { return (!v.is_null()).then_some(v) };
    match (seg, v) {
        (Seg::Key(k), J::Object(m)) => deep_ref(m.get(*k)?, tail),
        (Seg::Any, J::Array(a)) => a.iter().find_map(|e| deep_ref(e, tail)),
        (Seg::Any, J::Object(m)) => m.values().find_map(|e| deep_ref(e, tail)),
        (Seg::Where(k, want), J::Array(a)) => {
            a.iter().filter(|e| e.get(*k).and_then(J::as_str) == Some(*want)).find_map(|e| deep_ref(e, tail))
        }
        _ => None,
    }
}

/// The most values one deep path yields: `*` and filters find at most this many.
const MAX_DEEP_VALUES: usize = 16;

/// Follows `rest` from `v`, pushing each scalar found (in document order) onto `out`; see
/// [`Captures::deep`].
fn deep_in(v: &serde_json::Value, rest: &[Seg], json_depth: usize, keep: usize, out: &mut Vec<Value<'static>>) {
    use serde_json::Value as J;
    if out.len() >= MAX_DEEP_VALUES {
        return;
    }
    let Some((seg, tail)) = rest.split_first() else {
        let scalar = match v {
            J::String(s) => Some(Value::Str(Cow::Owned(cap(s, keep).to_owned()))),
            J::Number(n) => n.as_i64().map(Value::Int).or_else(|| n.as_f64().map(Value::Float)),
            J::Bool(b) => Some(Value::Bool(*b)),
            J::Null | J::Array(_) | J::Object(_) => None,
        };
        out.extend(scalar);
        return;
    };
    match (seg, v) {
        (Seg::Key(k), J::Object(m)) => {
            if let Some(next) = m.get(*k) {
                deep_in(next, tail, json_depth, keep, out);
            }
        }
        (Seg::Any, J::Array(a)) => a.iter().for_each(|e| deep_in(e, tail, json_depth, keep, out)),
        (Seg::Any, J::Object(m)) => m.values().for_each(|e| deep_in(e, tail, json_depth, keep, out)),
        (Seg::Where(k, want), J::Array(a)) => a
            .iter()
            .filter(|e| e.get(*k).and_then(J::as_str) == Some(*want))
            .for_each(|e| deep_in(e, tail, json_depth, keep, out)),
        (Seg::Json, J::String(s)) if json_depth < MAX_JSON_DEPTH => {
            if let Ok(inner) = serde_json::from_str::<J>(s) {
                deep_in(&inner, tail, json_depth + 1, keep, out);
            }
        }
        _ => {}
    }
}

/// How much of a string the reader keeps for an output limit: twice the limit, so that the
/// cut to the limit itself is made, and seen, when the string is cleaned for output.
fn keep(limit: usize) -> usize {
    limit.saturating_mul(2)
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub(crate) fn cap(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn cap_cow<'a>(s: Cow<'a, str>, max: usize) -> Cow<'a, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(cap(b, max)),
        Cow::Owned(mut o) => {
            let keep = cap(&o, max).len();
            o.truncate(keep);
            Cow::Owned(o)
        }
    }
}

/// Walks a JSON value at a node of the path trie, descending only into keys that continue a path.
struct Walker<'c, 'a> {
    caps: &'c mut Captures<'a>,
    node: &'static PathNode,
    limits: &'c Limits,
}

impl<'c, 'a> Walker<'c, 'a> {
    fn put(mut self, value: Value<'a>) {
        self.clear();
        if let Some(i) = self.node.leaf {
            self.caps.set(i, value);
        }
    }

    /// Forgets what an earlier value of this key left at or under this node: a key given twice
    /// keeps its last value, whole (a second `"error"` object replaces the first).
    fn clear(&mut self) {
        if self.caps.values.used == 0 {
            return;
        }
        for &i in self.node.below {
            self.caps.values.clear(i);
        }
    }

    fn put_str(self, s: Cow<'a, str>) {
        let max = self.caps.keep;
        let s = cap_cow(s, max);
        if let Some(p) = self.node.probe {
            let probed = &mut self.caps.probes[p];
            probed.seen = true;
            if !s.is_empty() {
                probed.filled = true;
                if probed.text.is_none() && self.node.probe_text {
                    probed.text = Some(s.clone());
                }
            }
        }
        self.put(Value::Str(s));
    }

    /// Notes a value that is not `null` at a probed node; `filled` when it is not empty.
    fn note(&mut self, filled: bool) {
        if let Some(p) = self.node.probe {
            self.caps.probes[p].seen = true;
            self.caps.probes[p].filled |= filled;
        }
    }
}

impl<'de, 'c> DeserializeSeed<'de> for Walker<'c, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'c> Visitor<'de> for Walker<'c, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        // An object where a value is read replaces an earlier value of the same key.
        self.clear();
        let children = self.node.children;
        if children.is_empty() {
            let mut entries = 0usize;
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                entries += 1;
            }
            self.note(entries > 0);
            return Ok(());
        }
        let mut entries = 0usize;
        let limits = self.limits;
        let caps = &mut *self.caps;
        while let Some(key) = map.next_key_seed(RawKeySeed)? {
            entries += 1;
            match children.iter().find(|(k, _)| k.as_bytes() == &*key) {
                Some(&(_, n)) => {
                    let node = &PATH_TRIE[usize::from(n)];
                    match node.anchor {
                        None => map.next_value_seed(Walker { caps: &mut *caps, node, limits })?,
                        Some(a) => {
                            // Keep the raw JSON for the deeper paths, then read it for the plain ones.
                            let raw: &'de RawValue = map.next_value()?;
                            for &i in node.below_anchors {
                                caps.anchors[i] = None;
                                caps.parsed[i] = OnceCell::new();
                            }
                            caps.anchors[a] = Some(raw).filter(|r| r.get() != "null");
                            if caps.anchors[a].is_some() {
                                caps.seen.add(PATHS + a);
                            }
                            let mut de = serde_json::Deserializer::from_str(raw.get());
                            Walker { caps: &mut *caps, node, limits }
                                .deserialize(&mut de)
                                .map_err(de::Error::custom)?;
                        }
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        self.note(entries > 0);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        if let Some(n) = self.node.any {
            // `*`: every element continues the paths below.
            self.clear();
            let child = &PATH_TRIE[usize::from(n)];
            let mut entries = 0usize;
            if !self.node.details {
                while seq
                    .next_element_seed(Walker { caps: &mut *self.caps, node: child, limits: self.limits })?
                    .is_some()
                {
                    entries += 1;
                }
                self.note(entries > 0);
                if let Some(i) = self.node.leaf {
                    self.caps.set(i, Value::Details(Vec::new()));
                }
                return Ok(());
            }
            // The array is also read whole here: each element is read twice, from its raw JSON.
            let mut list = Vec::new();
            while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                entries += 1;
                let mut de = serde_json::Deserializer::from_str(raw.get());
                Walker { caps: &mut *self.caps, node: child, limits: self.limits }
                    .deserialize(&mut de)
                    .map_err(de::Error::custom)?;
                if list.len() < self.limits.max_details {
                    let mut de = serde_json::Deserializer::from_str(raw.get());
                    list.extend(DetailSeed { limits: self.limits }.deserialize(&mut de).map_err(de::Error::custom)?);
                }
            }
            self.note(entries > 0);
            if let Some(i) = self.node.leaf {
                self.caps.set(i, Value::Details(list));
            }
            return Ok(());
        }
        if !self.node.details {
            self.clear();
            let mut entries = 0usize;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                entries += 1;
            }
            match self.node.leaf {
                // A path of its own that no details field reads: the array is noted as there.
                Some(i) => self.caps.set(i, Value::Details(Vec::new())),
                None => self.note(entries > 0),
            }
            return Ok(());
        }
        let mut list = Vec::new();
        let max = self.limits.max_details;
        loop {
            if list.len() < max {
                match seq.next_element_seed(DetailSeed { limits: self.limits })? {
                    Some(Some(d)) => list.push(d),
                    Some(None) => {}
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
        }
        self.put(Value::Details(list));
        Ok(())
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.put_str(Cow::Borrowed(v));
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        let capped = cap(v, self.caps.keep);
        self.put_str(Cow::Owned(capped.to_owned()));
        Ok(())
    }

    fn visit_i64<E: de::Error>(mut self, v: i64) -> Result<(), E> {
        self.note(true);
        self.put(Value::Int(v));
        Ok(())
    }

    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<(), E> {
        self.note(true);
        self.put(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int));
        Ok(())
    }

    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        self.note(true);
        self.put(Value::Float(v));
        Ok(())
    }

    fn visit_bool<E: de::Error>(mut self, v: bool) -> Result<(), E> {
        self.note(true);
        self.put(Value::Bool(v));
        Ok(())
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        // `null` is absent, also when it replaces an earlier value of the same key.
        self.clear();
        Ok(())
    }
}

/// A map key as raw bytes, borrowed unless it holds escapes: it is only compared with the
/// table's keys, so it need not be checked for UTF-8 (a key that is not UTF-8 matches none).
pub(crate) struct RawKeySeed;

impl<'de> DeserializeSeed<'de> for RawKeySeed {
    type Value = Cow<'de, [u8]>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_bytes(RawKeyVisitor)
    }
}

struct RawKeyVisitor;

impl<'de> Visitor<'de> for RawKeyVisitor {
    type Value = Cow<'de, [u8]>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_vec()))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v.as_bytes()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.as_bytes().to_vec()))
    }
}

/// A map key, borrowed unless it holds escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(StrVisitor)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// A scalar member of a details entry; anything else is skipped.
struct ScalarSeed<'c> {
    limits: &'c Limits,
}

impl<'de> DeserializeSeed<'de> for ScalarSeed<'_> {
    type Value = Option<Value<'de>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed<'_> {
    type Value = Option<Value<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Value::Str(Cow::Borrowed(cap(
            v,
            keep(self.limits.max_message_bytes.max(self.limits.max_field_bytes)),
        )))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Value::Str(Cow::Owned(
            cap(v, keep(self.limits.max_message_bytes.max(self.limits.max_field_bytes))).to_owned(),
        ))))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Value::Int(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Value::Float(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Value::Bool(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// One details entry: an object with `field`, `code`, `message` and scalar figures.
struct DetailSeed<'c> {
    limits: &'c Limits,
}

impl<'de> DeserializeSeed<'de> for DetailSeed<'_> {
    type Value = Option<RawDetail<'de>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DetailSeed<'_> {
    type Value = Option<RawDetail<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a details entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut d = RawDetail::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(ScalarSeed { limits: self.limits })?;
            let Some(value) = value else { continue };
            let text = |v: Value<'de>| match v {
                Value::Str(s) => Some(s),
                _ => None,
            };
            match &*key {
                "field" => d.field = text(value),
                "code" => d.code = text(value),
                "message" => d.message = text(value),
                _ if d.figures.len() < MAX_FIGURES => {
                    d.figures.push((cap_cow(key, keep(self.limits.max_field_bytes)), value))
                }
                _ => {}
            }
        }
        Ok(Some(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path keeps its last value, cleared or not, past the inline places too, and a path
    /// set again reuses its place.
    #[test]
    fn slots_keep_each_paths_last_value() {
        let mut slots = Slots::new();
        assert!(slots.is_empty());
        let n = |i: usize| Value::Int(i64::try_from(i).unwrap_or_default());
        for round in 0..3 {
            for path in (0..PATHS).rev() {
                slots.set(path, n(path * 10 + round));
            }
        }
        assert_eq!(usize::from(slots.used), PATHS, "one place per path");
        for path in 0..PATHS {
            assert_eq!(slots.get(path), Some(&n(path * 10 + 2)));
            slots.clear(path);
            assert_eq!(slots.get(path), None);
        }
        assert!(slots.is_empty());
        slots.set(PATHS - 1, n(7));
        assert_eq!(slots.get(PATHS - 1), Some(&n(7)));
        assert_eq!(slots.get(PATHS), None);
        assert!(!slots.is_empty());
    }

    fn index(path: &str) -> usize {
        BODY_PATHS.iter().position(|p| p.join(".") == path).expect("a located path")
    }

    #[test]
    fn reads_located_fields_and_skips_the_rest() {
        let body = br#"{"big": [1, 2, {"error": {"message": "no"}}], "error": {"message": "hi", "code": "x", "extra": {"a": 1}}}"#;
        let caps = Captures::read(body, &Limits::default()).expect("json");
        assert_eq!(caps.get(index("error.message")).and_then(Value::as_str), Some("hi"));
        assert_eq!(caps.get(index("error.code")).and_then(Value::as_str), Some("x"));
        assert!(caps.get(index("error.type")).is_none());
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let body = br#"{"error": {"message": "plain", "code": "esc\"aped"}}"#;
        let caps = Captures::read(body, &Limits::default()).expect("json");
        assert!(matches!(caps.get(index("error.message")), Some(Value::Str(Cow::Borrowed("plain")))));
        assert!(matches!(caps.get(index("error.code")), Some(Value::Str(Cow::Owned(_)))));
    }

    #[test]
    fn last_duplicate_key_wins_and_null_is_absent() {
        let body = br#"{"error": {"code": "first", "code": "second", "message": null}}"#;
        let caps = Captures::read(body, &Limits::default()).expect("json");
        assert_eq!(caps.get(index("error.code")).and_then(Value::as_str), Some("second"));
        assert!(caps.get(index("error.message")).is_none());
    }

    #[test]
    fn a_repeated_object_replaces_the_first_whole() {
        let limits = Limits::default();
        for body in [
            &br#"{"error": {"code": "a", "type": "t"}, "error": {"message": "m"}}"#[..],
            br#"{"error": {"code": "a", "type": "t"}, "error": "flat", "error": {"message": "m"}}"#,
            br#"{"error": {"code": "a", "type": "t"}, "error": [1], "error": {"message": "m"}}"#,
        ] {
            let caps = Captures::read(body, &limits).expect("json");
            assert!(caps.get(index("error.code")).is_none(), "{}", String::from_utf8_lossy(body));
            assert!(caps.get(index("error.type")).is_none());
            assert_eq!(caps.get(index("error.message")).and_then(Value::as_str), Some("m"));
        }
        let caps = Captures::read(br#"{"error": {"code": "a"}, "error": null}"#, &limits).expect("json");
        assert!(caps.is_empty());
    }

    #[test]
    fn rejects_what_is_not_one_json_object() {
        let limits = Limits::default();
        for body in [&b""[..], b"<html>", b"{\"error\": ", b"{} {}", b"{\"a\":1}x"] {
            assert!(Captures::read(body, &limits).is_none(), "{:?}", String::from_utf8_lossy(body));
        }
        assert!(Captures::read(b"\xEF\xBB\xBF{}", &limits).is_some());
        // A document that is not an object (or an array) is not walked at all.
        for body in [&b"\"error\""[..], b"429", b"true", b"null", b" \"{}\""] {
            assert!(Captures::walk(body, &limits).is_none(), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn a_body_at_the_size_limit_is_read_and_one_byte_more_is_not() {
        let limits = Limits { max_body_bytes: 32, ..Limits::default() };
        let body = br#"{"error": {"code": "at_limit"}}"#;
        let at = format!("{}{}", " ".repeat(limits.max_body_bytes - body.len()), String::from_utf8_lossy(body));
        assert_eq!(at.len(), limits.max_body_bytes);
        let caps = Captures::read(at.as_bytes(), &limits).expect("a body at the limit is read");
        assert_eq!(caps.get(index("error.code")).and_then(Value::as_str), Some("at_limit"));
        assert!(Captures::read(format!(" {at}").as_bytes(), &limits).is_none());
    }

    #[test]
    fn details_are_capped() {
        let entries: Vec<String> =
            (0..100).map(|i| format!(r#"{{"field": "f{i}", "code": "C", "max": {i}}}"#)).collect();
        let body = format!(r#"{{"error": {{"details": [{}]}}}}"#, entries.join(","));
        let limits = Limits::default();
        let caps = Captures::read(body.as_bytes(), &limits).expect("json");
        let Some(Value::Details(list)) = caps.get(index("error.details")) else { panic!("details") };
        assert_eq!(list.len(), limits.max_details);
        assert_eq!(list[1].field.as_deref(), Some("f1"));
        assert_eq!(list[1].figures, vec![(Cow::Borrowed("max"), Value::Int(1))]);
    }

    /// What the walk of `body` noted at the probe of `path`.
    fn probed(body: &str, path: &str) -> (bool, bool, Option<String>) {
        let index = PROBES.iter().position(|p| p.join(".") == path).expect("a probed path");
        let (caps, whole) = Captures::walk(body.as_bytes(), &Limits::default()).expect("json");
        assert!(whole, "{body}");
        let p = caps.probe(index).expect("a probe");
        (p.seen, p.filled, p.text.as_deref().map(str::to_owned))
    }

    #[test]
    fn probes_note_presence_emptiness_and_the_first_string() {
        let finish = "choices.*.finish_reason";
        let some = |s: &str| Some(s.to_owned());
        // The first string that is not empty, in document order, over every element.
        let body =
            r#"{"choices": [{"finish_reason": ""}, {"finish_reason": "stop"}, {"finish_reason": "content_filter"}]}"#;
        assert_eq!(probed(body, finish), (true, true, some("stop")));
        assert_eq!(probed(r#"{"choices": [{"finish_reason": ""}]}"#, finish), (true, false, None));
        assert_eq!(probed(r#"{"choices": [{"finish_reason": null}]}"#, finish), (false, false, None));
        assert_eq!(probed(r#"{"choices": [{"index": 0}]}"#, finish), (false, false, None));
        // An array or object is filled when it has an element or member.
        let tools = "choices.*.delta.tool_calls";
        assert_eq!(
            probed(r#"{"choices": [{"delta": {"tool_calls": [{"id": "call_1"}]}}]}"#, tools),
            (true, true, None)
        );
        assert_eq!(probed(r#"{"choices": [{"delta": {"tool_calls": []}}]}"#, tools), (true, false, None));
        let function = "choices.*.delta.function_call";
        assert_eq!(
            probed(r#"{"choices": [{"delta": {"function_call": {"name": "f"}}}]}"#, function),
            (true, true, None)
        );
        assert_eq!(probed(r#"{"choices": [{"delta": {"function_call": {}}}]}"#, function), (true, false, None));
        // The same for an object with paths below it (Anthropic's `delta`).
        assert_eq!(probed(r#"{"delta": {"type": "text_delta", "text": ""}}"#, "delta"), (true, true, None));
        assert_eq!(probed(r#"{"delta": {}}"#, "delta"), (true, false, None));
        // Once filled, a later empty value leaves it filled.
        let body = r#"{"choices": [{"delta": {"tool_calls": [{"id": "call_1"}]}}, {"delta": {"tool_calls": []}}]}"#;
        assert_eq!(probed(body, tools), (true, true, None));
    }

    #[test]
    fn escaped_keys_negative_numbers_and_every_scalar_of_a_details_entry_are_read() {
        let limits = Limits::default();
        // A key with an escape is unescaped before it is compared.
        let caps = Captures::read(br#"{"err\u006fr": {"c\u006fde": -42}}"#, &limits).expect("json");
        assert_eq!(caps.get(index("error.code")), Some(&Value::Int(-42)));
        let body = br#"{"error": {"details": [{"fi\u0065ld": "messages", "code": "esc\"aped", "message": "m\u00e9",
            "min": -1, "max": 18446744073709551615, "ratio": 0.5, "strict": true, "none": null, "list": [1], "obj": {"a": 1},
            "w\u0069dth": "w\u0069de"}]}}"#;
        let caps = Captures::read(body, &limits).expect("json");
        let Some(Value::Details(list)) = caps.get(index("error.details")) else { panic!("details") };
        let d = &list[0];
        assert_eq!(
            (d.field.as_deref(), d.code.as_deref(), d.message.as_deref()),
            (Some("messages"), Some("esc\"aped"), Some("m\u{e9}"))
        );
        let figures: Vec<(&str, &Value<'_>)> = d.figures.iter().map(|(k, v)| (&**k, v)).collect();
        assert_eq!(
            figures,
            [
                ("min", &Value::Int(-1)),
                ("max", &Value::Float(18446744073709551615.0)),
                ("ratio", &Value::Float(0.5)),
                ("strict", &Value::Bool(true)),
                ("width", &Value::Str(Cow::Borrowed("wide"))),
            ]
        );
    }

    #[test]
    fn a_details_entry_keeps_at_most_eight_figures() {
        let members: Vec<String> = (0..12).map(|i| format!(r#""f{i}": {i}"#)).collect();
        let body = format!(r#"{{"error": {{"details": [{{"code": "C", {}}}]}}}}"#, members.join(", "));
        let caps = Captures::read(body.as_bytes(), &Limits::default()).expect("json");
        let Some(Value::Details(list)) = caps.get(index("error.details")) else { panic!("details") };
        let names: Vec<&str> = list[0].figures.iter().map(|(k, _)| &**k).collect();
        assert_eq!(names, ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"]);
        assert_eq!(list[0].code.as_deref(), Some("C"));
        // Entries that are no object are skipped, whatever they hold.
        let body =
            br#"{"error": {"details": [["x", [1], {"code": "NO"}], "text", -3, 3, 0.5, true, null, {"code": "C"}]}}"#;
        let caps = Captures::read(body, &Limits::default()).expect("json");
        let Some(Value::Details(list)) = caps.get(index("error.details")) else { panic!("details") };
        assert_eq!(list.iter().map(|d| d.code.as_deref()).collect::<Vec<_>>(), [Some("C")]);
    }

    #[test]
    fn an_array_read_whole_and_by_element_is_capped_whole_and_walked_whole() {
        // `choices` is both a path of its own and the parent of `choices.*.finish_reason`; no
        // `details` field reads it, so the array is noted as there, and walked, but not read.
        let limits = Limits::default();
        let entries: Vec<String> = (0..40).map(|i| format!(r#"{{"index": {i}, "finish_reason": null}}"#)).collect();
        let body = format!(r#"{{"choices": [{}, {{"finish_reason": "length"}}]}}"#, entries.join(", "));
        let caps = Captures::read(body.as_bytes(), &limits).expect("json");
        assert_eq!(caps.get(index("choices")), Some(&Value::Details(Vec::new())));
        assert!(caps.seen().meets(&[Seen::of(&[index("choices") as u16])]));
        assert_eq!(probed(&body, "choices.*.finish_reason"), (true, true, Some("length".to_owned())));
        // Where a `details` field reads such a path, the array is also read whole, capped.
        let choices =
            &PATH_TRIE[PATH_TRIE[0].children.iter().find(|(k, _)| *k == "choices").expect("choices").1 as usize];
        let node: &'static PathNode = Box::leak(Box::new(PathNode {
            children: &[],
            any: choices.any,
            leaf: choices.leaf,
            details: true,
            anchor: None,
            probe: None,
            probe_text: false,
            below: choices.below,
            below_anchors: &[],
        }));
        let array = format!(r#"[{}, {{"finish_reason": "length"}}]"#, entries.join(", "));
        let mut caps = Captures::walk(b"{}", &limits).expect("json").0;
        let mut de = serde_json::Deserializer::from_str(&array);
        Walker { caps: &mut caps, node, limits: &limits }.deserialize(&mut de).expect("an array");
        let Some(Value::Details(list)) = caps.get(index("choices")) else { panic!("choices") };
        assert_eq!(list.len(), limits.max_details);
        assert_eq!(list[1].figures, vec![(Cow::Borrowed("index"), Value::Int(1))]);
        let caps = Captures::read(br#"{"choices": []}"#, &limits).expect("json");
        assert_eq!(caps.get(index("choices")), Some(&Value::Details(Vec::new())));
        // An array under a `*` without a path of its own: noted as filled when it has elements.
        let parts = "candidates.*.content.parts";
        assert_eq!(probed(r#"{"candidates": [{"content": {"parts": [{"text": "Hi"}]}}]}"#, parts), (true, true, None));
        assert_eq!(probed(r#"{"candidates": [{"content": {"parts": []}}]}"#, parts), (true, false, None));
    }

    /// The strings `deep_in` finds at `rest` within `v`.
    fn deep_strings(v: &serde_json::Value, rest: &[Seg]) -> Vec<String> {
        let mut out = Vec::new();
        deep_in(v, rest, 0, CLASSIFY_BYTES, &mut out);
        out.iter().map(|v| v.as_str().unwrap_or("(not a string)").to_owned()).collect()
    }

    #[test]
    fn deeper_paths_follow_keys_stars_and_filters() {
        let v = serde_json::json!({"error": {"details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"},
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "contents"}]},
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "tools"}]}
        ], "by_name": {"b": {"msg": "second"}, "a": {"msg": "first"}}}});
        let bad_request = Seg::Where("@type", "type.googleapis.com/google.rpc.BadRequest");
        let violations = [Seg::Key("error"), Seg::Key("details"), bad_request, Seg::Key("fieldViolations")];
        let first = deep_ref(&v, &violations).expect("the first BadRequest's violations");
        assert_eq!(first, &serde_json::json!([{"field": "contents"}]));
        let fields = [&violations[..], &[Seg::Any, Seg::Key("field")]].concat();
        assert_eq!(deep_strings(&v, &fields), ["contents", "tools"]);
        let info =
            [Seg::Key("error"), Seg::Key("details"), Seg::Where("@type", "type.googleapis.com/google.rpc.ErrorInfo")];
        assert_eq!(
            deep_ref(&v, &[&info[..], &[Seg::Key("reason")]].concat()),
            Some(&serde_json::json!("API_KEY_INVALID"))
        );
        assert_eq!(deep_strings(&v, &[&info[..], &[Seg::Key("reason")]].concat()), ["API_KEY_INVALID"]);
        // `*` over an object reads its members' values, in key order.
        let by_name = [Seg::Key("error"), Seg::Key("by_name"), Seg::Any, Seg::Key("msg")];
        assert_eq!(deep_ref(&v, &by_name), Some(&serde_json::json!("first")));
        assert_eq!(deep_strings(&v, &by_name), ["first", "second"]);
        // A key that is not there, or a step that does not fit the value, finds nothing.
        assert_eq!(deep_ref(&v, &[Seg::Key("nope")]), None);
        assert_eq!(deep_ref(&v, &[Seg::Key("error"), Seg::Key("details"), Seg::Key("reason")]), None);
        assert!(deep_strings(&v, &[Seg::Key("error"), Seg::Any, Seg::Where("@type", "x")]).is_empty());
    }

    #[test]
    fn json_inside_strings_is_decoded_at_most_four_levels_deep() {
        // `{"m": "<JSON of {\"m\": ... {\"msg\": \"found\"}}>"}`, `levels` strings deep.
        let nested = |levels: usize| {
            let mut v = serde_json::json!({"msg": "found"});
            for _ in 0..levels {
                v = serde_json::json!({"m": v.to_string()});
            }
            v
        };
        for levels in 1..=6 {
            let mut rest = Vec::new();
            for _ in 0..levels {
                rest.extend([Seg::Key("m"), Seg::Json]);
            }
            rest.push(Seg::Key("msg"));
            let found = deep_strings(&nested(levels), &rest);
            assert_eq!(found.len(), usize::from(levels <= MAX_JSON_DEPTH), "{levels} levels: {found:?}");
        }
    }

    #[test]
    fn cap_keeps_whole_characters() {
        assert_eq!(cap("héllo", 2), "h");
        assert_eq!(cap("héllo", 3), "hé");
        assert_eq!(cap("abc", 10), "abc");
    }
}
