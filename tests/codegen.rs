//! The build step's validation: the real tables load cleanly, and a copy broken in many ways at
//! once fails with every problem listed, each with its file and place.

#[allow(dead_code)]
#[path = "../build/codegen.rs"]
mod codegen;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

fn real_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("taxonomy")
}

/// A fresh copy of `taxonomy/` in the system temp dir, removed when dropped.
struct Copy {
    root: PathBuf,
}

impl Copy {
    fn new() -> Copy {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let root = std::env::temp_dir().join(format!(
            "llm-error-taxonomy-codegen-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        copy_dir(&real_root(), &root);
        Copy { root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn read(&self, rel: &str) -> Value {
        let text = std::fs::read_to_string(self.path(rel)).expect("a table");
        serde_json::from_str(&text).expect("valid JSON")
    }

    fn write(&self, rel: &str, v: &Value) {
        std::fs::write(self.path(rel), serde_json::to_string_pretty(v).expect("json")).expect("writable");
    }

    /// Edits one table in place.
    fn edit(&self, rel: &str, f: impl FnOnce(&mut Value)) {
        let mut v = self.read(rel);
        f(&mut v);
        self.write(rel, &v);
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("temp dir");
    for entry in std::fs::read_dir(from).expect("readable") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copied");
        }
    }
}

fn rules(v: &mut Value) -> &mut Vec<Value> {
    v["rules"].as_array_mut().expect("rules")
}

fn rule_index(v: &Value, name: &str) -> usize {
    v["rules"].as_array().expect("rules").iter().position(|r| r["name"] == name).expect("a rule of that name")
}

/// The place of a rule as the report gives it: `rule 7 ("400")`.
fn place(index: usize, name: &str) -> String {
    format!("rule {} ({name:?})", index + 1)
}

#[test]
fn the_real_taxonomy_loads_without_problems() {
    let t = codegen::load(&real_root()).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(t.codes.len(), 12);
    assert!(t.styles.len() >= 12);
    assert!(t.styles.iter().all(|s| !s.rules.is_empty() && s.detect.is_some()));
    assert!(t.generic.detect.is_none());
    assert!(!t.secrets.is_empty());
    // Loading is deterministic.
    assert_eq!(codegen::load(&real_root()).expect("loads"), t);
    // An untouched copy loads the same.
    let copy = Copy::new();
    assert_eq!(codegen::load(&copy.root).expect("a copy loads"), t);
}

#[test]
fn a_broken_copy_reports_every_problem_with_its_place() {
    let copy = Copy::new();
    // Each expected problem: the file, the place (when the problem has one) and words of the message.
    let mut expected: Vec<(String, Option<String>, String)> = Vec::new();
    let mb = "providers/modelbridge.json";
    let md = "providers/moltbotden.json";
    let mr = "providers/modelroute.json";
    let ms = "providers/modelswitch.json";
    let generic = "generic.json";
    let file = |rel: &str| format!("taxonomy/{rel}");

    // ModelBridge: an unknown code, a duplicate rule, statuses 399 and 600, a copied fallback.
    copy.edit(mb, |v| {
        let i = rule_index(v, "timeout");
        rules(v)[i]["then"]["code"] = json!("TIMED_OUT");
        expected.push((file(mb), Some(place(i, "timeout")), "unknown code \"TIMED_OUT\"".into()));

        rules(v).push(json!({"name": "400", "when": {"status": 400}, "then": {"code": "INPUT_VALIDATION_ERROR", "reason": "BAD_REQUEST"}, "source": "000_5d0589eb551f6b7f.txt:16"}));
        let first_400 = rules(v).len() - 1;
        expected.push((file(mb), Some(place(first_400, "400")), "copies the fallback \"400\" of generic".into()));
        rules(v).push(json!({"name": "400 again", "when": {"status": 400}, "then": {"code": "INPUT_VALIDATION_ERROR"}, "source": "000_5d0589eb551f6b7f.txt:16"}));
        let i = rules(v).len() - 1;
        expected.push((file(mb), Some(place(i, "400 again")), "duplicate of".into()));
        expected.push((file(mb), Some(place(i, "400 again")), place(first_400, "400")));

        rules(v).push(json!({"name": "informational", "when": {"status": 399}, "then": {"code": "INTERNAL_ERROR"}, "source": "000_5d0589eb551f6b7f.txt:14"}));
        let i = rules(v).len() - 1;
        expected.push((file(mb), Some(place(i, "informational")), "status 399 is outside 400-599".into()));

        rules(v).push(json!({"name": "beyond", "when": {"code": "timeout", "status": 600}, "then": {"code": "INTERNAL_ERROR"}, "source": "000_5d0589eb551f6b7f.txt:14"}));
        let i = rules(v).len() - 1;
        expected.push((file(mb), Some(place(i, "beyond")), "status 600 is outside 400-599".into()));
    });

    // MoltbotDen: a bad field path, a message phrase without a status, a shadowed rule.
    copy.edit(md, |v| {
        v["fields"]["provider"] = json!(["error..provider"]);
        expected.push((file(md), Some("field \"provider\"".to_owned()), "bad field path \"error..provider\"".into()));

        rules(v).push(json!({"name": "quota text", "when": {"message": {"contains": "quota"}}, "then": {"code": "INSUFFICIENT_BALANCE"}, "source": "003_35725501124242e8.txt:10"}));
        let i = rules(v).len() - 1;
        expected.push((file(md), Some(place(i, "quota text")), "a phrase must be paired with a status".into()));

        let credits = rule_index(v, "credits_exhausted");
        rules(v).push(json!({"name": "credits at 402", "when": {"status": 402, "code": "credits_exhausted"}, "then": {"code": "INTERNAL_ERROR"}, "source": "003_35725501124242e8.txt:3"}));
        let i = rules(v).len() - 1;
        expected.push((file(md), Some(place(i, "credits at 402")), "unreachable".into()));
        expected.push((file(md), Some(place(i, "credits at 402")), place(credits, "credits_exhausted")));

        // An uppercase phrase, paired with a status.
        rules(v).push(json!({"name": "shouting", "when": {"status": 402, "message": {"contains": "NO MONEY"}}, "then": {"code": "INSUFFICIENT_BALANCE"}, "source": "003_35725501124242e8.txt:10"}));
        let i = rules(v).len() - 1;
        expected.push((file(md), Some(place(i, "shouting")), "lowercase ASCII".into()));

        // A display name that cannot be the `Style` variant.
        v["name"] = json!("Moltbot Den");
        expected.push((file(md), None, "must be an upper camel case identifier".into()));

        // A stream path with a filter: the walk that reads an event follows keys and `*` only.
        v["stream"]["output"] = json!(["choices[index=0].delta.content"]);
        expected.push((file(md), Some("stream".to_owned()), "a stream path is keys and `*`".into()));
    });

    // FILE_NOT_FOUND only deprecated, in every table, so no rule can produce it.
    let providers: Vec<String> = std::fs::read_dir(copy.path("providers"))
        .expect("providers")
        .map(|e| format!("providers/{}", e.expect("an entry").file_name().to_string_lossy()))
        .filter(|f| f != ms)
        .collect();
    for rel in providers.iter().map(String::as_str).chain([generic]) {
        copy.edit(rel, |v| {
            for r in rules(v).iter_mut().filter(|r| r["then"]["code"] == "FILE_NOT_FOUND") {
                r["deprecated"] = json!("no longer relied on");
            }
        });
    }
    expected.push((
        "taxonomy/codes.json".to_owned(),
        Some("code \"FILE_NOT_FOUND\"".to_owned()),
        "no rule can produce".into(),
    ));
    let _ = mr;

    // Generic: a duplicate rule name, a match on a field it does not locate, no 5xx fallback.
    copy.edit(generic, |v| {
        let other_5xx = rule_index(v, "other 5xx");
        rules(v).remove(other_5xx);
        expected.push((file(generic), None, "no fallback by HTTP status".into()));

        let i = rule_index(v, "model_not_found");
        rules(v)[i]["name"] = json!("context_length_exceeded");
        expected.push((file(generic), Some(place(i, "context_length_exceeded")), "duplicate rule name".into()));

        rules(v).insert(0, json!({"name": "balance 0", "when": {"balance_usdc": 0}, "then": {"code": "INSUFFICIENT_BALANCE"}, "source": "https://docs.anthropic.com/en/api/errors"}));
        expected.push((file(generic), Some(place(0, "balance 0")), "locates no balance_usdc field".into()));
    });
    // Every rule index of generic.json moved by one: fix up the duplicate name's place.
    for e in expected.iter_mut().filter(|e| e.0 == file(generic) && e.2 == "duplicate rule name") {
        let v = copy.read(generic);
        let i = v["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .rposition(|r| r["name"] == "context_length_exceeded")
            .expect("rule");
        e.1 = Some(place(i, "context_length_exceeded"));
    }

    // Retry defaults: waits that shrink, and a fractional number of attempts.
    copy.edit("retry.json", |v| {
        v["factor"]["value"] = json!(0.5);
        v["max_attempts"]["value"] = json!(2.5);
    });
    expected.push((file("retry.json"), Some("\"factor\"".into()), "the factor must be at least 1".into()));
    expected.push((file("retry.json"), Some("\"max_attempts\"".into()), "is not a whole number".into()));

    // ModelSwitch: not JSON at all.
    let text = std::fs::read_to_string(copy.path(ms)).expect("a table");
    std::fs::write(copy.path(ms), &text[..text.len() / 2]).expect("writable");
    expected.push((file(ms), None, "invalid table".into()));

    let problems = match codegen::load(&copy.root) {
        Ok(_) => panic!("a broken taxonomy loaded"),
        Err(p) => p,
    };
    let report = problems.to_string();
    let lines: Vec<&str> = report.lines().skip(1).map(str::trim).collect();
    assert!(
        report.starts_with(&format!("the taxonomy tables have {} problem(s):", problems.0.len())),
        "a header counts the problems:\n{report}"
    );
    assert_eq!(lines.len(), problems.0.len(), "one line per problem:\n{report}");
    for line in &lines {
        assert!(line.starts_with("taxonomy/"), "every problem names its file: {line:?}");
    }
    let mut missing = Vec::new();
    for (file, place, words) in &expected {
        let found = lines.iter().any(|l| {
            let Some(rest) = l.strip_prefix(&format!("{file}: ")) else { return false };
            let rest = match place {
                Some(p) => match rest.strip_prefix(&format!("{p}: ")) {
                    Some(r) => r,
                    None => return false,
                },
                None => rest,
            };
            rest.contains(words)
        });
        if !found {
            missing.push(format!("{file}: {}{words}", place.as_ref().map_or(String::new(), |p| format!("{p}: "))));
        }
    }
    assert!(missing.is_empty(), "not reported:\n  {}\nreport:\n{report}", missing.join("\n  "));
    // Each file's problems are all there even though one table did not parse.
    for rel in [mb, md, generic] {
        assert!(lines.iter().any(|l| l.starts_with(&file(rel))), "{rel}");
    }
}

#[test]
fn a_broken_shared_file_is_reported_with_the_others() {
    let copy = Copy::new();
    std::fs::write(copy.path("codes.json"), "{ \"codes\": [ }").expect("writable");
    std::fs::write(copy.path("providers/modelswitch.json"), "not json").expect("writable");
    let report = match codegen::load(&copy.root) {
        Ok(_) => panic!("loaded"),
        Err(p) => p.to_string(),
    };
    assert!(report.contains("taxonomy/codes.json: invalid table"), "{report}");
    assert!(report.contains("taxonomy/providers/modelswitch.json: invalid table"), "{report}");
}

#[test]
fn codes_json_problems_are_reported_per_code() {
    let copy = Copy::new();
    copy.edit("codes.json", |v| {
        let codes = v["codes"].as_array_mut().expect("codes");
        codes[0]["status"] = json!(302);
        codes[1]["code"] = json!("Content-Moderation");
        codes.push(codes[2].clone());
    });
    let report = match codegen::load(&copy.root) {
        Ok(_) => panic!("loaded"),
        Err(p) => p.to_string(),
    };
    for want in [
        "taxonomy/codes.json: code 1 (\"INPUT_VALIDATION_ERROR\"): status 302 is outside 400-599",
        "taxonomy/codes.json: code 2 (\"Content-Moderation\"): code must be SCREAMING_SNAKE_CASE",
        "taxonomy/codes.json: code 13 (\"FILE_NOT_FOUND\"): duplicate code",
        "taxonomy/codes.json: expected the 12 codes, found 13",
    ] {
        assert!(report.contains(want), "missing {want:?} in:\n{report}");
    }
}

#[test]
fn a_new_provider_is_one_table_that_inherits() {
    let copy = Copy::new();
    let acme = json!({
        "style": "acme",
        "name": "Acme",
        "description": "An OpenAI-compatible host.",
        "seed": "https://example.com/docs/errors",
        "extends": "openai",
        "fields": { "vendor_code": ["error.metadata.vendor_code|number"] },
        "detect": { "signatures": [ { "when": { "vendor_code": { "present": true } }, "source": "https://example.com/docs/errors" } ] },
        "rules": [
            { "name": "out of credit", "when": { "vendor_code": 1113 }, "then": { "code": "INSUFFICIENT_BALANCE", "reason": "CREDITS_EXHAUSTED" }, "source": "https://example.com/docs/errors#1113" },
            { "name": "503", "when": { "status": 503 }, "then": { "code": "SERVICE_UNAVAILABLE", "reason": "SERVICE_OUTAGE" }, "source": "https://example.com/docs/errors#503" }
        ]
    });
    let mut acme = acme;
    std::fs::write(copy.path("providers/acme.json"), serde_json::to_string_pretty(&acme).unwrap()).unwrap();
    // Its signature can hold together with other styles' (a body may carry its vendor code and
    // another style's envelope): the build asks for its place in the detection order.
    let problems = codegen::load(&copy.root).expect_err("an unordered signature").to_string();
    assert!(problems.contains("say which style is tried first with `before`"), "{problems}");
    assert!(!problems.contains("\"openai\"'s signature"), "a style is tried before what it extends: {problems}");
    acme["detect"]["before"] = json!(["litellm"]);
    std::fs::write(copy.path("providers/acme.json"), serde_json::to_string_pretty(&acme).unwrap()).unwrap();
    let t = codegen::load(&copy.root).unwrap_or_else(|p| panic!("{p}"));
    let order: Vec<&str> = t.detect_order().expect("an order").iter().map(|s| s.style.as_str()).collect();
    assert_eq!(order.first(), Some(&"acme"), "{order:?}");
    let style = t.styles.iter().find(|s| s.style == "acme").expect("the new style");
    let eff = t.effective(style);
    let names: Vec<&str> = eff.rules.iter().map(|r| r.name.as_str()).collect();
    // Its own rule first, then OpenAI's and the generic reading's, then the fallbacks: its own
    // 503 before the generic table's.
    assert_eq!(names[0], "out of credit");
    assert!(names.contains(&"project without the model") && names.contains(&"insufficient_quota"), "{names:?}");
    let fallbacks: Vec<&codegen::RuleRow> = eff.rules.iter().filter(|r| r.when.is_status_only()).collect();
    let first_503 = fallbacks.iter().find(|r| r.when.status() == [codegen::StatusPattern::Exact(503)]).unwrap();
    assert_eq!(first_503.then.code, "SERVICE_UNAVAILABLE");
    assert_eq!(
        fallbacks.iter().filter(|r| r.name == "503").count(),
        1,
        "the generic 503 is overridden, not kept twice"
    );
    assert!(eff.fields.contains_key("message") && eff.fields.contains_key("vendor_code"), "fields are inherited");
    // And the Rust it compiles to names it, with no Rust written.
    let out = std::env::temp_dir().join(format!("acme-out-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    codegen::run(&copy.root, &out).expect("it compiles");
    let tables = std::fs::read_to_string(out.join("tables.rs")).unwrap();
    let _ = std::fs::remove_dir_all(&out);
    assert!(
        tables.contains("pub static ACME: StyleTable") && tables.contains("Field::VendorCode"),
        "the generated tables"
    );
}
