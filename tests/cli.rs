//! The `llm-errors` command-line tool, run as a built binary.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::{ErrorCode, NormalizedError, Style, is_event_stream, normalize};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use strum::IntoEnumIterator;

const BIN: &str = env!("CARGO_BIN_EXE_llm-errors");

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs the tool with `args`, feeding `stdin` (or nothing).
fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("the binary runs");
    if let Some(input) = stdin {
        child.stdin.take().expect("stdin").write_all(input).expect("written");
    }
    child.wait_with_output().expect("the binary finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("UTF-8 errors")
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| (HeaderName::from_bytes(k.as_bytes()).expect("name"), HeaderValue::from_str(v).expect("value")))
        .collect()
}

/// What the library gives for the same input, as the tool prints it.
fn library(style: Option<Style>, status: u16, hs: &[(&str, &str)], body: &[u8]) -> String {
    normalize(style, StatusCode::from_u16(status).expect("status"), &headers(hs), body).to_json()
}

/// What the tool prints for one response: the failure `inspect` finds, or `null`.
fn inspected(style: Option<Style>, status: u16, hs: &[(&str, &str)], body: &[u8]) -> String {
    llm_error_taxonomy::Normalizer::new()
        .inspect(style, StatusCode::from_u16(status).expect("status"), &headers(hs), body)
        .map_or_else(|| "null".to_owned(), |e| e.to_json())
}

/// A file in the temp dir, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(contents: &[u8]) -> TempFile {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "llm-errors-cli-{}-{}.txt",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, contents).expect("temp file");
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

const OVERLOADED: &str = "examples/bodies/moltbotden-overloaded.json";
const SPENDING: &[u8] = br#"{"error": {"message": "Spending limit reached for this API key", "type": "rate_limit_error", "code": "spending_limit_exceeded"}}"#;
const SWITCH_BALANCE: &[u8] =
    br#"{"error": {"message": "Insufficient balance", "type": "invalid_request_error", "code": "forbidden"}}"#;
const ROUTE_RATE: &[u8] =
    br#"{"error": {"code": "RATE_LIMITED", "message": "Rate limit exceeded. Please retry shortly", "retryable": true}}"#;

#[test]
fn normalize_a_file() {
    let path = manifest(OVERLOADED);
    let out = run(&["normalize", "--status", "500", path.to_str().expect("path")], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let body = std::fs::read(&path).expect("example");
    assert_eq!(stdout(&out), library(None, 500, &[], &body) + "\n");
    let v: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["error"]["code"], "MODEL_OVERLOADED");
    assert_eq!(v["error"]["upstream"]["style"], "moltbotden");
}

#[test]
fn normalize_standard_input() {
    let body = std::fs::read(manifest(OVERLOADED)).expect("example");
    let want = library(None, 500, &[], &body) + "\n";
    for args in [&["normalize", "--status", "500", "-"][..], &["normalize", "--status", "500"][..]] {
        let out = run(args, Some(&body));
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), want, "{args:?}");
    }
    // An empty standard input is a response with no body.
    let out = run(&["normalize", "--status", "503", "-"], Some(b""));
    assert!(out.status.success());
    assert_eq!(stdout(&out), library(None, 503, &[], b"") + "\n");
}

#[test]
fn headers_are_passed_on() {
    let out = run(&["normalize", "--status", "429", "--header", "Retry-After: 12", "-"], Some(ROUTE_RATE));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), library(None, 429, &[("retry-after", "12")], ROUTE_RATE) + "\n");
    let v: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["error"]["retry_after"], 12);

    let out = run(
        &["normalize", "--status", "429", "-H", "retry-after-ms: 2500", "--header", "x-request-id:  req_42 ", "-"],
        Some(ROUTE_RATE),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let want = library(None, 429, &[("retry-after-ms", "2500"), ("x-request-id", "req_42")], ROUTE_RATE);
    assert_eq!(stdout(&out), want + "\n");
    let v: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!((v["error"]["retry_after"].clone(), v["error"]["request_id"].clone()), (3.into(), "req_42".into()));
}

#[test]
fn the_style_option_chooses_the_reading() {
    let detected = run(&["normalize", "--status", "403", "-"], Some(SWITCH_BALANCE));
    let styled = run(&["normalize", "--style", "modelswitch", "--status", "403", "-"], Some(SWITCH_BALANCE));
    assert!(detected.status.success() && styled.status.success());
    assert_eq!(stdout(&detected), library(None, 403, &[], SWITCH_BALANCE) + "\n");
    assert_eq!(stdout(&styled), library(Some(Style::ModelSwitch), 403, &[], SWITCH_BALANCE) + "\n");
    let v: Value = serde_json::from_str(&stdout(&styled)).expect("JSON");
    assert_eq!(v["error"]["code"], "INSUFFICIENT_BALANCE");
    assert_eq!(v["error"]["upstream"]["style"], "modelswitch");
    // Every style is accepted by its wire name.
    for style in Style::iter() {
        let out = run(&["normalize", "--style", style.as_str(), "--status", "429", "-"], Some(SPENDING));
        assert!(out.status.success(), "{style}: {}", stderr(&out));
        assert_eq!(stdout(&out), library(Some(style), 429, &[], SPENDING) + "\n", "{style}");
    }
}

#[test]
fn pretty_output_is_the_same_envelope() {
    let out = run(&["normalize", "--status", "429", "--style", "modelbridge", "--pretty", "-"], Some(SPENDING));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).lines().count() > 1, "pretty-printed");
    let got: NormalizedError = serde_json::from_str(&stdout(&out)).expect("an envelope");
    let want = normalize(Some(Style::ModelBridge), StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), SPENDING);
    assert_eq!(got, want);
}

/// The library's output for one `--jsonl` case (not an event stream).
fn library_case(line: &str) -> Option<String> {
    let case: Value = serde_json::from_str(line).expect("a case");
    let style = case.get("style").and_then(Value::as_str).map(|s| Style::from_str(s).expect("a style"));
    let status = case["status"].as_u64().expect("status") as u16;
    let hs: Vec<(String, String)> = case
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().expect("text").to_owned()))
        .collect();
    let hs: Vec<(&str, &str)> = hs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let body = match case.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    };
    if is_event_stream(&headers(&hs), &body) {
        return None;
    }
    Some(inspected(style, status, &hs, &body))
}

#[test]
fn jsonl_prints_one_line_per_case() {
    let path = manifest("examples/errors.jsonl");
    let input = std::fs::read_to_string(&path).expect("examples");
    let cases: Vec<&str> = input.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(cases.len() >= 5);
    let out = run(&["normalize", "--jsonl", path.to_str().expect("path")], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), cases.len(), "one output line per input line:\n{text}");
    for (case, got) in cases.iter().zip(&lines) {
        match library_case(case) {
            Some(want) => assert_eq!(*got, want, "{case}"),
            None => assert!(*got == "null" || serde_json::from_str::<NormalizedError>(got).is_ok(), "{got}"),
        }
    }
    // The same from standard input.
    let out = run(&["normalize", "--jsonl", "-"], Some(input.as_bytes()));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), text);
}

#[test]
fn a_bad_jsonl_line_is_reported_and_the_rest_still_run() {
    let good = r#"{"style": "modelbridge", "status": 429, "body": "{\"error\": {\"message\": \"Spending limit reached\", \"code\": \"spending_limit_exceeded\"}}"}"#;
    let other = r#"{"status": 502, "body": "<html>Bad Gateway</html>"}"#;
    let input = [good, "this is not JSON", other, "", r#"{"status": 429, "style": "nosuch"}"#, good].join("\n");
    let file = TempFile::new(input.as_bytes());
    let out = run(&["normalize", "--jsonl", file.path()], None);
    assert!(!out.status.success(), "a bad line fails the run");
    assert_eq!(out.status.code(), Some(1));
    let printed = stdout(&out);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines, [library_case(good), library_case(other), library_case(good)].map(Option::unwrap), "{printed}");
    let errors = stderr(&out);
    let line_2: Vec<&str> = errors.lines().filter(|l| l.contains("line 2:")).collect();
    let line_5: Vec<&str> = errors.lines().filter(|l| l.contains("line 5:")).collect();
    assert_eq!(line_2.len(), 1, "{errors}");
    assert_eq!(line_5.len(), 1, "{errors}");
    assert!(line_5[0].contains("nosuch"), "{errors}");
    assert!(!errors.contains("line 1:") && !errors.contains("line 3:") && !errors.contains("line 6:"), "{errors}");
}

#[test]
fn bad_arguments_give_one_line_naming_the_problem() {
    let body = manifest(OVERLOADED);
    let body = body.to_str().expect("path");
    let missing = std::env::temp_dir().join("llm-errors-cli-no-such-dir").join("body.json");
    let missing = missing.to_str().expect("path");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["normalize", "--style", "nosuch", "--status", "400", body], "nosuch"),
        (vec!["normalize", "--status", "abc", body], "abc"),
        (vec!["normalize", "--status", "99", body], "99"),
        (vec!["normalize", "--status", "1000", body], "1000"),
        (vec!["normalize", "--status"], "--status"),
        (vec!["normalize", body], "--status"),
        (vec!["normalize", "--status", "400", missing], missing),
        (vec!["normalize", "--status", "400", "--bogus", body], "--bogus"),
        (vec!["normalize", "--status", "400", "--header", "no colon", body], "no colon"),
        (vec!["normalize", "--status", "400", body, body], body),
        (vec!["normalize", "--jsonl", "--status", "400", body], "--jsonl"),
        (vec!["frobnicate"], "frobnicate"),
        (vec![], "command"),
        (vec!["codes", "--bogus"], "--bogus"),
    ];
    for (args, names) in cases {
        let out = run(&args, None);
        let errors = stderr(&out);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(errors.lines().count(), 1, "{args:?}: one line on standard error:\n{errors}");
        assert!(errors.contains(names), "{args:?}: the line names {names:?}: {errors}");
        assert!(errors.starts_with("llm-errors: "), "{args:?}: {errors}");
        assert_eq!(stdout(&out), "", "{args:?}: nothing on standard output");
    }
}

#[test]
fn codes_prints_the_twelve_rows() {
    let out = run(&["codes"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("CODE"), "a header line: {text}");
    let rows = &lines[1..];
    assert_eq!(rows.len(), 12, "{text}");
    for (row, code) in rows.iter().zip(ErrorCode::iter()) {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[0], code.as_str(), "{row}");
        assert_eq!(cols[1], code.status_u16().to_string(), "{row}");
        assert_eq!(cols[2], if code.is_retryable() { "yes" } else { "no" }, "{row}");
        assert!(row.ends_with(code.description()), "{row}");
    }

    let out = run(&["codes", "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).expect("a JSON array");
    assert_eq!(rows.len(), 12);
    for (row, code) in rows.iter().zip(ErrorCode::iter()) {
        assert_eq!(row["code"], code.as_str());
        assert_eq!(row["status"], code.status_u16());
        assert_eq!(row["retryable"], code.is_retryable());
    }
}

#[cfg(unix)]
#[test]
fn an_argument_that_is_not_utf8_is_a_one_line_error() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"body-\xFF.json");
    for args in [
        vec![std::ffi::OsStr::new("normalize"), std::ffi::OsStr::new("--status"), std::ffi::OsStr::new("500"), bad],
        vec![std::ffi::OsStr::new("normalize"), std::ffi::OsStr::new("--header"), bad],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_llm-errors")).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("not valid UTF-8"), "{err}");
    }
}

#[test]
fn binary_bodies_and_successes_in_jsonl() {
    let throttled = include_str!("cases/bedrock.jsonl")
        .lines()
        .find(|l| l.contains("bedrock-stream-throttling-first-frame"))
        .unwrap();
    let case: serde_json::Value = serde_json::from_str(throttled).unwrap();
    let lines = [
        serde_json::json!({"status": 200, "headers": case["headers"], "body_base64": case["body_base64"]}),
        serde_json::json!({"status": 200, "body": r#"{"candidates": [{"content": {"parts": [{"text": "Hi"}]}, "finishReason": "STOP"}]}"#}),
        serde_json::json!({"status": 200, "body": r#"{"promptFeedback": {"blockReason": "SAFETY"}}"#}),
        serde_json::json!({"status": 200, "body_base64": "!!not base64!!"}),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_llm-errors"))
        .args(["normalize", "--jsonl", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let printed: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert!(printed[0].contains("\"RATE_LIMITED\""), "{}", printed[0]);
    assert_eq!(printed[1], "null", "a success prints null");
    assert!(printed[2].contains("\"CONTENT_MODERATION_REJECTED\""), "{}", printed[2]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not base64"));
}

/// Runs the tool under a limit on its address space, with standard input written by a thread
/// from `chunks` until the tool stops reading (a closed pipe ends the writing early).
#[cfg(target_os = "linux")]
fn run_bounded(args: &str, kib: u64, chunks: impl Iterator<Item = Vec<u8>> + Send + 'static) -> (Output, u64) {
    let mut child = Command::new("sh")
        .args(["-c", &format!("ulimit -v {kib} && exec \"$0\" {args}"), BIN])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh runs the tool");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let mut written = 0u64;
        for chunk in chunks {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
            written += chunk.len() as u64;
        }
        written
    });
    let out = child.wait_with_output().expect("the tool finishes");
    (out, writer.join().expect("the writer"))
}

/// A body far over the library's limit is read no further than the limit: the tool answers by
/// status (as the library does for such a body) and stops reading, in a small address space.
#[test]
#[cfg(target_os = "linux")]
fn a_huge_body_is_not_held_in_memory() {
    let total = 512u64 << 20;
    let chunks = std::iter::once(br#"{"error": {"message": ""#.to_vec())
        .chain(std::iter::repeat_with(|| vec![b'x'; 1 << 20]).take((total >> 20) as usize));
    let (out, written) = run_bounded("normalize --status 503 -", 16 * 1024, chunks);
    assert!(out.status.success(), "{}", stderr(&out));
    let want = library(None, 503, &[], format!("{}x", "x".repeat(2 << 20)).as_bytes());
    assert_eq!(stdout(&out).trim(), want);
    assert!(written < total, "the tool read all {written} bytes of the body");
}

/// A stream of any length goes through the library's stream reader, event by event, in a small
/// address space, to its first error.
#[test]
#[cfg(target_os = "linux")]
fn a_long_stream_is_read_event_by_event() {
    let event = b"data: {\"choices\": [{\"delta\": {\"content\": \"0123456789abcdef\"}}]}\n\n";
    let events = (40usize << 20) / event.len();
    let chunk: Vec<u8> = event.repeat(1024);
    let error =
        b"data: {\"error\": {\"message\": \"The server had an error\", \"type\": \"server_error\"}}\n\n".to_vec();
    let chunks = std::iter::repeat_n(chunk, events / 1024).chain(std::iter::once(error));
    let (out, _) = run_bounded("normalize --status 200 -", 16 * 1024, chunks);
    assert!(out.status.success(), "{}", stderr(&out));
    let err: NormalizedError = serde_json::from_str(stdout(&out).trim()).expect("an envelope");
    assert_eq!(err.code(), ErrorCode::GenerationFailed, "{}", stdout(&out));
}

/// A `--jsonl` line over the limit is an error for that line; the lines after it still run.
#[test]
fn an_over_long_jsonl_line_is_rejected_and_the_rest_still_run() {
    let limit = llm_error_taxonomy::Normalizer::new().limits().max_body_bytes * 4 + 64 * 1024;
    let long = format!(r#"{{"status": 500, "body": "{}"}}"#, "x".repeat(limit));
    let input = format!("{long}\n{{\"status\": 429, \"body\": \"\"}}\n");
    let out = run(&["normalize", "--jsonl", "-"], Some(input.as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    let printed: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(printed, [library(None, 429, &[], b"")]);
    let errors = stderr(&out);
    assert!(errors.contains(&format!("line 1: {} bytes, over the limit of {limit}", long.len())), "{errors}");
    assert!(errors.lines().all(|l| l.len() < 200), "one short line each: {errors}");
}

/// The help states the input bounds the tool applies, which are the library's.
#[test]
fn the_help_states_the_bounds_it_applies() {
    let help = stdout(&run(&["--help"], None));
    let body = llm_error_taxonomy::Limits::DEFAULT.max_body_bytes;
    assert_eq!(body, 1 << 20, "the help says 1 MiB");
    assert!(help.contains("no further\n             than 1 MiB and a byte"), "{help}");
    assert!(help.contains("over\n             4 MiB and 64 KiB"), "{help}");
}
