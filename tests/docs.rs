//! The generated documentation: `docs/errors.md` is fresh, the JSON parses back into the tables,
//! the OpenAPI document's examples and the crate's real output validate against its schemas, and
//! a change to a table shows up in every format.
#![cfg(feature = "docs")]

#[allow(dead_code)]
#[path = "../build/codegen.rs"]
mod codegen;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::docs::{Format, render};
use llm_error_taxonomy::{Detail, ErrorCode, NormalizedError, Style, normalize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use strum::IntoEnumIterator;

/// The one command that refreshes `docs/errors.md`.
const REFRESH: &str = "cargo run --bin llm-errors -- docs --out docs/errors.md";

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(root: &Path) -> codegen::Taxonomy {
    codegen::load(root).unwrap_or_else(|problems| panic!("{problems}"))
}

/// The tables as the build loaded them, without the `$schema` pointers (not part of the tables).
fn taxonomy() -> codegen::Taxonomy {
    let mut t = load(&manifest().join("taxonomy"));
    for s in t.styles.iter_mut().chain(std::iter::once(&mut t.generic)) {
        s.schema = None;
    }
    t
}

fn readme(root: &Path) -> String {
    std::fs::read_to_string(root.join("README.md")).expect("taxonomy/README.md is readable")
}

fn rendered(root: &Path) -> Vec<(String, String)> {
    codegen::docs::render_all(&load(root), &readme(root)).unwrap_or_else(|e| panic!("{e}"))
}

fn openapi() -> Value {
    serde_json::from_str(render(Format::OpenApi)).expect("the OpenAPI document is JSON")
}

// ---------------------------------------------------------------------------------------------
// Markdown.
// ---------------------------------------------------------------------------------------------

#[test]
fn committed_errors_md_is_fresh() {
    let committed = std::fs::read_to_string(manifest().join("docs/errors.md")).unwrap_or_default();
    if committed != render(Format::Markdown) {
        panic!("docs/errors.md is stale or missing; regenerate it from the tables with:\n\n    {REFRESH}\n");
    }
}

#[test]
fn the_refresh_command_is_the_one_the_page_names() {
    assert_eq!(codegen::docs::REFRESH, REFRESH);
    assert!(render(Format::Markdown).contains(REFRESH));
}

#[test]
fn build_outputs_are_the_renderer_on_the_tables() {
    let root = manifest().join("taxonomy");
    let first = rendered(&root);
    assert_eq!(first, rendered(&root), "rendering is deterministic");
    let get = |name: &str| first.iter().find(|(n, _)| *n == name).map(|(_, t)| t.as_str()).unwrap();
    assert_eq!(get("errors.md"), render(Format::Markdown));
    assert_eq!(get("taxonomy.json"), render(Format::Json));
    assert_eq!(get("openapi.json"), render(Format::OpenApi));
    let crate_codes = std::fs::read_to_string(Path::new(env!("OUT_DIR")).join("crate_codes.md")).unwrap();
    assert_eq!(get("crate_codes.md"), crate_codes);
    for (name, text) in &first {
        assert!(text.ends_with('\n'), "{name} ends with a newline");
        for leak in [env!("CARGO_MANIFEST_DIR"), env!("OUT_DIR")] {
            assert!(!text.contains(leak), "{name} holds the path {leak}");
        }
    }
}

#[test]
fn markdown_has_every_code_style_rule_and_the_policy() {
    let t = taxonomy();
    let md = render(Format::Markdown);
    for c in &t.codes {
        let row = format!("| {} | {} | {} |", c.status, if c.retryable { "yes" } else { "no" }, c.description);
        assert!(md.contains(&row), "the code table lacks {}", c.code);
        let section = format!("### `{}`\n\n{}", c.code, codegen::docs::code_text(&t, c).trim_end());
        assert!(md.contains(&section), "the section of {} is not its rustdoc text", c.code);
        let example = format!("```json\n{}\n```", codegen::docs::example_json(&t, c));
        assert!(md.contains(&example), "the section of {} lacks its example", c.code);
    }
    for s in t.styles.iter().chain(std::iter::once(&t.generic)) {
        let start = md.find(&format!("\n### {}\n", s.name)).unwrap_or_else(|| panic!("no section for {}", s.name));
        let section = &md[start..];
        for (i, r) in s.rules.iter().enumerate() {
            let mut when = codegen::condition_text(&r.when).replace('|', "\\|");
            if r.deprecated.is_some() {
                when = format!("~~{when}~~");
            }
            let row = format!("| {} | {when}", i + 1);
            let line = section.lines().find(|l| l.starts_with(&row)).unwrap_or_else(|| {
                panic!("{}: rule {} ({:?}) has no row", s.style, i + 1, r.name);
            });
            assert!(line.contains(&format!("[`{}`]", r.then.code)), "{}: rule {:?}: {line}", s.style, r.name);
            if let Some(reason) = &r.then.reason {
                assert!(line.contains(&format!("`{reason}`")), "{}: rule {:?}: {line}", s.style, r.name);
            }
        }
    }
    let policy = codegen::docs::policy(&readme(&manifest().join("taxonomy"))).expect("the README has the policy");
    assert!(md.contains(&format!("## Classification policy\n\n{policy}\n")), "the policy is quoted verbatim");
    let retry = &md[md.find("## Retrying").unwrap()..md.find("## Each code").unwrap()];
    let retry_line = retry.lines().find(|l| l.starts_with("- Retry: ")).unwrap();
    for c in ErrorCode::iter() {
        assert_eq!(retry_line.contains(&format!("[`{c}`]")), c.is_retryable(), "{c} in the retry list");
    }
    assert!(retry.contains("`retry_after`"));
    // The backoff, attempts and ceiling come from taxonomy/retry.json.
    assert!(retry.contains("wait 1 second, then 2 seconds, then 4 seconds"), "{retry}");
    assert!(retry.contains("after 4 attempts") && retry.contains("over 60 seconds"), "{retry}");
}

#[test]
fn the_readme_code_table_is_the_code_table() {
    let readme = std::fs::read_to_string(manifest().join("README.md")).expect("README.md");
    let start = readme.find("## The 12 codes").expect("the README lists the codes");
    let section = &readme[start..];
    let section = &section[..section[2..].find("\n## ").map_or(section.len(), |n| n + 2)];
    let rows: Vec<String> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split('|').map(str::trim).filter(|c| !c.is_empty()).collect::<Vec<_>>().join(" "))
        .collect();
    let expected: Vec<String> = ErrorCode::iter()
        .map(|c| format!("`{c}` {} {}", c.status_u16(), if c.is_retryable() { "yes" } else { "no" }))
        .collect();
    assert_eq!(rows, expected, "README.md's table of the 12 codes differs from taxonomy/codes.json");
}

#[test]
fn rustdoc_shows_the_same_text_as_the_page() {
    let t = taxonomy();
    let rust = codegen::emit_codes(&t);
    for c in &t.codes {
        let doc: String = codegen::docs::code_text(&t, c)
            .lines()
            .map(|l| if l.is_empty() { "    ///\n".to_owned() } else { format!("    /// {l}\n") })
            .collect();
        assert!(rust.contains(&doc), "the rustdoc of {} differs from the page", c.code);
    }
    let crate_codes = codegen::docs::crate_codes(&t);
    let md = render(Format::Markdown);
    for c in &t.codes {
        let rest = format!("| {} | {} | {} |", c.status, if c.retryable { "yes" } else { "no" }, c.description);
        let rustdoc_row = format!("| [`{}`](crate::ErrorCode::{}) {rest}", c.code, codegen::camel(&c.code));
        let page_row = format!("| [`{}`](#{}) {rest}", c.code, c.code.to_ascii_lowercase());
        assert!(crate_codes.contains(&rustdoc_row), "crate docs row of {}", c.code);
        assert!(md.contains(&page_row), "page row of {}", c.code);
    }
}

// ---------------------------------------------------------------------------------------------
// JSON.
// ---------------------------------------------------------------------------------------------

#[test]
fn json_parses_back_into_the_tables() {
    let text = render(Format::Json);
    let parsed: codegen::Taxonomy = serde_json::from_str(text).expect("the JSON is the Taxonomy shape");
    assert_eq!(parsed, taxonomy());
    let value: Value = serde_json::from_str(text).unwrap();
    let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["codes", "compiled", "detect_order", "generic", "retry", "secrets", "styles", "transport"]);
    // The detection order is the runtime's.
    let order: Vec<&str> = value["detect_order"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let styles = taxonomy();
    let want: Vec<&str> = styles.detect_order().expect("an order").iter().map(|s| s.style.as_str()).collect();
    assert_eq!(order, want);
    // Each compiled style is the runtime's table: the same rules in the same order.
    for (json, compiled) in value["compiled"].as_array().unwrap().iter().zip(llm_error_taxonomy::table::all()) {
        assert_eq!(json["style"], compiled.wire);
        let names: Vec<&str> = json["rules"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        let want: Vec<&str> = compiled.rules.iter().map(|r| r.name).collect();
        assert_eq!(names, want, "{}", compiled.wire);
    }
    let codes: Vec<&str> = value["codes"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    let expected: Vec<&str> = ErrorCode::iter().map(ErrorCode::as_str).collect();
    assert_eq!(codes, expected);
}

// ---------------------------------------------------------------------------------------------
// OpenAPI, with a validator for the JSON Schema subset the document uses.
// ---------------------------------------------------------------------------------------------

/// Keywords the validator understands; any other keyword in a schema is an error, so no
/// constraint is ever skipped silently.
const KEYWORDS: &[&str] = &[
    "$ref",
    "type",
    "enum",
    "const",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "oneOf",
    "anyOf",
    "allOf",
    "minimum",
    "maximum",
    "description",
    "title",
    "examples",
];

struct Validator<'d> {
    doc: &'d Value,
}

impl Validator<'_> {
    fn resolve(&self, reference: &Value) -> Option<&Value> {
        let r = reference.as_str()?.strip_prefix("#/components/schemas/")?;
        self.doc.pointer(&format!("/components/schemas/{r}"))
    }

    fn errors(&self, schema: &Value, v: &Value) -> Vec<String> {
        let mut errs = Vec::new();
        self.check(schema, v, "$", &mut errs);
        errs
    }

    fn check(&self, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
        let s = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => return errs.push(format!("{at}: nothing is allowed here")),
            Value::Object(s) => s,
            other => return errs.push(format!("{at}: {other} is not a schema")),
        };
        for k in s.keys() {
            if !KEYWORDS.contains(&k.as_str()) {
                errs.push(format!("{at}: unsupported keyword {k:?}"));
            }
        }
        if let Some(r) = s.get("$ref") {
            match self.resolve(r) {
                Some(target) => self.check(target, v, at, errs),
                None => errs.push(format!("{at}: unresolved $ref {r}")),
            }
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !types.iter().any(|t| type_holds(t, v)) {
                errs.push(format!("{at}: {v} is not of type {t}"));
            }
        }
        if let Some(Value::Array(values)) = s.get("enum")
            && !values.contains(v)
        {
            errs.push(format!("{at}: {v} is not one of {}", Value::Array(values.clone())));
        }
        if let Some(c) = s.get("const")
            && c != v
        {
            errs.push(format!("{at}: {v} is not {c}"));
        }
        if let Some(n) = v.as_f64() {
            if s.get("minimum").and_then(Value::as_f64).is_some_and(|m| n < m) {
                errs.push(format!("{at}: {n} is below the minimum"));
            }
            if s.get("maximum").and_then(Value::as_f64).is_some_and(|m| n > m) {
                errs.push(format!("{at}: {n} is above the maximum"));
            }
        }
        if let Value::Object(o) = v {
            for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
                if !r.as_str().is_some_and(|r| o.contains_key(r)) {
                    errs.push(format!("{at}: missing required {r}"));
                }
            }
            let props = s.get("properties").and_then(Value::as_object);
            for (k, val) in o {
                let here = format!("{at}.{k}");
                match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                    (Some(p), _) => self.check(p, val, &here, errs),
                    (None, Some(extra)) => self.check(extra, val, &here, errs),
                    (None, None) => {}
                }
            }
        }
        if let (Value::Array(items), Some(item)) = (v, s.get("items")) {
            for (i, x) in items.iter().enumerate() {
                self.check(item, x, &format!("{at}[{i}]"), errs);
            }
        }
        let passing = |key: &str| -> Option<usize> {
            let subs = s.get(key)?.as_array()?;
            Some(subs.iter().filter(|sub| self.errors(sub, v).is_empty()).count())
        };
        if let Some(n) = passing("oneOf")
            && n != 1
        {
            errs.push(format!("{at}: {n} branches of oneOf hold, not exactly one"));
        }
        if passing("anyOf") == Some(0) {
            errs.push(format!("{at}: no branch of anyOf holds"));
        }
        for sub in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            self.check(sub, v, at, errs);
        }
    }
}

fn type_holds(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

/// Every `$ref` in the document, with where it is.
fn refs<'v>(v: &'v Value, at: String, out: &mut Vec<(String, &'v Value)>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if k == "$ref" {
                    out.push((at.clone(), x));
                } else {
                    refs(x, format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                refs(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn envelope_errors(doc: &Value, v: &Value) -> Vec<String> {
    Validator { doc }.errors(&json!({ "$ref": "#/components/schemas/ErrorEnvelope" }), v)
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    let doc = openapi();
    let good = json!({"error": {"code": "RATE_LIMITED", "message": "m", "retryable": true, "status": 429}});
    assert_eq!(envelope_errors(&doc, &good), Vec::<String>::new());
    let changes = [
        ("code", json!("UNKNOWN")),
        ("retryable", json!("yes")),
        ("status", json!(200)),
        ("extra", json!(1)),
        ("retry_after", json!(-1)),
        ("details", json!([{"field": 3}])),
        ("upstream", json!({"style": "nope"})),
        ("upstream", json!({"status": 42})),
    ];
    for (key, value) in changes {
        let mut bad = good.clone();
        bad["error"][key] = value;
        assert!(!envelope_errors(&doc, &bad).is_empty(), "accepted {bad}");
    }
    let mut missing = good.clone();
    missing["error"].as_object_mut().unwrap().remove("message");
    assert!(!envelope_errors(&doc, &missing).is_empty(), "accepted {missing}");
    assert!(!envelope_errors(&doc, &good["error"]).is_empty(), "accepted a body without the envelope");
    let v = Validator { doc: &doc };
    assert!(!v.errors(&json!({"oneOf": [{"type": "integer"}, {"type": "number"}]}), &json!(1)).is_empty());
    assert!(v.errors(&json!({"anyOf": [{"type": "integer"}, {"type": "string"}]}), &json!("x")).is_empty());
    assert!(!v.errors(&json!({"const": 2}), &json!(3)).is_empty());
    assert!(!v.errors(&json!({"pattern": "x"}), &json!("x")).is_empty(), "unknown keywords are errors");
}

#[test]
fn openapi_document_is_well_formed_and_complete() {
    let doc = openapi();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string());
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));

    let mut all = Vec::new();
    refs(&doc, String::new(), &mut all);
    assert!(!all.is_empty());
    let v = Validator { doc: &doc };
    for (at, r) in &all {
        assert!(v.resolve(r).is_some(), "{at}: unresolved $ref {r}");
    }

    let enum_codes: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let codes: Vec<&str> = ErrorCode::iter().map(ErrorCode::as_str).collect();
    assert_eq!(enum_codes, codes);

    let styles: Vec<Value> = Style::iter().map(|s| serde_json::to_value(s).unwrap()).collect();
    assert_eq!(doc["components"]["schemas"]["Upstream"]["properties"]["style"]["enum"], Value::Array(styles));

    let responses = doc["components"]["responses"].as_object().unwrap();
    let mut statuses: Vec<u16> = ErrorCode::iter().map(ErrorCode::status_u16).collect();
    statuses.sort_unstable();
    statuses.dedup();
    let names: Vec<String> = statuses.iter().map(|s| format!("Error{s}")).collect();
    assert_eq!(responses.keys().cloned().collect::<Vec<_>>(), names, "one response per status, and no other");
    for code in ErrorCode::iter() {
        let response = &responses[&format!("Error{}", code.status_u16())];
        assert!(response["description"].as_str().unwrap().contains(code.as_str()));
        assert!(response["content"]["application/json"]["examples"][code.as_str()].is_object(), "example of {code}");
    }
}

#[test]
fn openapi_examples_validate_against_their_schemas() {
    let doc = openapi();
    let v = Validator { doc: &doc };
    let mut checked = 0;
    for (name, response) in doc["components"]["responses"].as_object().unwrap() {
        let media = &response["content"]["application/json"];
        let schema = &media["schema"];
        for (code, example) in media["examples"].as_object().unwrap() {
            let value = &example["value"];
            let errs = v.errors(schema, value);
            assert!(errs.is_empty(), "{name} example {code}: {errs:?}");
            // The example is exactly what the crate writes for that code.
            let parsed: NormalizedError = serde_json::from_value(value.clone()).expect("the example parses");
            assert_eq!(parsed.code().as_str(), code);
            assert_eq!(format!("Error{}", parsed.status().as_u16()), *name);
            assert_eq!(&serde_json::to_value(&parsed).unwrap(), value, "{code} example round trip");
            checked += 1;
        }
    }
    assert_eq!(checked, ErrorCode::iter().count());

    // Schema-level examples validate against the schema they sit in.
    fn walk<'v>(v: &'v Value, out: &mut Vec<(&'v Value, &'v Value)>) {
        match v {
            Value::Object(o) => {
                if let (Some(Value::Array(examples)), true) = (o.get("examples"), o.contains_key("type")) {
                    out.extend(examples.iter().map(|e| (v, e)));
                }
                o.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut pairs = Vec::new();
    walk(&doc["components"]["schemas"], &mut pairs);
    assert!(!pairs.is_empty());
    for (schema, example) in pairs {
        assert_eq!(v.errors(schema, example), Vec::<String>::new(), "schema example {example}");
    }
}

fn header_map(headers: Option<&Value>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, val) in headers.and_then(Value::as_object).into_iter().flatten() {
        map.append(HeaderName::from_str(k).unwrap(), HeaderValue::from_str(val.as_str().unwrap()).unwrap());
    }
    map
}

/// Inputs beyond the shipped examples, one `{style?, status, headers?, body}` per line as in
/// `examples/errors.jsonl`; a string body is sent as is, any other JSON compact.
const CASES: &str = r#"
{"status": 400, "body": {"error": {"code": "context_length_exceeded", "status": 400, "message": "too long",
  "model_max_tokens": 128000, "request_tokens": 141234}}}
{"status": 500, "headers": {"x-request-id": "req_1"}, "body": {"error": {"code": "provider_error", "status": 500,
  "message": "failed", "provider": "anthropic", "upstream_status": 529}}}
{"status": 429, "headers": {"retry-after": "7", "x-should-retry": "false"}, "body": {"error": {"message": "slow down",
  "type": "rate_limit_error", "code": "rate_limit_exceeded"}}}
{"status": 422, "body": {"error": {"code": "INPUT_VALIDATION_ERROR", "message": "bad", "retryable": false,
  "details": [{"field": "input.width", "code": "OUT_OF_RANGE", "message": "too wide", "max": 2048}]}}}
{"status": 402, "body": {"error": {"code": "credits_exhausted", "message": "none", "status": 402,
  "balance_usdc": 0.12}}}
{"status": 200, "body": {"error": {"code": "provider_error", "message": "stream dropped", "status": 502}}}
{"status": 503, "headers": {"content-type": "text/html"}, "body": "<html><body>Service Unavailable</body></html>"}
{"status": 599, "body": ""}
{"status": 999, "body": "not json"}
{"status": 401, "body": {"error": {"message": "Incorrect API key sk-abcdefghijklmnop", "param": null,
  "type": "invalid_request_error", "code": "invalid_api_key"}}}
{"style": "modelroute", "status": 503, "body": {"error": {"code": "MODEL_OVERLOADED", "message": "busy",
  "retryable": true, "request_id": "req_3"}}}
"#;

/// Normalizes one `{style?, status, headers?, body}` case.
fn run_case(c: &Value) -> NormalizedError {
    let style = c["style"].as_str().filter(|s| *s != "generic").map(|s| Style::from_str(s).unwrap());
    let status = StatusCode::from_u16(c["status"].as_u64().unwrap() as u16).unwrap();
    let body = match &c["body"] {
        Value::Null => Vec::new(),
        Value::String(s) => s.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    };
    normalize(style, status, &header_map(c.get("headers")), &body)
}

/// Real outputs of `normalize` and of the builder, for many inputs.
fn real_outputs() -> Vec<(String, NormalizedError)> {
    let mut out = Vec::new();
    let cases = serde_json::Deserializer::from_str(CASES).into_iter::<Value>();
    for (i, c) in cases.enumerate() {
        out.push((format!("case {}", i + 1), run_case(&c.expect("a case is JSON"))));
    }
    for style in Style::iter() {
        for status in [400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504, 529] {
            let c = json!({"style": style, "status": status, "body": {"error": {"message": "failed", "code": "x",
                "status": status}}});
            out.push((format!("{style} {status}"), run_case(&c)));
        }
    }
    for code in ErrorCode::iter() {
        let built = NormalizedError::new(code)
            .with_message("built")
            .with_detail(Detail::new("REASON").with_field("model").with_message("m").with_figure("balance", 1.5))
            .with_retry_after(Duration::from_millis(2500))
            .with_request_id("req_2");
        out.push((format!("built {code}"), built));
    }
    let jsonl = std::fs::read_to_string(manifest().join("examples/errors.jsonl")).unwrap();
    for (n, line) in jsonl.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let c: Value = serde_json::from_str(line).unwrap();
        out.push((format!("examples/errors.jsonl:{}", n + 1), run_case(&c)));
    }
    out
}

fn fixtures() -> Vec<(PathBuf, Value)> {
    let mut files = Vec::new();
    for dir in std::fs::read_dir(manifest().join("tests/fixtures")).unwrap().flatten() {
        if dir.path().is_dir() {
            for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
                if f.path().extension().is_some_and(|e| e == "json") {
                    files.push(f.path());
                }
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p, v)
        })
        .collect()
}

#[test]
fn real_outputs_validate_against_the_envelope_schema() {
    let doc = openapi();
    let outputs = real_outputs();
    assert!(outputs.len() > 60);
    for (name, err) in &outputs {
        let value = serde_json::to_value(err).unwrap();
        let errs = envelope_errors(&doc, &value);
        assert!(errs.is_empty(), "{name}: {value}: {errs:?}");
    }
    let fixtures = fixtures();
    assert!(!fixtures.is_empty());
    for (path, f) in &fixtures {
        // A fixture's `body` is sent compact, its `body_text` as is.
        let mut case = f.clone();
        if let Some(text) = f.get("body_text") {
            case["body"] = text.clone();
        } else {
            case["body"] = json!(f["body"].to_string());
        }
        let value = serde_json::to_value(run_case(&case)).unwrap();
        let errs = envelope_errors(&doc, &value);
        assert!(errs.is_empty(), "{}: {value}: {errs:?}", path.display());
        let errs = envelope_errors(&doc, &f["expect"]);
        assert!(errs.is_empty(), "{} expect: {errs:?}", path.display());
    }
}

// ---------------------------------------------------------------------------------------------
// A table change reaches every format without touching Rust.
// ---------------------------------------------------------------------------------------------

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn edit(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[test]
fn a_table_change_shows_up_in_every_format() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("docs-change-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    copy_dir(&manifest().join("taxonomy"), &root);

    const DESCRIPTION: &str = "Marker description of the first code.";
    const UPSTREAM_CODE: &str = "marker_upstream_code";
    const SECRET: &str = "Marker secret format";
    edit(&root.join("codes.json"), |v| v["codes"][0]["description"] = json!(DESCRIPTION));
    edit(&root.join("secrets.json"), |v| {
        // One the published page lists too: its source is a public page.
        let public = v["secrets"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|s| s["source"].as_str().unwrap().starts_with("https://"));
        public.expect("a secret format with a public source")["name"] = json!(SECRET);
    });
    edit(&root.join("providers/openai.json"), |v| {
        let rule = v["rules"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|r| r["when"]["code"].is_string() && r.get("deprecated").is_none())
            .expect("a rule on the body's code");
        rule["when"]["code"] = json!(UPSTREAM_CODE);
    });

    let out = rendered(&root);
    let _ = std::fs::remove_dir_all(&root);
    // The publishable page comes in parts, one file per section.
    let page: String = out.iter().filter(|(n, _)| n.starts_with("page_")).map(|(_, t)| t.as_str()).collect();
    let page = ("the published page".to_owned(), page);
    let whole = out.iter().filter(|(n, _)| !n.starts_with("page")).chain([&page]);
    for (name, text) in whole {
        if name == "crate_codes.md" {
            assert!(text.contains(DESCRIPTION), "{name} lacks the new description");
            continue;
        }
        for marker in [DESCRIPTION, UPSTREAM_CODE, SECRET] {
            assert!(text.contains(marker), "{name} lacks {marker:?}");
        }
    }
}
