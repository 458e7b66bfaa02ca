//! A response read through one table: where each field's value is found (body paths, deeper
//! paths, headers, an event-stream message's name), the transforms applied to it, and the facts
//! the rules test, each read at most once. Classification (`normalize.rs`) and detection
//! (`detect.rs`) both read responses through it.

use crate::body::{CLASSIFY_BYTES, Captures, EVENT_BIT, HEADER_BIT, RawDetail, Seen, Value, cap};
use crate::code::Field;
use crate::few::Few;
use crate::phrases::Found;
use crate::retry_after::{self, Clock};
use crate::scan::decimal;
use crate::table::{
    Condition, HEADER_PREFIXES, Location, Op, READS, Rule, StyleTable, Subject, Test, Transform, header_index,
};
use http::{HeaderMap, StatusCode};
use std::borrow::Cow;
use std::cell::{Cell, OnceCell, RefCell};
use std::mem::ManuallyDrop;

/// `true` or `false`, as a JSON boolean or a string such as a header value.
pub(crate) fn flag(v: &Value<'_>) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Str(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::Str(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A response read through one table: body captures, headers and, inside a stream, the
/// event's name.
#[derive(Clone, Copy)]
pub(crate) struct View<'x, 'a> {
    pub table: &'static StyleTable,
    pub caps: Option<&'x Captures<'a>>,
    pub headers: &'x HeaderMap,
    pub event: Option<&'x str>,
    pub clock: Clock,
    /// The headers the tables read that the response has, and whether an event is named: a
    /// header location whose bit is clear has no value, and is not looked for. Made by
    /// [`View::new`] from `headers` and `event`.
    pub heard: Seen,
}

/// A captured value seen through a view: borrowed from the body where it can be.
fn reborrow<'x>(v: &'x Value<'_>) -> Option<Value<'x>> {
    Some(match v {
        Value::Str(s) => Value::Str(Cow::Borrowed(s)),
        Value::Int(i) => Value::Int(*i),
        Value::Float(f) => Value::Float(*f),
        Value::Bool(b) => Value::Bool(*b),
        Value::Details(_) => return None,
    })
}

impl<'x, 'a> View<'x, 'a> {
    /// A view of a response through `table`.
    pub(crate) fn new(
        table: &'static StyleTable,
        caps: Option<&'x Captures<'a>>,
        headers: &'x HeaderMap,
        event: Option<&'x str>,
        clock: Clock,
    ) -> Self {
        View { table, caps, headers, event, clock, heard: heard(headers, event.is_some()) }
    }

    /// A view of no body, through `table`.
    pub(crate) fn bare(table: &'static StyleTable, headers: &'x HeaderMap, clock: Clock) -> Self {
        View::new(table, None, headers, None, clock)
    }

    /// The values at one location, transformed: one, or for a deep path every element found.
    fn all_at(&self, loc: Location) -> Few<Value<'x>> {
        match loc {
            Location::Deep { anchor, rest, then } => match self.caps {
                Some(caps) if caps.has_anchor(anchor) => caps
                    .deep(anchor, rest)
                    .into_iter()
                    .filter_map(|v| then.iter().try_fold(v, |v, t| transform(v, *t, self)))
                    .collect::<Vec<_>>()
                    .into(),
                _ => Few::Zero,
            },
            Location::Header { index, .. } if !self.heard.has(HEADER_BIT + usize::from(index)) => Few::Zero,
            Location::Header { name, then, .. } if name.ends_with('*') => {
                let prefix = &name[..name.len() - 1];
                let mut found: Vec<Value<'x>> = self
                    .headers
                    .iter()
                    .filter(|(n, _)| n.as_str().starts_with(prefix))
                    .filter_map(|(_, v)| header_text(v))
                    .filter_map(|v| then.iter().try_fold(v, |v, t| transform(v, *t, self)))
                    .collect();
                // The same headers in any order give the same facts.
                found.sort_by(|a, b| a.as_f64().partial_cmp(&b.as_f64()).unwrap_or(std::cmp::Ordering::Equal));
                found.into()
            }
            _ => self.at(loc).map_or(Few::Zero, Few::One),
        }
    }

    /// Every value of `field` at the first of its locations that has one.
    pub(crate) fn values(&self, field: Field) -> Few<Value<'x>> {
        for loc in self.table.locations(field) {
            let found = match *loc {
                // The most common location, read directly: a body path with no transform.
                Location::Body { path, then: [] } => match self.caps.and_then(|c| c.get(path)).and_then(reborrow) {
                    Some(v) => return Few::One(v),
                    None => continue,
                },
                loc => self.all_at(loc),
            };
            if !found.as_slice().is_empty() {
                return found;
            }
        }
        Few::Zero
    }

    /// The value at one location, transformed (for a deep path, the first element found).
    fn at(&self, loc: Location) -> Option<Value<'x>> {
        let v = match loc {
            Location::Body { path, .. } => reborrow(self.caps?.get(path)?)?,
            Location::Deep { anchor, rest, .. } => self.caps?.deep(anchor, rest).into_iter().next()?,
            Location::Header { index, .. } if !self.heard.has(HEADER_BIT + usize::from(index)) => return None,
            Location::Header { name, .. } if name.ends_with('*') => return self.all_at(loc).into_first(),
            Location::Header { name, .. } => header_text(header(self.headers, name)?)?,
            Location::Event { .. } => Value::Str(Cow::Owned(self.event?.to_owned())),
        };
        loc.transforms().iter().try_fold(v, |v, t| transform(v, *t, self))
    }

    /// The first located value of `field`.
    pub(crate) fn value(&self, field: Field) -> Option<Value<'x>> {
        self.table.locations(field).iter().find_map(|loc| self.at(*loc))
    }

    /// The first located string of `field`.
    pub(crate) fn text(&self, field: Field) -> Option<Cow<'x, str>> {
        self.table.locations(field).iter().find_map(|loc| match self.at(*loc)? {
            Value::Str(s) => Some(s),
            _ => None,
        })
    }

    /// The details array of the `details` field, as the body gives it.
    pub(crate) fn details(&self) -> Option<&'x [RawDetail<'a>]> {
        self.table.locations(Field::Details).iter().find_map(|loc| match loc {
            Location::Body { path, .. } => match self.caps?.get(*path)? {
                Value::Details(list) => Some(list.as_slice()),
                _ => None,
            },
            _ => None,
        })
    }

    /// Whether the response holds this table's envelope: a message, code or type found in the
    /// body as text (a code may also be a number), or a code or type in a header.
    pub(crate) fn has_envelope(&self) -> bool {
        [Field::Message, Field::Code, Field::Type].iter().any(|&f| {
            self.table.locations(f).iter().any(|l| match self.at(*l) {
                Some(Value::Str(_)) => true,
                Some(Value::Int(_)) => f != Field::Message,
                _ => false,
            })
        })
    }

    /// Whether a rule that tests the body (more than the status) holds: a body without the
    /// envelope's fields can still say what went wrong (a Gemini `promptFeedback.blockReason`).
    pub(crate) fn matches_a_body_rule(&self, status: StatusCode, reads: &Reads<'x>) -> bool {
        if self.caps.is_none() {
            return false;
        }
        let facts = Facts::new(self, status, reads);
        self.table
            .rules
            .iter()
            .any(|r| r.when.tests.iter().any(|t| matches!(t.subject, Subject::Field(_))) && facts.satisfy(&r.when))
    }

    /// The status the rules see: the response's if it is an error status, else the body's,
    /// else 500 (an error reported without an error status is an upstream failure).
    pub(crate) fn effective_status(&self, status: StatusCode) -> u16 {
        effective_status(status, || self.value(Field::Status))
    }

    /// Seconds since the Unix epoch: the response's `Date`, else the clock.
    fn now(&self) -> f64 {
        retry_after::now(self.headers, self.clock)
    }
}

/// The status the rules see (see [`View::effective_status`]), given the body's.
fn effective_status<'v>(status: StatusCode, body: impl FnOnce() -> Option<Value<'v>>) -> u16 {
    let s = status.as_u16();
    if (400..=599).contains(&s) {
        return s;
    }
    body().and_then(|v| v.as_status()).filter(|s| (400..=599).contains(s)).unwrap_or(500)
}

/// The headers of `HEADER_NAMES` that `headers` has (a name ending in `*`: a header it begins),
/// and whether there is an event name, as bits of a [`Seen`].
fn heard(headers: &HeaderMap, event: bool) -> Seen {
    let mut seen = Seen::NONE;
    for name in headers.keys().map(http::HeaderName::as_str) {
        if let Some(i) = header_index(name) {
            seen.add(HEADER_BIT + i);
        }
        for &(prefix, i) in &HEADER_PREFIXES {
            if name.starts_with(prefix) {
                seen.add(HEADER_BIT + i);
            }
        }
    }
    if event {
        seen.add(EVENT_BIT);
    }
    seen
}

/// The longest delay of the `retry_after` field: of the values at its first location that has
/// any (a location such as `header:x-ratelimit-reset-*` may give several).
pub(crate) fn longest_delay(values: &[Value<'_>]) -> Option<f64> {
    values.iter().filter_map(Value::as_f64).filter(|n| *n >= 0.0).reduce(f64::max)
}

/// The first value of the header `name` (lowercase). Up to 32 headers, more than most responses
/// carry, are compared by name, which costs less than `HeaderMap::get`'s parse and hash of it.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h http::HeaderValue> {
    if headers.len() <= 32 {
        headers.iter().find(|(n, _)| n.as_str() == name).map(|(_, v)| v)
    } else {
        headers.get(name)
    }
}

/// A header's value as text: bytes beyond visible ASCII are kept, read as UTF-8 where they are;
/// an empty value is no value.
fn header_text<'x>(v: &http::HeaderValue) -> Option<Value<'x>> {
    let v = String::from_utf8_lossy(v.as_bytes());
    let v = v.trim();
    (!v.is_empty()).then(|| Value::Str(Cow::Owned(v.to_owned())))
}

/// Applies a table's transform; `None` when the value does not fit it.
fn transform<'x>(v: Value<'x>, t: Transform, view: &View<'_, '_>) -> Option<Value<'x>> {
    let text = |v: &Value<'x>| -> Option<Cow<'x, str>> {
        match v {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            _ => None,
        }
    };
    let secs = |n: f64| (n.is_finite() && n >= 0.0).then_some(Value::Float(n));
    match t {
        Transform::Before(sep) => {
            let s = text(&v)?;
            Some(Value::Str(match s {
                Cow::Borrowed(b) => Cow::Borrowed(b.split(sep).next().unwrap_or(b)),
                Cow::Owned(o) => Cow::Owned(o.split(sep).next().unwrap_or(&o).to_owned()),
            }))
        }
        Transform::After(sep) => {
            let s = text(&v)?;
            Some(Value::Str(match s {
                Cow::Borrowed(b) => Cow::Borrowed(b.rsplit(sep).next().unwrap_or(b)),
                Cow::Owned(o) => Cow::Owned(o.rsplit(sep).next().unwrap_or(&o).to_owned()),
            }))
        }
        Transform::Lower => Some(Value::Str(Cow::Owned(text(&v)?.to_ascii_lowercase()))),
        Transform::Containing(part) => text(&v)?.contains(part).then_some(v),
        Transform::If(name, want) => {
            let got = header(view.headers, name)?.to_str().ok()?.trim();
            (got == want).then_some(v)
        }
        Transform::Number => match v {
            Value::Int(_) | Value::Float(_) => Some(v),
            Value::Str(s) => {
                let n: f64 = s.trim().parse().ok()?;
                n.is_finite().then_some(if n.fract() == 0.0 && n.abs() < 1e15 {
                    Value::Int(n as i64)
                } else {
                    Value::Float(n)
                })
            }
            _ => None,
        },
        Transform::Millis => secs(v.as_f64()? / 1000.0),
        Transform::Duration => match &v {
            Value::Str(s) => secs(retry_after::parse_duration(s.trim())?),
            _ => secs(v.as_f64()?),
        },
        Transform::Delay => match &v {
            Value::Str(s) if s.trim().parse::<f64>().is_err() => {
                let at = retry_after::parse_http_date(s)?;
                secs((at as f64 - view.now()).max(0.0))
            }
            _ => secs(v.as_f64()?),
        },
        Transform::Reset => match &v {
            Value::Str(s) if s.trim().parse::<f64>().is_err() => secs(retry_after::parse_duration(s.trim())?),
            _ => secs(retry_after::reset(v.as_f64()?, view.now())?),
        },
        Transform::Rfc3339 => {
            let at = retry_after::parse_rfc3339(&text(&v)?)?;
            secs((at - view.now()).max(0.0))
        }
    }
}

/// The fields of one response as the tables read them, each list of locations read at most
/// once: tables that read a field from the same locations ([`StyleTable::reads`]) share its
/// values, so detection tries every style on one reading.
///
/// Every view a `Reads` serves must see the same response: the same captures, headers, event
/// name and clock; only the table differs.
pub(crate) struct Reads<'x> {
    /// For each list of locations, where its values are kept: 0 before it is read, else one
    /// more than their index in `kept`, or in `more` past `KEPT`.
    slots: [Cell<u8>; READS],
    /// Filled in order, `used` of them: only those are dropped (see `Drop`).
    kept: ManuallyDrop<[OnceCell<Few<Value<'x>>>; KEPT]>,
    more: OnceCell<Box<[OnceCell<Few<Value<'x>>>; READS]>>,
    used: Cell<u8>,
    /// The phrases of the last texts searched, by where the text lies: lists of locations
    /// that differ can still read the same string of the body.
    searched: RefCell<[(usize, usize, Found); 8]>,
    /// The locations of the response that may hold a value: body paths and anchors, the headers
    /// of `HEADER_NAMES` it has, and whether it has an event name.
    seen: OnceCell<Seen>,
}

/// How many lists of locations a `Reads` keeps inline: what reading a response through every
/// style needs (38 at most over `tests/corpus` and `tests/cases`); any more are kept on the heap.
const KEPT: usize = 48;

/// Drops the `kept` cells that were filled, the first `used`: the rest are empty.
impl Drop for Reads<'_> {
    fn drop(&mut self) {
        let used = usize::from(self.used.get());
        for cell in self.kept.iter_mut().take(used) {
            drop(cell.take());
        }
    }
}

impl<'x> Reads<'x> {
    pub(crate) fn new() -> Self {
        Reads {
            slots: [const { Cell::new(0) }; READS],
            kept: ManuallyDrop::new([const { OnceCell::new() }; KEPT]),
            more: OnceCell::new(),
            used: Cell::new(0),
            searched: RefCell::new([(0, 0, Found::default()); 8]),
            seen: OnceCell::new(),
        }
    }

    /// The values of list `n`, read with `read` the first time.
    ///
    /// A list is given the next of the `kept` cells the first time it is read, so the cells
    /// past `used` are never filled.
    fn values(&self, n: usize, read: impl FnOnce() -> Few<Value<'x>>) -> &[Value<'x>] {
        let slot = usize::from(self.slots[n].get());
        let cell = match slot {
            0 => {
                let used = self.used.get();
                if usize::from(used) < KEPT {
                    self.used.set(used + 1);
                    self.slots[n].set(used + 1);
                    &self.kept[usize::from(used)]
                } else {
                    &self.more.get_or_init(|| Box::new([const { OnceCell::new() }; READS]))[n]
                }
            }
            s => &self.kept[s - 1],
        };
        cell.get_or_init(read).as_slice()
    }

    /// The locations of `view`'s response that may hold a value (see [`Seen`]), found once.
    pub(crate) fn seen(&self, view: &View<'x, '_>) -> &Seen {
        self.seen.get_or_init(|| view.caps.map_or(Seen::NONE, Captures::seen).union(view.heard))
    }

    /// The phrases a value holds.
    fn phrases_in(&self, value: &Value<'_>) -> Found {
        let mut digits = [0; 21];
        let Some(text) = text(value, &mut digits) else { return Found::default() };
        // A string of the response is told by its address and length (a number's digits are
        // written on the stack, and searched each time); an empty one needs no search.
        let (Value::Str(_), Cow::Borrowed(t)) = (value, &text) else { return Found::in_text(&text) };
        let key = (t.as_ptr() as usize, t.len());
        if t.is_empty() {
            return Found::default();
        }
        let mut searched = self.searched.borrow_mut();
        if let Some(&(_, _, found)) = searched.iter().find(|(p, l, _)| (*p, *l) == key) {
            return found;
        }
        let found = Found::in_text(t);
        searched.rotate_right(1);
        searched[0] = (key.0, key.1, found);
        found
    }
}

/// A value as the tests see it: a string's first `CLASSIFY_BYTES`, a number or flag written out
/// (an integer into `digits`).
fn text<'t>(value: &'t Value<'_>, digits: &'t mut [u8; 21]) -> Option<Cow<'t, str>> {
    Some(match value {
        Value::Str(s) => Cow::Borrowed(cap(s, CLASSIFY_BYTES)),
        Value::Int(i) => Cow::Borrowed(decimal(i.unsigned_abs(), *i < 0, digits)),
        Value::Float(f) => Cow::Owned(f.to_string()),
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::Details(_) => return None,
    })
}

/// The facts the rules test, read through one view.
pub(crate) struct Facts<'v, 'x, 'a> {
    view: &'v View<'x, 'a>,
    status: StatusCode,
    effective: OnceCell<u16>,
    reads: &'v Reads<'x>,
}

impl<'v, 'x, 'a> Facts<'v, 'x, 'a> {
    /// The facts of `view`, its fields read into (or found in) `reads`.
    pub(crate) fn new(view: &'v View<'x, 'a>, status: StatusCode, reads: &'v Reads<'x>) -> Self {
        Facts { view, status, effective: OnceCell::new(), reads }
    }

    /// The value of `field` (the first, for a path over array elements), read once.
    pub(crate) fn get(&self, field: Field) -> Option<&Value<'x>> {
        self.all(field).first()
    }

    /// Every value of `field` at its first location that has one, read once.
    pub(crate) fn all(&self, field: Field) -> &[Value<'x>] {
        match self.view.table.reads[field as usize] {
            0 => &[],
            n => self.reads.values(usize::from(n), || self.view.values(field)),
        }
    }

    /// Whether a value of `field` holds one of the phrases `ids`: each string is searched once.
    fn contains(&self, field: Field, ids: &[u16]) -> bool {
        self.all(field).iter().any(|v| self.reads.phrases_in(v).any(ids))
    }

    /// Whether a test holds: for a path over array elements, for any element.
    fn holds(&self, test: &Test) -> bool {
        let field = match test.subject {
            Subject::Status => {
                // The body's status is read once for every table.
                let status =
                    *self.effective.get_or_init(|| effective_status(self.status, || self.get(Field::Status).cloned()));
                return matches!(test.op, Op::Status(p) if p.iter().any(|p| p.matches(status)));
            }
            Subject::Field(f) => f,
        };
        if let Op::Contains(_) = test.op {
            return self.contains(field, test.phrases);
        }
        let values = self.all(field);
        if let Op::Present(want) = test.op {
            return values.is_empty() != want;
        }
        values.iter().any(|v| Self::value_holds(v, test))
    }

    fn value_holds(value: &Value<'_>, test: &Test) -> bool {
        let op = test.op;
        if let Op::Status(p) = op {
            return value.as_status().is_some_and(|s| p.iter().any(|p| p.matches(s)));
        }
        // A string is capped at `CLASSIFY_BYTES`, which leaves its length's bit as it is.
        if let (Op::Equals(_), Value::Str(s)) = (op, value)
            && !test.may_equal(s.len())
        {
            return false;
        }
        let mut digits = [0; 21];
        let Some(text) = text(value, &mut digits) else { return false };
        match op {
            // A short list is scanned by length first, which rarely calls `memcmp`; a long one
            // is searched by halves.
            Op::Equals(v) if v.len() <= 16 => v.iter().any(|l| l.len() == text.len() && *l == &*text),
            Op::Equals(v) => v.binary_search(&&*text).is_ok(),
            Op::StartsWith(v) => v.iter().any(|p| text.starts_with(p)),
            Op::Status(_) | Op::Present(_) | Op::Contains(_) => false,
        }
    }

    /// The locations of the response that may hold a value (see [`Seen`]).
    fn seen(&self) -> &Seen {
        self.reads.seen(self.view)
    }

    /// Whether every test of `c` holds: none is run when the response lacks what they need.
    pub(crate) fn satisfy(&self, c: &Condition) -> bool {
        (c.need.is_empty() || self.seen().meets(c.need)) && self.tests_hold(c)
    }

    /// Whether every test of `c` holds, its need already known to be met.
    pub(crate) fn tests_hold(&self, c: &Condition) -> bool {
        c.tests.iter().all(|t| self.holds(t))
    }
}

/// The first rule of the view's table that holds.
pub(crate) fn first_match(facts: &Facts<'_, '_, '_>) -> Option<&'static Rule> {
    facts.view.table.rules.iter().find(|r| facts.satisfy(&r.when))
}

#[cfg(test)]
mod tests {
    use super::{Clock, Few, READS, Reads, StyleTable, Transform, Value, View, flag, transform};
    use http::HeaderMap;
    use std::borrow::Cow;

    #[test]
    fn transforms_read_text_numbers_and_delays() {
        let headers = HeaderMap::new();
        let view = View::bare(StyleTable::generic(), &headers, Clock::System);
        let t = |v: Value<'static>, tr: Transform| transform(v, tr, &view);
        let s = |s: &'static str| Value::Str(Cow::Borrowed(s));
        // A number is text to the text transforms.
        assert_eq!(t(Value::Int(42), Transform::Before("-")), Some(s("42")));
        assert_eq!(t(Value::Int(-5), Transform::After("-")), Some(s("5")));
        assert_eq!(t(s("ModelNotReadyException:http://x"), Transform::Before(":")), Some(s("ModelNotReadyException")));
        assert_eq!(t(s("Model-X"), Transform::Lower), Some(s("model-x")));
        assert_eq!(t(Value::Bool(true), Transform::Lower), None);
        // `|number`: numbers pass, numeric strings are read, whole ones as integers.
        assert_eq!(t(Value::Int(3), Transform::Number), Some(Value::Int(3)));
        assert_eq!(t(Value::Float(2.5), Transform::Number), Some(Value::Float(2.5)));
        assert_eq!(t(s(" 12 "), Transform::Number), Some(Value::Int(12)));
        assert_eq!(t(s("-7"), Transform::Number), Some(Value::Int(-7)));
        assert_eq!(t(s("2.5"), Transform::Number), Some(Value::Float(2.5)));
        assert_eq!(t(s("999999999999999"), Transform::Number), Some(Value::Int(999_999_999_999_999)));
        assert_eq!(t(s("1e15"), Transform::Number), Some(Value::Float(1e15)));
        for no in [s("inf"), s("NaN"), s("twelve"), Value::Bool(true)] {
            assert_eq!(t(no.clone(), Transform::Number), None, "{no:?}");
        }
        // A delay is a finite number of seconds that is not negative.
        assert_eq!(t(Value::Int(1500), Transform::Millis), Some(Value::Float(1.5)));
        assert_eq!(t(Value::Int(-1000), Transform::Millis), None);
        assert_eq!(t(s("17s"), Transform::Duration), Some(Value::Float(17.0)));
        assert_eq!(t(Value::Float(-3.0), Transform::Duration), None);
    }

    /// `Op::Equals` is looked up by binary search: every list the tables hold is sorted.
    #[test]
    fn every_equals_list_is_sorted_without_repeats() {
        use crate::table::{Condition, Op};
        let conditions = crate::table::all().chain([StyleTable::generic()]).flat_map(|t| {
            let rules = t.rules.iter().map(|r| &r.when);
            let signatures = t.detect.iter().flat_map(|d| d.signatures.iter().map(|s| &s.when));
            rules.chain(signatures).collect::<Vec<&Condition>>()
        });
        let mut lists = 0;
        for c in conditions {
            for t in c.tests {
                if let Op::Equals(v) = t.op {
                    assert!(v.windows(2).all(|w| w[0] < w[1]), "{v:?}");
                    lists += 1;
                }
            }
        }
        assert!(lists > 100, "{lists}");
    }

    /// Each list of locations is read once, whether kept inline or, past `KEPT`, on the heap.
    #[test]
    fn every_list_of_locations_is_read_once() {
        let reads = Reads::new();
        let n = |i: usize| Value::Int(i64::try_from(i).unwrap_or_default());
        for i in (0..READS).rev() {
            assert_eq!(reads.values(i, || Few::One(n(i))), [n(i)]);
        }
        for i in 0..READS {
            assert_eq!(reads.values(i, || Few::Zero), [n(i)], "{i} is read again");
        }
    }

    /// A condition's `need`, which the build step derives from its tests, only skips conditions
    /// that cannot hold: over every real response of `tests/cases` (its body and headers),
    /// through every table, each rule and signature holds with the need checked exactly when its
    /// tests alone hold.
    #[test]
    fn a_conditions_need_never_skips_one_that_holds() {
        use crate::body::Captures;
        use crate::limits::Limits;
        use http::StatusCode;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
        let mut files: Vec<_> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
        files.sort();
        let (mut bodies, mut held, mut skipped, mut with_headers) = (0, 0, 0, 0);
        let (mut signed, mut unsigned) = (0, 0);
        for file in files.iter().filter(|p| p.extension().is_some_and(|e| e == "jsonl")) {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let case: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
                let Some(body) = case["body"].as_str() else { continue };
                let Some(caps) = Captures::read(body.as_bytes(), &Limits::DEFAULT) else { continue };
                bodies += 1;
                let mut headers = HeaderMap::new();
                for (name, value) in case["headers"].as_object().into_iter().flatten() {
                    let name = http::HeaderName::from_bytes(name.as_bytes());
                    let value = http::HeaderValue::from_str(value.as_str().unwrap_or_default());
                    if let (Ok(name), Ok(value)) = (name, value) {
                        headers.append(name, value);
                    }
                }
                with_headers += usize::from(!headers.is_empty());
                let status = case["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(500);
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let reads = Reads::new();
                for table in crate::table::all().chain([StyleTable::generic()]) {
                    let view = View::new(table, Some(&caps), &headers, None, Clock::System);
                    let facts = super::Facts::new(&view, status, &reads);
                    let rules = table.rules.iter().map(|r| &r.when);
                    let signatures = table.detect.iter().flat_map(|d| d.signatures.iter().map(|s| &s.when));
                    for c in rules.chain(signatures) {
                        let tests = c.tests.iter().all(|t| facts.holds(t));
                        assert_eq!(facts.satisfy(c), tests, "{}: {body}", table.wire);
                        held += usize::from(tests);
                        skipped += usize::from(!facts.seen().meets(c.need));
                    }
                    // A signature holds only where its own need, with the paths it must find, is met.
                    for sig in table.detect.iter().flat_map(|d| d.signatures) {
                        let found = |loc: &crate::table::Location, number: bool| match loc {
                            crate::table::Location::Body { path, .. } => caps.get(*path).is_some_and(|v| {
                                !number || matches!(v, crate::body::Value::Int(_) | crate::body::Value::Float(_))
                            }),
                            _ => false,
                        };
                        let holds = sig.present.iter().all(|l| found(l, false))
                            && sig.numeric.iter().all(|l| found(l, true))
                            && facts.satisfy(&sig.when);
                        signed += usize::from(holds);
                        assert!(!holds || facts.seen().meets(sig.need), "{}: {} in {body}", table.wire, sig.source);
                        let any = table.detect.as_ref().and_then(|d| d.any.as_ref());
                        assert!(
                            !holds || any.is_none_or(|a| facts.seen().meets(std::slice::from_ref(a))),
                            "{}",
                            table.wire
                        );
                        unsigned += usize::from(!facts.seen().meets(sig.need));
                    }
                }
            }
        }
        assert!(
            bodies > 300 && with_headers > 20 && held > 300 && skipped > 10_000,
            "{bodies} bodies ({with_headers} with headers), {held} held, {skipped} skipped"
        );
        assert!(signed > 300 && unsigned > 10_000, "{signed} signatures held, {unsigned} passed over");
    }

    /// A header location's place is its name's among the names the tables read, where the
    /// response notes the headers it has.
    #[test]
    fn a_header_location_knows_its_place() {
        let mut checked = 0;
        for table in crate::table::all().chain([StyleTable::generic()]) {
            for field in <crate::code::Field as strum::IntoEnumIterator>::iter() {
                for loc in table.locations(field) {
                    if let crate::table::Location::Header { name, index, .. } = loc {
                        assert_eq!(crate::table::HEADER_NAMES[usize::from(*index)], *name);
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 30, "{checked} header locations");
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", http::HeaderValue::from_static("req_1"));
        let view = View::bare(StyleTable::generic(), &headers, Clock::System);
        let at = |name: &str| crate::table::HEADER_NAMES.iter().position(|n| *n == name).unwrap_or(usize::MAX);
        assert!(view.heard.has(crate::body::HEADER_BIT + at("x-request-id")));
        assert!(!view.heard.has(crate::body::HEADER_BIT + at("request-id")));
    }

    #[test]
    fn a_flag_is_a_boolean_or_its_word_in_any_case() {
        let s = |s: &'static str| Value::Str(Cow::Borrowed(s));
        assert_eq!(flag(&Value::Bool(true)), Some(true));
        assert_eq!(flag(&Value::Bool(false)), Some(false));
        assert_eq!(flag(&s(" TRUE ")), Some(true));
        assert_eq!(flag(&s("false")), Some(false));
        assert_eq!(flag(&s("False\t")), Some(false));
        for no in [s("maybe"), s("1"), s(""), s("truefalse"), Value::Int(1), Value::Float(0.0)] {
            assert_eq!(flag(&no), None, "{no:?}");
        }
    }
}
