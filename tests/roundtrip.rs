//! Serialize <-> parse: every normalized error parses back equal, and an envelope that
//! contradicts its code does not parse.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::{Detail, ErrorCode, NormalizedError, Style, normalize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use strum::IntoEnumIterator;

/// Every fixture (see `tests/fixtures/README.md`), normalized.
fn normalized_fixtures() -> Vec<(PathBuf, NormalizedError)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures");
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(&root).expect("fixtures").map(|e| e.expect("entry").path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(&dir).expect("a folder").map(|e| e.expect("entry").path()).collect();
        files.sort();
        for path in files {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("JSON");
            let style = match v["style"].as_str().expect("style") {
                "generic" => None,
                s => Some(Style::from_str(s).expect("a style")),
            };
            let status = StatusCode::from_u16(v["status"].as_u64().expect("status") as u16).expect("a status");
            let mut headers = HeaderMap::new();
            for (k, val) in v["headers"].as_object().into_iter().flatten() {
                headers.append(
                    HeaderName::from_bytes(k.as_bytes()).expect("name"),
                    HeaderValue::from_str(val.as_str().expect("text")).expect("value"),
                );
            }
            let body = match v.get("body_text") {
                Some(t) => t.as_str().expect("text").as_bytes().to_vec(),
                None => serde_json::to_vec(&v["body"]).expect("json"),
            };
            out.push((path, normalize(style, status, &headers, &body)));
        }
    }
    assert!(out.len() >= 50, "found {} fixtures", out.len());
    out
}

fn parse(v: Value) -> Result<NormalizedError, serde_json::Error> {
    serde_json::from_value(v)
}

#[test]
fn every_fixture_round_trips() {
    for (path, err) in normalized_fixtures() {
        let text = serde_json::to_string(&err).expect("serializes");
        assert_eq!(err.to_json(), text, "{}", path.display());
        let back: NormalizedError =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
        assert_eq!(back, err, "{}", path.display());
        assert_eq!(serde_json::to_string(&back).expect("serializes"), text, "{}: byte-identical", path.display());
        let pretty = serde_json::to_string_pretty(&err).expect("serializes");
        assert_eq!(serde_json::from_str::<NormalizedError>(&pretty).expect("parses"), err, "{}", path.display());
        // The accessors see the same values.
        assert_eq!((back.code(), back.message(), back.reason()), (err.code(), err.message(), err.reason()));
        assert_eq!(
            (back.retry_after(), back.request_id(), back.style()),
            (err.retry_after(), err.request_id(), err.style())
        );
    }
}

#[test]
fn built_errors_round_trip() {
    for code in ErrorCode::iter() {
        let err = NormalizedError::new(code)
            .with_message("said upstream")
            .with_detail(Detail::new("REASON").with_field("messages").with_message("too long").with_figure("max", 8192))
            .with_retry_after(Duration::from_millis(1500))
            .with_request_id("req_1");
        let text = err.to_json();
        assert_eq!(serde_json::from_str::<NormalizedError>(&text).expect("parses"), err, "{text}");
        let bare = NormalizedError::new(code);
        assert_eq!(serde_json::from_str::<NormalizedError>(&bare.to_json()).expect("parses"), bare);
    }
}

#[test]
fn status_and_retryable_may_be_left_out_and_come_from_the_code() {
    for code in ErrorCode::iter() {
        let err = parse(json!({"error": {"code": code.as_str(), "message": "m"}})).expect("parses");
        assert_eq!((err.code(), err.status(), err.is_retryable()), (code, code.http_status(), code.is_retryable()));
        let v = serde_json::to_value(&err).expect("json");
        assert_eq!(v["error"]["status"], json!(code.status_u16()));
        assert_eq!(v["error"]["retryable"], json!(code.is_retryable()));
    }
}

#[test]
fn an_envelope_contradicting_its_code_does_not_parse() {
    for code in ErrorCode::iter() {
        let (status, retryable) = (code.status_u16(), code.is_retryable());
        let ok = json!({"error": {"code": code.as_str(), "message": "m", "status": status, "retryable": retryable}});
        assert!(parse(ok).is_ok(), "{code}");
        for other in [200u16, 400, 402, 429, 500, 503, 504].into_iter().filter(|s| *s != status) {
            let bad =
                json!({"error": {"code": code.as_str(), "message": "m", "status": other, "retryable": retryable}});
            let e = parse(bad).expect_err("a wrong status");
            assert!(e.to_string().contains("status"), "{code} {other}: {e}");
        }
        let bad = json!({"error": {"code": code.as_str(), "message": "m", "status": status, "retryable": !retryable}});
        let e = parse(bad).expect_err("a wrong retryable");
        assert!(e.to_string().contains("retryable"), "{code}: {e}");
        let bad = json!({"error": {"code": code.as_str(), "message": "m", "retryable": !retryable}});
        assert!(parse(bad).is_err(), "{code}: a wrong retryable alone");
    }
}

#[test]
fn a_retry_delay_on_a_code_that_is_not_retryable_is_not_kept() {
    // Policy line 9: retry_after is kept only for retryable codes. An envelope that carries one
    // on another code either does not parse or parses without it.
    for code in ErrorCode::iter().filter(|c| !c.is_retryable()) {
        let v = json!({"error": {"code": code.as_str(), "message": "m", "retry_after": 30}});
        if let Ok(err) = parse(v) {
            assert_eq!(err.retry_after(), None, "{code}");
            assert!(serde_json::to_value(&err).expect("json")["error"].get("retry_after").is_none(), "{code}");
        }
    }
    for code in ErrorCode::iter().filter(|c| c.is_retryable()) {
        let err = parse(json!({"error": {"code": code.as_str(), "message": "m", "retry_after": 30}})).expect("parses");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(30)), "{code}");
    }
}

#[test]
fn unknown_or_malformed_envelopes_do_not_parse() {
    let cases = [
        json!({"error": {"code": "TEAPOT", "message": "m"}}),
        json!({"error": {"code": "rate_limited", "message": "m"}}),
        json!({"error": {"code": "", "message": "m"}}),
        json!({"error": {"code": 429, "message": "m"}}),
        json!({"error": {"message": "m"}}),
        json!({"error": {"code": "RATE_LIMITED"}}),
        json!({"error": {"code": "RATE_LIMITED", "message": "m", "colour": "red"}}),
        json!({"error": {"code": "RATE_LIMITED", "message": "m", "upstream": {"style": "no-such-style"}}}),
        json!({"error": {"code": "RATE_LIMITED", "message": "m", "retry_after": -1}}),
        json!({"code": "RATE_LIMITED", "message": "m"}),
        json!({"error": "RATE_LIMITED"}),
        json!(null),
        json!([]),
    ];
    for v in cases {
        assert!(parse(v.clone()).is_err(), "parsed {v}");
    }
}
