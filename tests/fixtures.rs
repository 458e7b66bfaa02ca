//! Fixture tests: every example error body of the source documents, and a few extra cases,
//! normalized and compared with the expected envelope written beside it.
//!
//! The fixture format is described in `tests/fixtures/README.md`.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::{ErrorCode, Style, detect, normalize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use strum::IntoEnumIterator;

/// The fixture folders: `generic` for bodies read with no style, and one per style that has
/// fixtures (every folder must be one of these).
fn folders() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root())
        .expect("tests/fixtures")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in &names {
        assert!(n == "generic" || Style::from_str(n).is_ok(), "tests/fixtures/{n} is no style");
    }
    names
}

const KEYS: [&str; 8] = ["source", "style", "status", "headers", "body", "body_text", "detect", "expect"];

struct Fixture {
    path: PathBuf,
    source: String,
    folder: String,
    style: Option<Style>,
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    detect: bool,
    expect: Value,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

fn load(path: &Path, folder: &str) -> Result<Fixture, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("a fixture is a JSON object")?;
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("unknown key {k:?}"));
    }
    let source = obj.get("source").and_then(Value::as_str).ok_or("missing \"source\"")?.to_owned();
    let style_name = obj.get("style").and_then(Value::as_str).ok_or("missing \"style\"")?;
    if style_name != folder {
        return Err(format!("style {style_name:?} is not the folder's {folder:?}"));
    }
    let style = match style_name {
        "generic" => None,
        s => Some(Style::from_str(s).map_err(|_| format!("unknown style {s:?}"))?),
    };
    let status = obj
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|n| u16::try_from(n).ok())
        .and_then(|n| StatusCode::from_u16(n).ok())
        .ok_or("missing or bad \"status\"")?;
    let mut headers = HeaderMap::new();
    if let Some(h) = obj.get("headers") {
        for (name, value) in h.as_object().ok_or("\"headers\" is an object")? {
            let value = value.as_str().ok_or("header values are strings")?;
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("bad header name {name:?}"))?,
                HeaderValue::from_str(value).map_err(|_| format!("bad header value {value:?}"))?,
            );
        }
    }
    let body = match (obj.get("body"), obj.get("body_text")) {
        (Some(b), None) => serde_json::to_vec(b).map_err(|e| e.to_string())?,
        (None, Some(Value::String(t))) => t.clone().into_bytes(),
        _ => return Err("give exactly one of \"body\" (JSON) and \"body_text\" (a string)".into()),
    };
    let detect = obj.get("detect").and_then(Value::as_bool).ok_or("missing \"detect\"")?;
    let expect = obj.get("expect").cloned().ok_or("missing \"expect\"")?;
    Ok(Fixture {
        path: path.to_owned(),
        source,
        folder: folder.to_owned(),
        style,
        status,
        headers,
        body,
        detect,
        expect,
    })
}

fn fixtures() -> Vec<Fixture> {
    let mut all = Vec::new();
    let mut problems = Vec::new();
    for folder in folders() {
        let dir = root().join(&folder);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .collect();
        paths.sort();
        for path in paths {
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                problems.push(format!("{}: not a .json fixture", path.display()));
                continue;
            }
            match load(&path, &folder) {
                Ok(f) => all.push(f),
                Err(e) => problems.push(format!("{}: {e}", path.display())),
            }
        }
    }
    assert!(problems.is_empty(), "bad fixtures:\n{}", problems.join("\n"));
    all
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn run(f: &Fixture, style: Option<Style>) -> Value {
    let err = normalize(style, f.status, &f.headers, &f.body);
    serde_json::to_value(&err).expect("a normalized error serializes")
}

#[test]
fn every_fixture_normalizes_to_its_expected_envelope() {
    let mut failures = Vec::new();
    let all = fixtures();
    for f in &all {
        let got = run(f, f.style);
        if got != f.expect {
            failures.push(format!(
                "{}\n  expected: {}\n  got:      {}",
                f.path.display(),
                pretty(&f.expect),
                pretty(&got)
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} fixtures differ:\n\n{}", failures.len(), all.len(), failures.join("\n\n"));
}

#[test]
fn detection_agrees_with_each_fixture() {
    let mut failures = Vec::new();
    for f in &fixtures() {
        let detected = detect(f.status, &f.headers, &f.body);
        match f.style {
            None => {
                if f.detect || detected.is_some() {
                    failures.push(format!(
                        "{}: a generic fixture must not be detected (detect: {}), detect() gave {detected:?}",
                        f.path.display(),
                        f.detect
                    ));
                }
            }
            Some(style) => {
                if (detected == Some(style)) != f.detect {
                    failures.push(format!(
                        "{}: fixture says detect {}, detect() gave {detected:?}",
                        f.path.display(),
                        f.detect
                    ));
                }
                if f.detect {
                    let (with, without) = (run(f, Some(style)), run(f, None));
                    if with != without {
                        failures.push(format!(
                            "{}: normalize(None) differs from normalize(Some({style:?}))\n  with style: {}\n  without:    {}",
                            f.path.display(),
                            pretty(&with),
                            pretty(&without)
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn expected_status_and_retryable_are_the_codes_own() {
    for f in &fixtures() {
        let e = &f.expect["error"];
        let name = e["code"].as_str().unwrap_or_else(|| panic!("{}: expect.error.code", f.path.display()));
        let code = ErrorCode::from_str(name).unwrap_or_else(|_| panic!("{}: unknown code {name}", f.path.display()));
        assert_eq!(e["status"], Value::from(code.status_u16()), "{}: status of {name}", f.path.display());
        assert_eq!(e["retryable"], Value::from(code.is_retryable()), "{}: retryable of {name}", f.path.display());
        if !code.is_retryable() {
            assert!(
                e.get("retry_after").is_none(),
                "{}: retry_after on a code that is not retryable",
                f.path.display()
            );
        }
    }
}

#[test]
fn sources_cite_a_seed_line_or_an_url() {
    let seed_of =
        |folder: &str| llm_error_taxonomy::table::all().find(|t| t.wire == folder).map(|t| t.seed).unwrap_or_default();
    for f in &fixtures() {
        let s = &f.source;
        // A fixture of a style whose seed is a public page cites a URL too.
        if f.style.is_none() || seed_of(&f.folder).starts_with("https://") {
            assert!(
                s.starts_with("https://") || s.starts_with("taxonomy/README.md#"),
                "{}: a generic fixture cites a URL or a policy anchor, not {s:?}",
                f.path.display()
            );
            continue;
        }
        let (file, lines) = s.rsplit_once(':').unwrap_or_else(|| panic!("{}: source {s:?}", f.path.display()));
        assert_eq!(file, seed_of(&f.folder), "{}: cites the style's own seed", f.path.display());
        let nums: Vec<u32> = lines.split('-').map(|n| n.parse().expect("a line number")).collect();
        assert!(
            (nums.len() == 1 || (nums.len() == 2 && nums[0] < nums[1])) && nums[0] > 0,
            "{}: line or first-last, not {lines:?}",
            f.path.display()
        );
    }
}

#[test]
fn modelroute_fixtures_cover_every_code_and_each_style_has_fixtures() {
    let all = fixtures();
    for folder in folders() {
        // The seed gateways' folders hold every example of their documents; the providers' real
        // responses are in `tests/cases/`, read by `tests/corpus.rs`.
        let seed = ["modelbridge", "modelroute", "modelswitch", "moltbotden"].contains(&folder.as_str());
        let n = all.iter().filter(|f| f.folder == folder).count();
        assert!(n >= if seed { 5 } else { 2 }, "few fixtures in {folder}: {n}");
    }
    for code in ErrorCode::iter() {
        let seen = all.iter().any(|f| {
            f.style == Some(Style::ModelRoute)
                && f.detect
                && f.expect["error"]["code"] == code.as_str()
                && f.expect["error"]["upstream"]["code"] == code.as_str()
        });
        assert!(seen, "no ModelRoute fixture for {code}");
    }
}

#[test]
fn emitted_text_carries_no_secret_of_any_fixture() {
    for f in &fixtures() {
        let out = serde_json::to_string(&run(f, f.style)).expect("json");
        for secret in
            ["mb_live_9f8e", "ms-4f3c2b", "mbd_sk_agent_9f8e", "sk-proj-abc", "abc123def456", "sk-live-abc", "eyJhbGci"]
        {
            assert!(!out.contains(secret), "{}: emitted {secret:?}: {out}", f.path.display());
        }
    }
}
