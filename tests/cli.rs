//! The `llm-errors` command-line tool, run as a built binary.
#![cfg(feature = "docs")] // the command line needs the docs renderings

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
    // One output line per input line, so that results line up with the log.
    assert_eq!(lines.len(), 6, "{printed}");
    assert_eq!(
        [lines[0], lines[2], lines[5]],
        [library_case(good), library_case(other), library_case(good)].map(Option::unwrap)
    );
    let errors = stderr(&out);
    for (i, names) in [(1, "not a case"), (3, "empty"), (4, "nosuch")] {
        let problem: Value = serde_json::from_str(lines[i]).expect("a JSON object");
        assert_eq!(problem["problem"]["line"], i + 1, "{printed}");
        let message = problem["problem"]["message"].as_str().expect("a message");
        assert!(message.contains(names), "{message}");
        let reported: Vec<&str> = errors.lines().filter(|l| l.contains(&format!("line {}:", i + 1))).collect();
        assert_eq!(reported, [format!("llm-errors: line {}: {message}", i + 1)], "{errors}");
    }
    assert!(!errors.contains("line 1:") && !errors.contains("line 3:") && !errors.contains("line 6:"), "{errors}");
    assert!(errors.ends_with("llm-errors: 3 bad line(s)\n"), "{errors}");
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
        (vec!["normalize", "--status=400", "--pretty=yes", body], "--pretty"),
        (vec!["normalize", "--jsonl", "--pretty", body], "--pretty"),
        (vec!["normalize", "--status", "400", "--format", "nosuch", body], "nosuch"),
        (vec!["normalize", "--status=", body], "\"\""),
        (vec!["stats", "--bogus"], "--bogus"),
        (vec!["stats", body, body], body),
        (vec!["styles", "extra"], "extra"),
        (vec!["help", "nosuch"], "nosuch"),
        (vec!["docs", "--format=nosuch"], "nosuch"),
        (vec!["docs", "--product", "Acme", "--skip", "policy,nosuch"], "nosuch"),
        (vec!["docs", "--base-url", "https://api.acme.example"], "--product"),
        (vec!["docs", "--skip", "policy"], "--product"),
        (vec!["docs", "--product", "Acme", "--format", "json"], "--format json"),
        (vec!["docs", "--product", "Acme", "--base-url", "ftp://acme.example"], "ftp://acme.example"),
        (vec!["docs", "--product", " "], "product name is empty"),
        (vec!["docs", "--product"], "--product"),
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
    let problem = serde_json::json!({"problem": {"line": 1, "message": format!("{} bytes, over the limit of {limit}", long.len())}});
    assert_eq!(printed, [problem.to_string(), library(None, 429, &[], b"")]);
    let errors = stderr(&out);
    assert!(errors.contains(&format!("line 1: {} bytes, over the limit of {limit}", long.len())), "{errors}");
    assert!(errors.lines().all(|l| l.len() < 200), "one short line each: {errors}");
}

/// The help states the input bounds the tool applies, which are the library's.
#[test]
fn the_help_states_the_bounds_it_applies() {
    let help = stdout(&run(&["normalize", "--help"], None));
    let body = llm_error_taxonomy::Limits::DEFAULT.max_body_bytes;
    assert_eq!(body, 1 << 20, "the help says 1 MiB");
    assert!(help.contains("no further\n             than 1 MiB and a byte"), "{help}");
    assert!(help.contains("over\n             4 MiB and 64 KiB"), "{help}");
}

/// Every command answers `--help` and `help COMMAND` with the same text, which names each of
/// its options.
#[test]
fn every_command_has_its_help() {
    let commands: [(&str, &[&str]); 5] = [
        ("normalize", &["--status", "--style", "--header", "--jsonl", "--format", "--explain", "--pretty"]),
        ("stats", &["--json"]),
        ("codes", &["--json"]),
        ("styles", &["--json"]),
        ("docs", &["--format", "--out", "--product", "--base-url", "--skip"]),
    ];
    let top = stdout(&run(&["--help"], None));
    for (command, options) in commands {
        assert!(top.contains(&format!("\n  {command} ")), "the overview lists {command}:\n{top}");
        let out = run(&[command, "--help"], None);
        assert!(out.status.success(), "{}", stderr(&out));
        let help = stdout(&out);
        assert!(help.starts_with("usage:") && help.contains(command), "{help}");
        for option in options {
            assert!(help.contains(option), "{command} --help names {option}:\n{help}");
        }
        assert_eq!(stdout(&run(&["help", command], None)), help);
        assert_eq!(stdout(&run(&[command, "--status", "400", "-h"], None)), help, "-h anywhere");
    }
}

#[test]
fn options_take_their_value_after_an_equals_sign() {
    let path = manifest(OVERLOADED);
    let path = path.to_str().expect("path");
    let spaced =
        run(&["normalize", "--status", "500", "--style", "moltbotden", "--header", "Retry-After: 7", path], None);
    let joined = run(&["normalize", "--status=500", "--style=moltbotden", "--header=Retry-After: 7", path], None);
    assert!(spaced.status.success() && joined.status.success(), "{}", stderr(&joined));
    assert_eq!(stdout(&joined), stdout(&spaced));
    let body = std::fs::read(path).expect("example");
    assert_eq!(stdout(&joined), library(Some(Style::MoltbotDen), 500, &[("retry-after", "7")], &body) + "\n");
}

/// `--format` prints the library's rendering in each wire format, with `--jsonl` too.
#[test]
fn each_wire_format_prints_the_library_rendering() {
    use llm_error_taxonomy::WireFormat;
    let err = normalize(Some(Style::ModelSwitch), StatusCode::FORBIDDEN, &HeaderMap::new(), SWITCH_BALANCE);
    for format in WireFormat::iter() {
        let out = run(
            &["normalize", "--status", "403", "--style", "modelswitch", "--format", format.as_str(), "-"],
            Some(SWITCH_BALANCE),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out), err.to_json_in(format) + "\n", "{format}");
        let pretty = run(
            &["normalize", "--status=403", "--style=modelswitch", "--pretty", &format!("--format={format}"), "-"],
            Some(SWITCH_BALANCE),
        );
        let a: Value = serde_json::from_str(&stdout(&pretty)).expect("JSON");
        let b: Value = serde_json::from_str(&err.to_json_in(format)).expect("JSON");
        assert_eq!(a, b, "{format}, pretty");
        let case = serde_json::json!({"style": "modelswitch", "status": 403, "body": std::str::from_utf8(SWITCH_BALANCE).expect("text")});
        let out =
            run(&["normalize", "--jsonl", "--format", format.as_str(), "-"], Some(format!("{case}\n").as_bytes()));
        assert_eq!(stdout(&out), err.to_json_in(format) + "\n", "{format}, --jsonl");
    }
}

/// `--explain` adds the style, whether it was detected, and the rule with its table and source.
#[test]
fn explain_names_the_rule_and_its_source() {
    let out = run(&["normalize", "--status", "403", "--explain", "-"], Some(SWITCH_BALANCE));
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let err = normalize(None, StatusCode::FORBIDDEN, &HeaderMap::new(), SWITCH_BALANCE);
    let rule = err.rule().expect("a rule decided it");
    assert_eq!(v["error"], serde_json::from_str::<Value>(&err.to_json()).expect("JSON")["error"]);
    let explain = &v["explain"];
    assert_eq!(explain["style"], err.style().expect("detected").as_str());
    assert_eq!(explain["detected"], true);
    assert_eq!(explain["rule"], rule.name);
    assert_eq!(explain["table"], rule.table);
    assert_eq!(explain["source"], rule.source);
    assert_eq!(explain["status"], err.code().status_u16());
    let out = run(
        &["normalize", "--status", "403", "--style", "modelswitch", "--explain", "--format", "openai", "-"],
        Some(SWITCH_BALANCE),
    );
    let v: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["explain"]["detected"], false);
    assert_eq!(v["error"]["type"], err.code().openai_type(), "the explained body is the format's");
    // A stream that completed is no failure: nothing to explain.
    let done = b"data: {\"choices\": []}\n\ndata: [DONE]\n\n";
    let out = run(
        &[
            "normalize",
            "--status",
            "200",
            "--style",
            "openai",
            "--explain",
            "-H",
            "content-type: text/event-stream",
            "-",
        ],
        Some(done),
    );
    assert_eq!(stdout(&out), "null\n");
}

#[test]
fn styles_lists_every_style() {
    let out = run(&["styles"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let styles: Vec<Style> = Style::iter().collect();
    assert_eq!(rows.len(), styles.len(), "{text}");
    for (row, style) in rows.iter().zip(&styles) {
        assert_eq!(row.split_whitespace().next(), Some(style.as_str()), "{row}");
        assert_eq!(Style::from_str(style.as_str()).ok(), Some(*style), "the name --style takes");
    }
    let json: Vec<Value> = serde_json::from_str(&stdout(&run(&["styles", "--json"], None))).expect("a JSON array");
    assert_eq!(json.len(), styles.len());
    for (row, style) in json.iter().zip(&styles) {
        assert_eq!(row["style"], style.as_str());
        assert_eq!(row["description"], style.table().description);
    }
}

/// `stats` counts the codes of each style, from the cases or from `normalize --jsonl`'s output.
#[test]
fn stats_counts_codes_by_style() {
    let path = manifest("examples/errors.jsonl");
    let path = path.to_str().expect("path");
    let input = std::fs::read_to_string(path).expect("examples");
    let mut want: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>> = Default::default();
    let (mut errors, mut retryable) = (0u64, 0u64);
    for line in input.lines() {
        let printed = run(&["normalize", "--jsonl", "-"], Some(format!("{line}\n").as_bytes()));
        let Ok(err) = serde_json::from_str::<NormalizedError>(stdout(&printed).trim()) else { continue };
        let style = err.style().map_or("-", Style::as_str).to_owned();
        *want.entry(style).or_default().entry(err.code().as_str().to_owned()).or_default() += 1;
        errors += 1;
        retryable += u64::from(err.is_retryable());
    }
    let from_cases = run(&["stats", "--json", path], None);
    assert!(from_cases.status.success(), "{}", stderr(&from_cases));
    let v: Value = serde_json::from_str(&stdout(&from_cases)).expect("JSON");
    for (style, codes) in &want {
        for (code, n) in codes {
            assert_eq!(v["styles"][style]["codes"][code], *n, "{style} {code}");
        }
    }
    assert_eq!(v["all"]["errors"], errors);
    assert_eq!(v["all"]["retryable"], retryable);
    let normalized = run(&["normalize", "--jsonl", path], None);
    let from_output = run(&["stats", "--json", "-"], Some(&normalized.stdout));
    assert_eq!(stdout(&from_output), stdout(&from_cases), "the same from normalize's output");

    let table = stdout(&run(&["stats", path], None));
    let share = (retryable * 200 + errors) / (2 * errors);
    let last = table.lines().find(|l| l.starts_with("all ")).expect("a total row");
    assert_eq!(last.split_whitespace().collect::<Vec<_>>(), ["all", "all", &errors.to_string(), &format!("{share}%")]);

    // A bad line is counted and reported; the rest still count.
    let bad = format!(
        "{}\nnot json\nnull\n{{\"problem\": {{\"line\": 1, \"message\": \"x\"}}}}\n",
        input.lines().next().expect("a case")
    );
    let out = run(&["stats", "--json", "-"], Some(bad.as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!([&v["all"]["errors"], &v["no_failure"], &v["problems"], &v["bad_lines"]], [1, 1, 1, 1]);
    assert!(stderr(&out).contains("line 2: not JSON"), "{}", stderr(&out));
}

#[test]
fn docs_renders_the_published_page() {
    let out = run(
        &[
            "docs",
            "--product=Acme AI",
            "--base-url",
            "https://api.acme.example/v1",
            "--skip",
            "policy,redaction",
            "--skip=formats",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let page = llm_error_taxonomy::docs::Page::new("Acme AI")
        .and_then(|p| p.base_url("https://api.acme.example/v1"))
        .expect("a valid page")
        .skip(llm_error_taxonomy::docs::Section::Policy)
        .skip(llm_error_taxonomy::docs::Section::Redaction)
        .skip(llm_error_taxonomy::docs::Section::Formats)
        .render();
    assert_eq!(stdout(&out), page, "the command prints the library's page");
    assert!(page.starts_with("# Acme AI error codes\n") && !page.contains("## Redaction"), "{page}");
    // Without --product, docs prints the crate's own reference page.
    let reference = run(&["docs"], None);
    assert_eq!(stdout(&reference), llm_error_taxonomy::docs::render(llm_error_taxonomy::docs::Format::Markdown));
}

/// Output is written in large pieces, yet a log read live gets each line's result before the
/// next line arrives: the output is flushed whenever the input must wait.
#[test]
fn jsonl_answers_each_line_of_a_live_input_before_the_next() {
    use std::io::BufRead;
    let mut child = Command::new(BIN)
        .args(["normalize", "--jsonl"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().expect("stdin");
    let (tx, rx) = std::sync::mpsc::channel();
    let output = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(output).lines() {
            let _ = tx.send(line.expect("a line"));
        }
    });
    for status in [429, 503] {
        writeln!(input, r#"{{"status": {status}, "body": ""}}"#).expect("written");
        input.flush().expect("flushed");
        let line = rx.recv_timeout(std::time::Duration::from_secs(20)).expect("an answer while the input is open");
        let v: Value = serde_json::from_str(&line).expect("JSON");
        assert!(v["error"]["status"].as_u64().is_some(), "{line}");
    }
    drop(input);
    assert!(child.wait().expect("exits").success());
}
