//! Invariants over the compiled tables, and a cross-check of the compiled rules against a
//! deliberately plain interpretation of the JSON tables.

#[allow(dead_code)]
#[path = "../build/codegen.rs"]
mod codegen;

use http::{HeaderMap, StatusCode};
use llm_error_taxonomy::table::{self, StyleTable};
use llm_error_taxonomy::{ErrorCode, Style, normalize};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;
use strum::{EnumCount, IntoEnumIterator};

fn taxonomy() -> codegen::Taxonomy {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("taxonomy");
    codegen::load(&root).unwrap_or_else(|problems| panic!("{problems}"))
}

// ---------------------------------------------------------------------------------------------
// Invariants.
// ---------------------------------------------------------------------------------------------

#[test]
fn there_are_twelve_codes_as_in_codes_json() {
    assert_eq!(ErrorCode::COUNT, 12);
    assert_eq!(ErrorCode::iter().count(), 12);
    let t = taxonomy();
    let from_json: Vec<&str> = t.codes.iter().map(|c| c.code.as_str()).collect();
    let compiled: Vec<&str> = ErrorCode::iter().map(ErrorCode::as_str).collect();
    assert_eq!(compiled, from_json, "the enum follows codes.json, in order");
    for row in &t.codes {
        let code = ErrorCode::from_str(&row.code).expect("a compiled code");
        assert_eq!(code.status_u16(), row.status, "{code}");
        assert_eq!(code.is_retryable(), row.retryable, "{code}");
        assert_eq!(code.description(), row.description, "{code}");
        assert_eq!(code.action(), row.action, "{code}");
        assert_eq!(code.default_message(), row.message, "{code}");
        assert_eq!(code.source(), row.source, "{code}");
    }
}

#[test]
fn codes_are_documented_with_a_valid_status() {
    let mut messages = BTreeSet::new();
    for code in ErrorCode::iter() {
        assert!((400..=599).contains(&code.status_u16()), "{code}");
        assert_eq!(code.http_status().as_u16(), code.status_u16(), "{code}: http_status matches status_u16");
        assert!(code.http_status().is_client_error() || code.http_status().is_server_error(), "{code}");
        for (what, text) in [("description", code.description()), ("action", code.action())] {
            assert!(!text.trim().is_empty(), "{code}: empty {what}");
            assert!(text.ends_with('.'), "{code}: the {what} is a sentence: {text:?}");
        }
        assert!(!code.default_message().trim().is_empty(), "{code}");
        assert!(messages.insert(code.default_message()), "{code}: default messages are distinct");
    }
}

#[test]
fn error_code_wire_names_round_trip_through_strum_and_serde() {
    for code in ErrorCode::iter() {
        let wire = code.as_str();
        assert!(wire.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{wire}");
        assert_eq!(code.to_string(), wire);
        assert_eq!(<&'static str>::from(code), wire);
        assert_eq!(ErrorCode::from_str(wire), Ok(code));
        assert_eq!(serde_json::to_value(code).expect("json"), json!(wire));
        assert_eq!(serde_json::from_value::<ErrorCode>(json!(wire)).expect("parses"), code);
        assert!(ErrorCode::from_str(&wire.to_ascii_lowercase()).is_err(), "{wire}: the wire form is exact");
        assert!(serde_json::from_value::<ErrorCode>(json!(wire.to_ascii_lowercase())).is_err(), "{wire}");
    }
    assert!(ErrorCode::from_str("UNKNOWN").is_err());
    assert!(serde_json::from_value::<ErrorCode>(json!("UNKNOWN")).is_err());
}

#[test]
fn style_wire_names_round_trip_through_strum_and_serde() {
    let t = taxonomy();
    let wires: Vec<&str> = Style::iter().map(Style::as_str).collect();
    let from_json: Vec<&str> = t.styles.iter().map(|s| s.style.as_str()).collect();
    assert_eq!(wires, from_json, "one style per providers/*.json, in wire-name order");
    for style in Style::iter() {
        let wire = style.as_str();
        assert_eq!(style.to_string(), wire);
        assert_eq!(<&'static str>::from(style), wire);
        assert_eq!(Style::from_str(wire), Ok(style));
        assert_eq!(Style::from_str(&wire.to_ascii_uppercase()), Ok(style), "style names ignore ASCII case");
        assert_eq!(serde_json::to_value(style).expect("json"), json!(wire));
        assert_eq!(serde_json::from_value::<Style>(json!(wire)).expect("parses"), style);
        assert_eq!(style.table().style, Some(style));
        assert_eq!(style.table().wire, wire);
        let row = t.styles.iter().find(|s| s.style == wire).expect("a table");
        assert_eq!(format!("{style:?}"), row.name, "the variant is the table's name");
    }
    assert!(Style::from_str("generic").is_err(), "the generic reading is not a style");
    assert!(serde_json::from_value::<Style>(json!("no-such-style")).is_err());
}

#[test]
fn every_code_is_reachable_from_a_rule_and_by_normalizing() {
    let t = taxonomy();
    let eff_all = Effective::new(&t);
    for code in ErrorCode::iter() {
        // A rule a body can be built for, written at the style's plain paths.
        let found =
            table::all().zip(t.styles.iter().chain(std::iter::once(&t.generic))).find_map(|(compiled, json)| {
                let eff = t.effective(json);
                eff.rules.iter().filter(|r| r.then.code == code.as_str() && r.deprecated.is_none()).find_map(|r| {
                    let (status, body) = build_case(&eff, &r.when)?;
                    let want = plain_classify(&eff_all, compiled.style.map(Style::as_str), status, body.as_ref());
                    (want.0 == code.as_str()).then(|| (compiled, r.name.clone(), status, body))
                })
            });
        let (compiled, name, status, body) = found.unwrap_or_else(|| panic!("no buildable rule produces {code}"));
        let bytes = body.map(|b| serde_json::to_vec(&b).expect("json")).unwrap_or_default();
        let err = normalize(compiled.style, StatusCode::from_u16(status).expect("status"), &HeaderMap::new(), &bytes);
        assert_eq!(err.code(), code, "{} rule {name:?}: {}", compiled.wire, err.to_json());
    }
}

/// A status and body that satisfy `c` through the table's plain body paths, if it can be built.
fn build_case(style: &codegen::StyleFile, c: &codegen::Condition) -> Option<(u16, Option<Value>)> {
    let status = c.status().first().map_or(500, |p| p.to_string().replace("xx", "99").parse().expect("a status"));
    let mut body = json!({});
    let mut any = false;
    for (field, test) in &c.0 {
        if field == "status" {
            continue;
        }
        let value = match test {
            codegen::Test::Equals(v) | codegen::Test::StartsWith(v) => json!(v[0]),
            codegen::Test::Contains(v) => json!(format!("Upstream says: {}!", v[0].to_ascii_uppercase())),
            codegen::Test::Status(p) => json!(p[0].to_string().replace("xx", "00").parse::<u16>().ok()?),
            codegen::Test::Present(true) => json!("present"),
            codegen::Test::Present(false) => continue,
        };
        put(&mut body, plain_path(style, field)?, value);
        any = true;
    }
    if !["message", "code", "type"].iter().any(|f| c.0.contains_key(*f)) {
        put(&mut body, plain_path(style, "message")?, json!("upstream said so"));
    }
    Some((status, (any || !c.0.is_empty()).then_some(body)))
}

/// The first location of `field` when it is a plain body path.
fn plain_path<'s>(style: &'s codegen::StyleFile, field: &str) -> Option<&'s str> {
    let first = style.fields.get(field)?.first()?;
    codegen::parse_location(first).ok()?.is_plain_path().then_some(first.as_str())
}

fn put(body: &mut Value, path: &str, value: Value) {
    let segs: Vec<&str> = path.split('.').collect();
    let mut node = body;
    for seg in &segs[..segs.len() - 1] {
        if !node.get(*seg).is_some_and(Value::is_object) {
            node[*seg] = json!({});
        }
        node = &mut node[*seg];
    }
    node[segs[segs.len() - 1]] = value;
}

#[test]
fn every_table_covers_400_to_599_with_status_only_rules() {
    let tables: Vec<&StyleTable> = table::all().collect();
    assert_eq!(tables.len(), Style::COUNT + 1, "each style and the generic reading");
    assert!(tables.iter().any(|t| t.style.is_none() && t.wire == "generic"));
    for t in &tables {
        for status in 400..=599u16 {
            let fallback =
                t.rules.iter().find(|r| r.when.is_status_only() && r.when.status().iter().any(|p| p.matches(status)));
            assert!(fallback.is_some(), "{}: no status-only rule for {status}", t.wire);
        }
        for r in t.rules {
            for test in r.when.tests {
                if let table::Op::Status(pats) = test.op {
                    for p in pats {
                        let ok = match *p {
                            table::StatusPattern::Exact(s) => (400..=599).contains(&s),
                            table::StatusPattern::Class(c) => c == 4 || c == 5,
                        };
                        assert!(ok, "{}: rule {:?} has status {p}", t.wire, r.name);
                    }
                }
            }
            for (_, phrases) in r.when.phrases() {
                assert!(phrases.iter().all(|m| m.bytes().all(|b| !b.is_ascii_uppercase())), "{}", t.wire);
            }
            assert!(!r.source.is_empty(), "{}: rule {:?} cites a source", t.wire, r.name);
        }
        let names: BTreeSet<&str> = t.rules.iter().map(|r| r.name).collect();
        assert_eq!(names.len(), t.rules.len(), "{}: rule names are unique", t.wire);
    }
}

#[test]
fn compiled_tables_match_the_json() {
    let t = taxonomy();
    for (json_style, compiled) in t
        .styles
        .iter()
        .chain(std::iter::once(&t.generic))
        .zip(Style::iter().map(Style::table).chain(std::iter::once(StyleTable::generic())))
    {
        let eff = t.effective(json_style);
        assert_eq!(compiled.wire, json_style.style);
        assert_eq!(compiled.name, json_style.name);
        assert_eq!(compiled.seed, json_style.seed);
        assert_eq!(compiled.extends, json_style.extends.as_deref());
        assert_eq!(compiled.rules.len(), eff.rules.len(), "{}", compiled.wire);
        for (j, c) in eff.rules.iter().zip(compiled.rules) {
            assert_eq!(c.name, j.name);
            assert_eq!(c.then.code.as_str(), j.then.code, "{}: {}", compiled.wire, j.name);
            assert_eq!(c.then.reason, j.then.reason.as_deref(), "{}: {}", compiled.wire, j.name);
            assert_eq!(c.then.field, j.then.field.as_deref(), "{}: {}", compiled.wire, j.name);
            assert_eq!(c.source, j.source);
            assert_eq!(c.deprecated, j.deprecated.as_deref());
            assert_eq!(c.when.tests.len(), j.when.0.len(), "{}: {}", compiled.wire, j.name);
        }
        for (i, field) in llm_error_taxonomy::Field::iter().enumerate() {
            let want: Vec<String> = eff.fields.get(field.as_str()).cloned().unwrap_or_default();
            let got: Vec<String> = compiled.locations(field).iter().map(|l| l.path()).collect();
            assert_eq!(got, want, "{}: field {} ({i})", compiled.wire, field.as_str());
        }
        let before =
            |d: &llm_error_taxonomy::table::Detect| d.before.iter().map(|s| s.as_str().to_owned()).collect::<Vec<_>>();
        assert_eq!(compiled.detect.as_ref().map(before), json_style.detect.as_ref().map(|d| d.before.clone()));
    }
}

// ---------------------------------------------------------------------------------------------
// A plain interpreter of the JSON tables, on `serde_json::Value` and the build step's own
// condition model.
// ---------------------------------------------------------------------------------------------

/// Every scalar at a parsed body path, in document order; `null` counts as absent.
fn walk(v: &Value, segs: &[codegen::Seg], json_depth: usize) -> Vec<Value> {
    let Some((seg, rest)) = segs.split_first() else {
        return if v.is_null() || v.is_array() || v.is_object() { Vec::new() } else { vec![v.clone()] };
    };
    match (seg, v) {
        (codegen::Seg::Key(k), Value::Object(m)) => m.get(k).map(|e| walk(e, rest, json_depth)).unwrap_or_default(),
        (codegen::Seg::Any, Value::Array(a)) => a.iter().flat_map(|e| walk(e, rest, json_depth)).collect(),
        (codegen::Seg::Any, Value::Object(m)) => m.values().flat_map(|e| walk(e, rest, json_depth)).collect(),
        (codegen::Seg::Where(k, want), Value::Array(a)) => a
            .iter()
            .filter(|e| e.get(k).and_then(Value::as_str) == Some(want.as_str()))
            .flat_map(|e| walk(e, rest, json_depth))
            .collect(),
        (codegen::Seg::Json, Value::String(s)) if json_depth < 4 => match serde_json::from_str(s) {
            Ok(inner) => walk(&inner, rest, json_depth + 1),
            Err(_) => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Every value at the first location where the style finds `field` in the body (no headers
/// in this set).
fn read(style: &codegen::StyleFile, field: &str, body: Option<&Value>) -> Vec<Value> {
    let Some(locs) = style.fields.get(field) else { return Vec::new() };
    locs.iter()
        .map(|loc| {
            let Ok(codegen::Loc::Body(segs, transforms)) = codegen::parse_location(loc) else { return Vec::new() };
            let Some(body) = body else { return Vec::new() };
            walk(body, &segs, 0)
                .into_iter()
                .filter_map(|mut v| {
                    for t in &transforms {
                        v = match (t, &v) {
                            (codegen::Transform::Before(sep), Value::String(s)) => {
                                json!(s.split(sep.as_str()).next().unwrap_or(s))
                            }
                            (codegen::Transform::After(sep), Value::String(s)) => {
                                json!(s.rsplit(sep.as_str()).next().unwrap_or(s))
                            }
                            (codegen::Transform::Lower, Value::String(s)) => json!(s.to_ascii_lowercase()),
                            (codegen::Transform::Containing(part), Value::String(s)) if s.contains(part.as_str()) => {
                                v.clone()
                            }
                            (codegen::Transform::Number, Value::String(s)) => json!(s.trim().parse::<f64>().ok()?),
                            (codegen::Transform::Number, Value::Number(_)) => v.clone(),
                            _ => return None,
                        };
                    }
                    Some(v)
                })
                .collect()
        })
        .find(|v: &Vec<Value>| !v.is_empty())
        .unwrap_or_default()
}

fn as_status(v: &Value) -> Option<u16> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (n.fract() == 0.0 && (100.0..=599.0).contains(&n)).then_some(n as u16)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => {
            Some(n.as_i64().map_or_else(|| n.as_f64().map_or(String::new(), |f| f.to_string()), |i| i.to_string()))
        }
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether `phrase` stands in `text` on word boundaries, ignoring ASCII case: written plainly,
/// with a lowercase copy and `match_indices`.
fn plain_phrase(text: &str, phrase: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let starts_word = word(phrase.chars().next());
    let ends_word = word(phrase.chars().last());
    lower.match_indices(phrase).any(|(i, m)| {
        (!starts_word || !word(lower[..i].chars().last())) && (!ends_word || !word(lower[i + m.len()..].chars().next()))
    })
}

fn holds(style: &codegen::StyleFile, c: &codegen::Condition, status: u16, body: Option<&Value>) -> bool {
    c.0.iter().all(|(field, test)| {
        if field == "status" {
            return matches!(test, codegen::Test::Status(p) if p.iter().any(|p| p.matches(status)));
        }
        let vs = read(style, field, body);
        if let codegen::Test::Present(want) = test {
            return vs.is_empty() != *want;
        }
        // Over array elements, a test holds when it holds for any of them.
        vs.iter().any(|v| match test {
            codegen::Test::Present(_) => true,
            codegen::Test::Status(p) => as_status(v).is_some_and(|s| p.iter().any(|p| p.matches(s))),
            codegen::Test::Equals(vals) => text(v).is_some_and(|t| vals.contains(&t)),
            codegen::Test::StartsWith(vals) => text(v).is_some_and(|t| vals.iter().any(|p| t.starts_with(p.as_str()))),
            codegen::Test::Contains(vals) => {
                // Only the first bytes of a long text are classified.
                text(v).is_some_and(|t| vals.iter().any(|p| plain_phrase(&t, p)))
            }
        })
    })
}

fn effective_status(style: &codegen::StyleFile, status: u16, body: Option<&Value>) -> u16 {
    if (400..=599).contains(&status) {
        status
    } else {
        read(style, "status", body).first().and_then(as_status).filter(|s| (400..=599).contains(s)).unwrap_or(500)
    }
}

/// Every table as the crate compiles it (with what it inherits), by wire name, in the order
/// `detect` tries them; the generic one last.
struct Effective(Vec<codegen::StyleFile>);

impl Effective {
    fn new(t: &codegen::Taxonomy) -> Self {
        let styles: Vec<&codegen::StyleFile> = t.detect_order().expect("the detect orders do not loop");
        Effective(styles.into_iter().chain(std::iter::once(&t.generic)).map(|s| t.effective(s)).collect())
    }

    fn get(&self, wire: &str) -> &codegen::StyleFile {
        self.0.iter().find(|s| s.style == wire).expect("a table")
    }
}

/// The style `detect` should find: in the declared order, the first with a signature that holds.
fn plain_detect<'t>(t: &'t Effective, status: u16, body: Option<&Value>) -> Option<&'t codegen::StyleFile> {
    body?.as_object()?;
    t.0.iter().filter(|s| s.detect.is_some()).find(|eff| {
        let s = *eff;
        let status = effective_status(eff, status, body);
        let at = |p: &str| body.and_then(|b| walk(b, &codegen::split_plain(p), 0).into_iter().next());
        s.detect.as_ref().is_some_and(|d| {
            d.signatures.iter().any(|sig| {
                sig.present.iter().all(|p| at(p).is_some())
                    && sig.numeric.iter().all(|p| at(p).is_some_and(|v| v.is_number()))
                    && holds(eff, &sig.when, status, body)
            })
        })
    })
}

/// The code and reason the JSON tables give for a response.
fn plain_classify(t: &Effective, style: Option<&str>, status: u16, body: Option<&Value>) -> (String, Option<String>) {
    let chosen = match style {
        Some(name) => Some(t.get(name)),
        None => plain_detect(t, status, body),
    };
    let table = chosen.unwrap_or_else(|| t.get("generic"));
    let usable = ["message", "code", "type"].iter().any(|f| match read(table, f, body).first() {
        Some(Value::String(_)) => true,
        Some(Value::Number(n)) => *f != "message" && n.is_i64(),
        _ => false,
    });
    // A body rule that holds makes the body usable too (a block reason with no message).
    let status_seen = effective_status(table, status, body);
    let usable = usable
        || table
            .rules
            .iter()
            .any(|r| r.when.0.keys().any(|k| k != "status") && holds(table, &r.when, status_seen, body));
    // With no usable body, the table's fallbacks by status decide.
    let body = if usable { body } else { None };
    let status = effective_status(table, status, body);
    match table.rules.iter().find(|r| holds(table, &r.when, status, body)) {
        Some(r) => (r.then.code.clone(), r.then.reason.clone()),
        None => ("INTERNAL_ERROR".to_owned(), None),
    }
}

/// A generated input: a status, a body (none: empty) and the style whose conditions it was
/// written from.
type Case<'t> = (u16, Option<Value>, Option<&'t str>);

#[test]
fn compiled_rules_agree_with_a_plain_reading_of_the_json_tables() {
    let t = taxonomy();
    let all_styles: Vec<&codegen::StyleFile> = t.styles.iter().chain(std::iter::once(&t.generic)).collect();

    // Per style: every value its conditions mention, written at its own plain paths, alone and
    // in pairs; plus bodies with nothing usable.
    let mut statuses: BTreeSet<u16> = [418, 599].into();
    // Each body with the style whose conditions it was written from (`None` for the generic one).
    let mut bodies: Vec<(Value, Option<&str>)> =
        vec![(json!({}), None), (json!({"error": {"message": "nothing to see"}}), None)];
    let mut pairs: Vec<(Value, Option<&str>)> = Vec::new();
    for s in &all_styles {
        let eff = t.effective(s);
        let conditions =
            eff.rules.iter().map(|r| &r.when).chain(s.detect.iter().flat_map(|d| d.signatures.iter().map(|g| &g.when)));
        let mut values: Vec<(&str, Value)> = Vec::new();
        for c in conditions {
            for (field, test) in &c.0 {
                if field == "status" {
                    for p in c.status() {
                        if let codegen::StatusPattern::Exact(n) = p {
                            statuses.insert(*n);
                        }
                    }
                    continue;
                }
                let Some(path) = plain_path(&eff, field) else { continue };
                let vs: Vec<Value> = match test {
                    codegen::Test::Equals(v) | codegen::Test::StartsWith(v) => v.iter().map(|x| json!(x)).collect(),
                    codegen::Test::Contains(v) => {
                        v.iter().map(|p| json!(format!("Upstream says: {}!", p.to_ascii_uppercase()))).collect()
                    }
                    codegen::Test::Status(p) => p
                        .iter()
                        .filter_map(|p| p.to_string().replace("xx", "00").parse::<u16>().ok())
                        .map(|n| json!(n))
                        .collect(),
                    codegen::Test::Present(_) => vec![json!("present")],
                };
                for v in vs {
                    if !values.iter().any(|(p, x)| *p == path && *x == v) {
                        values.push((path, v));
                    }
                }
            }
        }
        values.push(("error.code", json!("unlisted_code")));
        let origin = (s.style != "generic").then_some(s.style.as_str());
        for (i, (p, v)) in values.iter().enumerate() {
            let mut b = json!({});
            put(&mut b, p, v.clone());
            bodies.push((b.clone(), origin));
            // Pairs with a later value of another path.
            for (q, w) in values.iter().skip(i + 1).filter(|(q, _)| q != p).take(8) {
                let mut pair = b.clone();
                put(&mut pair, q, w.clone());
                pairs.push((pair, origin));
            }
        }
    }
    for list in [&mut bodies, &mut pairs] {
        list.sort_by_key(|(b, _)| b.to_string());
        list.dedup_by(|a, b| a.0 == b.0);
    }
    assert!(
        bodies.len() > 300 && pairs.len() > 1000,
        "the tables mention values: {} bodies, {} pairs",
        bodies.len(),
        pairs.len()
    );

    // Every case: (status, body), with no body meaning an empty one.
    // Each case with the style it was written from: it is read with no style (detected), with
    // that style and with one more, chosen by the case's place (so every style reads many bodies
    // of the others' while the cost stays linear in the tables).
    let mut cases: Vec<Case<'_>> = Vec::new();
    for status in 400..=599u16 {
        cases.push((status, None, None));
    }
    // Each body at eight of the statuses the tables name, a different eight for each body.
    let statuses: Vec<u16> = statuses.into_iter().collect();
    for (i, (b, o)) in bodies.iter().enumerate() {
        for k in 0..8.min(statuses.len()) {
            cases.push((statuses[(i + k * 7) % statuses.len()], Some(b.clone()), *o));
        }
    }
    // Each pair at three of six statuses, in turn.
    let pair_statuses = [400, 403, 404, 429, 500, 503];
    for (i, (b, o)) in pairs.iter().enumerate() {
        for k in 0..3 {
            cases.push((pair_statuses[(i + k * 2) % pair_statuses.len()], Some(b.clone()), *o));
        }
    }
    // Non-error statuses read the repeated status (where a style locates one).
    for status in [200, 302] {
        for repeated in [json!(429), json!(503), json!("502"), json!(200)] {
            for code in ["unlisted_code", "invalid_api_key"] {
                cases.push((status, Some(json!({"error": {"code": code, "message": "x", "status": repeated}})), None));
            }
        }
    }

    let readings: Vec<Option<Style>> = std::iter::once(None).chain(Style::iter().map(Some)).collect();
    let eff = Effective::new(&t);
    let check = |(offset, chunk): (usize, &[Case<'_>])| {
        let (mut checked, mut failures) = (0usize, Vec::new());
        for (i, (status, body, origin)) in chunk.iter().enumerate() {
            let bytes = body.as_ref().map(|b| serde_json::to_vec(b).expect("json")).unwrap_or_default();
            let st = StatusCode::from_u16(*status).expect("status");
            let own: Option<Style> = origin.and_then(|o| Style::iter().find(|s| s.as_str() == o));
            let other = readings[(offset + i) % readings.len()];
            let mut these = vec![None, own, other];
            if body.is_none() {
                these = readings.clone();
            }
            these.dedup();
            for style in &these {
                let err = normalize(*style, st, &HeaderMap::new(), &bytes);
                let got = (err.code().as_str().to_owned(), err.reason().map(str::to_owned));
                let want = plain_classify(&eff, style.map(Style::as_str), *status, body.as_ref());
                checked += 1;
                if got != want {
                    failures.push(format!(
                        "{} {status} {}: tables say {want:?}, normalize gave {got:?}",
                        style.map_or("generic", Style::as_str),
                        String::from_utf8_lossy(&bytes)
                    ));
                }
            }
        }
        (checked, failures)
    };
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get()).min(8);
    let (checked, failures) = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(threads))
            .enumerate()
            .map(|(n, chunk)| (n * cases.len().div_ceil(threads), chunk))
            .map(|job| scope.spawn(move || check(job)))
            .collect();
        handles.into_iter().map(|h| h.join().expect("a checker thread")).fold(
            (0, Vec::new()),
            |(n, mut all), (c, f)| {
                all.extend(f);
                (n + c, all)
            },
        )
    });
    assert!(
        failures.is_empty(),
        "{} disagreements, first ones:\n{}",
        failures.len(),
        failures.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    eprintln!("checked {checked} inputs");
    assert!(checked > 50_000, "checked {checked} inputs");
}
