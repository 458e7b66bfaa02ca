//! Invariants over the compiled tables, and a cross-check of the compiled rules against a
//! deliberately plain interpretation of the JSON tables.

#[allow(dead_code)]
#[path = "../build/codegen.rs"]
mod codegen;

use http::{HeaderMap, StatusCode};
use llm_error_taxonomy::table::{self, StyleTable};
use llm_error_taxonomy::{ErrorCode, Style, normalize};
use serde_json::{Map, Value, json};
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
    assert_eq!(Style::COUNT, 4);
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
    assert!(serde_json::from_value::<Style>(json!("openai")).is_err());
}

#[test]
fn every_code_is_reachable_from_a_rule_and_by_normalizing() {
    for code in ErrorCode::iter() {
        let rule = table::all()
            .flat_map(|t| t.rules.iter().map(move |r| (t, r)))
            .find(|(_, r)| r.then.code == code && r.deprecated.is_none());
        let (t, rule) = rule.unwrap_or_else(|| panic!("no rule produces {code}"));
        // Build an input that the rule, and no earlier one, matches.
        let c = &rule.when;
        let status = c.status.first().map_or(500, |p| p.to_string().replace("xx", "99").parse().expect("a status"));
        let mut error = Map::new();
        if let Some(v) = c.code.first() {
            error.insert("code".into(), json!(v));
        }
        if let Some(v) = c.type_.first() {
            error.insert("type".into(), json!(v));
        }
        if let Some(v) = c.upstream_status.first() {
            error.insert("upstream_status".into(), json!(v.to_string().replace("xx", "00").parse::<u16>().expect("n")));
        }
        error.insert("message".into(), json!(c.message.first().copied().unwrap_or("upstream said so")));
        let body = serde_json::to_vec(&json!({ "error": error })).expect("json");
        let err = normalize(t.style, StatusCode::from_u16(status).expect("status"), &HeaderMap::new(), &body);
        assert_eq!(err.code(), code, "{} rule {:?}: {}", t.wire, rule.name, err.to_json());
    }
}

#[test]
fn every_table_covers_400_to_599_with_status_only_rules() {
    let tables: Vec<&StyleTable> = table::all().collect();
    assert_eq!(tables.len(), Style::COUNT + 1, "each style and the generic reading");
    assert!(tables.iter().any(|t| t.style.is_none() && t.wire == "generic"));
    for t in &tables {
        for status in 400..=599u16 {
            let fallback =
                t.rules.iter().find(|r| r.when.is_status_only() && r.when.status.iter().any(|p| p.matches(status)));
            assert!(fallback.is_some(), "{}: no status-only rule for {status}", t.wire);
        }
        for r in t.rules {
            for p in r.when.status.iter().chain(r.when.upstream_status) {
                let ok = match *p {
                    table::StatusPattern::Exact(s) => (400..=599).contains(&s),
                    table::StatusPattern::Class(c) => c == 4 || c == 5,
                };
                assert!(ok, "{}: rule {:?} has status {p}", t.wire, r.name);
            }
            assert!(r.when.message.is_empty() || !r.when.status.is_empty(), "{}: rule {:?}", t.wire, r.name);
            assert!(r.when.message.iter().all(|m| m.bytes().all(|b| !b.is_ascii_uppercase())), "{}", t.wire);
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
        assert_eq!(compiled.wire, json_style.style);
        assert_eq!(compiled.name, json_style.name);
        assert_eq!(compiled.seed, json_style.seed);
        assert_eq!(compiled.rules.len(), json_style.rules.len(), "{}", compiled.wire);
        for (j, c) in json_style.rules.iter().zip(compiled.rules) {
            assert_eq!(c.name, j.name);
            assert_eq!(c.then.code.as_str(), j.then.code, "{}: {}", compiled.wire, j.name);
            assert_eq!(c.then.reason, j.then.reason.as_deref(), "{}: {}", compiled.wire, j.name);
            assert_eq!(c.then.field, j.then.field.as_deref(), "{}: {}", compiled.wire, j.name);
            assert_eq!(c.source, j.source);
            assert_eq!(c.deprecated, j.deprecated.as_deref());
        }
        for (i, field) in llm_error_taxonomy::Field::iter().enumerate() {
            let want: Vec<String> = json_style.fields.get(field.as_str()).cloned().unwrap_or_default();
            let got: Vec<String> = compiled.locations(field).iter().map(|l| l.path()).collect();
            assert_eq!(got, want, "{}: field {} ({i})", compiled.wire, field.as_str());
        }
        assert_eq!(compiled.detect.as_ref().map(|d| d.priority), json_style.detect.as_ref().map(|d| d.priority));
    }
}

// ---------------------------------------------------------------------------------------------
// A plain interpreter of the JSON tables.
// ---------------------------------------------------------------------------------------------

/// The value at a dotted body path; `null` counts as absent.
fn at<'a>(body: Option<&'a Value>, path: &str) -> Option<&'a Value> {
    let mut node = body?;
    for seg in path.split('.') {
        node = node.as_object()?.get(seg)?;
    }
    (!node.is_null()).then_some(node)
}

/// The first value the style locates for `field` in the body (no headers in this set).
fn read<'a>(style: &codegen::StyleFile, field: &str, body: Option<&'a Value>) -> Option<&'a Value> {
    style.fields.get(field)?.iter().filter(|l| !l.starts_with("header:")).find_map(|p| at(body, p))
}

fn as_status(v: &Value) -> Option<u16> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (n.fract() == 0.0 && (100.0..=599.0).contains(&n)).then_some(n as u16)
}

struct Facts<'a> {
    status: u16,
    code: Option<&'a str>,
    type_: Option<&'a str>,
    upstream_status: Option<u16>,
    /// The message, lowercased once.
    message: Option<String>,
}

fn facts<'a>(style: &codegen::StyleFile, status: u16, body: Option<&'a Value>) -> Facts<'a> {
    let status = if (400..=599).contains(&status) {
        status
    } else {
        read(style, "status", body).and_then(as_status).filter(|s| (400..=599).contains(s)).unwrap_or(500)
    };
    Facts {
        status,
        code: read(style, "code", body).and_then(Value::as_str),
        type_: read(style, "type", body).and_then(Value::as_str),
        upstream_status: read(style, "upstream_status", body).and_then(as_status),
        message: read(style, "message", body).and_then(Value::as_str).map(str::to_ascii_lowercase),
    }
}

fn holds(c: &codegen::Condition, f: &Facts<'_>) -> bool {
    let any_status = |pats: &[codegen::StatusPattern], s: Option<u16>| {
        pats.is_empty() || s.is_some_and(|s| pats.iter().any(|p| p.matches(s)))
    };
    let any_of = |vals: &[String], v: Option<&str>| vals.is_empty() || v.is_some_and(|v| vals.iter().any(|x| x == v));
    let phrase = |phrases: &[String], m: Option<&str>| {
        phrases.is_empty() || m.is_some_and(|m| phrases.iter().any(|p| m.contains(p.as_str())))
    };
    any_status(&c.status, Some(f.status))
        && any_of(&c.code, f.code)
        && any_of(&c.type_, f.type_)
        && any_status(&c.upstream_status, f.upstream_status)
        && phrase(&c.message, f.message.as_deref())
}

/// The style `detect` should find: by ascending priority, the first with a signature that holds.
fn plain_detect<'t>(t: &'t codegen::Taxonomy, status: u16, body: Option<&Value>) -> Option<&'t codegen::StyleFile> {
    body?.as_object()?;
    let mut styles: Vec<&codegen::StyleFile> = t.styles.iter().filter(|s| s.detect.is_some()).collect();
    styles.sort_by_key(|s| s.detect.as_ref().map(|d| d.priority));
    styles.into_iter().find(|s| {
        let f = facts(s, status, body);
        s.detect.as_ref().is_some_and(|d| {
            d.signatures.iter().any(|sig| {
                sig.present.iter().all(|p| at(body, p).is_some())
                    && sig.numeric.iter().all(|p| at(body, p).is_some_and(Value::is_number))
                    && holds(&sig.when, &f)
            })
        })
    })
}

/// The code and reason the JSON tables give for a response.
fn plain_classify(
    t: &codegen::Taxonomy,
    style: Option<&str>,
    status: u16,
    body: Option<&Value>,
) -> (String, Option<String>) {
    let chosen = match style {
        Some(name) => t.styles.iter().find(|s| s.style == name),
        None => plain_detect(t, status, body),
    };
    let table = chosen.unwrap_or(&t.generic);
    let usable = ["message", "code", "type"].iter().any(|f| read(table, f, body).is_some());
    let (table, body) = if usable { (table, body) } else { (&t.generic, None) };
    let f = facts(table, status, body);
    match table.rules.iter().find(|r| holds(&r.when, &f)) {
        Some(r) => (r.then.code.clone(), r.then.reason.clone()),
        None => ("INTERNAL_ERROR".to_owned(), None),
    }
}

#[test]
fn compiled_rules_agree_with_a_plain_reading_of_the_json_tables() {
    let t = taxonomy();
    let all_styles: Vec<&codegen::StyleFile> = t.styles.iter().chain(std::iter::once(&t.generic)).collect();

    // Every value the tables mention.
    let mut codes = BTreeSet::new();
    let mut types = BTreeSet::new();
    let mut upstream = BTreeSet::new();
    let mut phrases = BTreeSet::new();
    let mut statuses: BTreeSet<u16> = [418, 599].into();
    for s in &all_styles {
        let conditions =
            s.rules.iter().map(|r| &r.when).chain(s.detect.iter().flat_map(|d| d.signatures.iter().map(|g| &g.when)));
        for c in conditions {
            codes.extend(c.code.iter().cloned());
            types.extend(c.type_.iter().cloned());
            phrases.extend(c.message.iter().cloned());
            for p in &c.upstream_status {
                let n = match p {
                    codegen::StatusPattern::Exact(n) => *n,
                    codegen::StatusPattern::Class(c) => c * 100,
                };
                upstream.insert(n);
            }
            for p in &c.status {
                if let codegen::StatusPattern::Exact(n) = p {
                    statuses.insert(*n);
                }
            }
        }
    }
    upstream.insert(503);
    codes.insert("unlisted_code".to_owned());
    types.insert("unlisted_type".to_owned());
    assert!(
        codes.len() >= 20 && types.len() >= 10 && phrases.len() >= 20,
        "the tables mention values: {} codes, {} types, {} phrases",
        codes.len(),
        types.len(),
        phrases.len()
    );

    // Bodies: each value alone, code x phrase, code x type, code x upstream status; plus none.
    let message = |p: &str| format!("Upstream says: {}!", p.to_ascii_uppercase());
    let mut single: Vec<Value> = vec![json!({}), json!({"message": "nothing to see"})];
    single.extend(codes.iter().map(|c| json!({"code": c})));
    single.extend(types.iter().map(|ty| json!({"type": ty})));
    single.extend(phrases.iter().map(|p| json!({"message": message(p)})));
    single.extend(upstream.iter().map(|u| json!({"upstream_status": u})));

    let mut pairs: Vec<Value> = Vec::new();
    for c in &codes {
        pairs.extend(phrases.iter().map(|p| json!({"code": c, "message": message(p)})));
        pairs.extend(types.iter().map(|ty| json!({"code": c, "type": ty})));
        pairs.extend(upstream.iter().map(|u| json!({"code": c, "upstream_status": u, "status": 500})));
        pairs.extend([json!({"code": c, "status": 429}), json!({"code": c, "status": "429"})]);
    }
    for ty in &types {
        pairs.extend(phrases.iter().map(|p| json!({"type": ty, "message": message(p)})));
    }
    let wrap = |error: &Value| {
        let mut b = json!({ "error": error });
        if error.get("code").and_then(Value::as_str).is_some_and(|c| ErrorCode::from_str(c).is_ok()) {
            b["error"]["retryable"] = json!(false);
        }
        b
    };

    // Every case: (status, body), with no body meaning an empty one.
    let mut cases: Vec<(u16, Option<Value>)> = Vec::new();
    for status in 400..=599u16 {
        cases.push((status, None));
        cases.extend(single.iter().map(|e| (status, Some(wrap(e)))));
    }
    for &status in &statuses {
        cases.extend(pairs.iter().map(|e| (status, Some(wrap(e)))));
    }
    // Non-error statuses read the repeated status (where a style locates one).
    for status in [200, 302] {
        for repeated in [json!(429), json!(503), json!("502"), json!(200)] {
            for code in ["unlisted_code", "invalid_api_key"] {
                cases.push((status, Some(json!({"error": {"code": code, "message": "x", "status": repeated}}))));
            }
        }
    }

    let readings: Vec<Option<Style>> = std::iter::once(None).chain(Style::iter().map(Some)).collect();
    let check = |chunk: &[(u16, Option<Value>)]| {
        let (mut checked, mut failures) = (0usize, Vec::new());
        for (status, body) in chunk {
            let bytes = body.as_ref().map(|b| serde_json::to_vec(b).expect("json")).unwrap_or_default();
            let st = StatusCode::from_u16(*status).expect("status");
            for style in &readings {
                let err = normalize(*style, st, &HeaderMap::new(), &bytes);
                let got = (err.code().as_str().to_owned(), err.reason().map(str::to_owned));
                let want = plain_classify(&t, style.map(Style::as_str), *status, body.as_ref());
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
        let handles: Vec<_> =
            cases.chunks(cases.len().div_ceil(threads)).map(|chunk| scope.spawn(move || check(chunk))).collect();
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
    assert!(checked > 100_000, "checked {checked} inputs");
}
