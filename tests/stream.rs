//! The stream reader: framing across chunks, the errors a stream reports, phases, limits, and
//! the command-line tool on whole stream bodies.

use http::{HeaderMap, HeaderValue, StatusCode};
use llm_error_taxonomy::{
    ErrorCode, Limits, NormalizedError, Normalizer, StreamError, StreamPhase, StreamReader, Style, is_event_stream,
};
use std::path::Path;
use std::process::Command;

fn read(style: Option<Style>, body: &[u8]) -> Option<StreamError> {
    Normalizer::new().normalize_stream(style, StatusCode::OK, &HeaderMap::new(), body)
}

/// Reads `body` split at every pair of points, and checks that every split finds the same.
fn read_every_split(style: Option<Style>, body: &[u8]) -> Option<StreamError> {
    let whole = read(style, body);
    for a in 0..=body.len() {
        for b in (a..=body.len()).step_by(17) {
            let mut reader = StreamReader::new(style, StatusCode::OK, &HeaderMap::new());
            let mut found = None;
            for chunk in [&body[..a], &body[a..b], &body[b..]] {
                if let Some(err) = reader.push(chunk) {
                    found = Some(err);
                    break;
                }
            }
            let found = found.or_else(|| reader.finish());
            assert_eq!(found, whole, "split at {a} and {b}");
        }
    }
    whole
}

fn reason(err: &StreamError) -> Option<&str> {
    err.error().reason()
}

const OPENAI_OK: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
data: [DONE]\n\n";

#[test]
fn a_complete_stream_reports_nothing_however_it_is_split() {
    assert_eq!(read_every_split(None, OPENAI_OK.as_bytes()), None);
    for style in [Some(Style::MoltbotDen), Some(Style::ModelBridge), Some(Style::ModelRoute)] {
        assert_eq!(read(style, OPENAI_OK.as_bytes()), None);
    }
}

#[test]
fn crlf_cr_and_lf_line_ends_read_alike() {
    for end in ["\r\n", "\r", "\n"] {
        let body = OPENAI_OK.replace('\n', end);
        assert_eq!(read_every_split(None, body.as_bytes()), None, "{end:?}");
        let dropped = body.replace("data: [DONE]", ": no terminator");
        let err = read_every_split(None, dropped.as_bytes()).expect("dropped");
        assert_eq!(reason(&err), Some("STREAM_DROPPED"), "{end:?}");
        assert_eq!(err.phase(), StreamPhase::MidStream);
    }
}

#[test]
fn a_stream_without_its_terminator_is_dropped() {
    let body = OPENAI_OK.replace("data: [DONE]\n\n", "");
    let err = read_every_split(None, body.as_bytes()).expect("dropped");
    assert_eq!(err.error().code(), ErrorCode::GenerationFailed);
    assert_eq!(reason(&err), Some("STREAM_DROPPED"));
    assert!(err.partial_output());
    assert!(!err.is_retry_safe());
    assert_eq!(err.events_before(), 3);

    // An empty body, or one with only the role chunk, dropped before the first token.
    for body in ["", ": keep-alive\n\n", "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"] {
        let err = read(None, body.as_bytes()).expect("dropped");
        assert_eq!(reason(&err), Some("STREAM_DROPPED"));
        assert_eq!(err.phase(), StreamPhase::BeforeFirstToken, "{body:?}");
        assert!(err.is_retry_safe());
    }
}

#[test]
fn a_last_event_without_its_blank_line_still_counts() {
    assert_eq!(read(None, b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]"), None);
    assert_eq!(read(None, b"data: [DONE]\n"), None);
    let err = read(None, b"data: {\"error\": {\"message\": \"boom\", \"type\": \"server_error\"}}").unwrap();
    assert_eq!(err.error().message(), "boom");
}

#[test]
fn an_openai_style_error_object_in_data() {
    let body = "data: {\"choices\":[{\"delta\":{\"content\":\"The answer\"}}]}\n\n\
                data: {\"error\": {\"message\": \"The server had an error while processing your request.\", \"type\": \"server_error\"}}\n\n";
    let err = read_every_split(None, body.as_bytes()).expect("error");
    assert_eq!(err.error().code(), ErrorCode::GenerationFailed);
    assert_eq!(reason(&err), Some("PROVIDER_ERROR"));
    assert_eq!(err.error().message(), "The server had an error while processing your request.");
    assert_eq!(err.phase(), StreamPhase::MidStream);
    assert_eq!(err.error().stream_phase(), Some(StreamPhase::MidStream));
    assert!(err.error().partial_output());
}

#[test]
fn an_event_error_frame() {
    let body = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"content\":[]}}\n\n\
                event: ping\ndata: {\"type\": \"ping\"}\n\n\
                event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
    let err = read_every_split(None, body.as_bytes()).expect("error");
    assert_eq!(err.error().code(), ErrorCode::ModelOverloaded);
    assert_eq!(err.phase(), StreamPhase::BeforeFirstToken);
    assert!(err.is_retry_safe());

    // An error frame whose data is plain text keeps the text as its message.
    let err = read(None, b"event: error\ndata: upstream connection reset\n\n").expect("error");
    assert_eq!(err.error().code(), ErrorCode::GenerationFailed);
    assert_eq!(err.error().message(), "upstream connection reset");
}

#[test]
fn a_moltbotden_error_object_is_read_with_its_rules() {
    let body = "data: {\"choices\":[{\"delta\":{\"content\":\"Nash\"}}]}\n\n\
                data: {\"error\": {\"code\": \"provider_error\", \"message\": \"The upstream provider (anthropic) returned an error.\", \"status\": 500, \"provider\": \"anthropic\", \"upstream_status\": 529}}\n\n";
    for style in [None, Some(Style::MoltbotDen)] {
        let err = read_every_split(style, body.as_bytes()).expect("error");
        assert_eq!(err.error().code(), ErrorCode::ModelOverloaded);
        assert_eq!(err.error().upstream().provider.as_deref(), Some("anthropic"));
        assert_eq!(err.error().style(), Some(Style::MoltbotDen));
        assert_eq!(err.phase(), StreamPhase::MidStream);
    }
    // A rate limit sent in the stream keeps its retry delay.
    let body = b"data: {\"error\": {\"code\": \"rate_limit_exceeded\", \"message\": \"Rate limit exceeded\", \"status\": 429, \"retry_after\": 12}}\n\n";
    let err = read(Some(Style::MoltbotDen), body).expect("error");
    assert_eq!(err.error().code(), ErrorCode::RateLimited);
    assert_eq!(err.error().retry_after(), Some(std::time::Duration::from_secs(12)));
}

#[test]
fn a_finish_reason_of_error() {
    let body = "data: {\"choices\":[{\"delta\":{\"content\":\"Partial\"},\"finish_reason\":null}]}\n\n\
                data: {\"choices\":[{\"delta\":{\"content\":\"\"},\"finish_reason\":\"error\"}]}\n\n\
                data: [DONE]\n\n";
    let err = read_every_split(None, body.as_bytes()).expect("error");
    assert_eq!(err.error().code(), ErrorCode::GenerationFailed);
    assert_eq!(reason(&err), Some("STREAM_ERROR"));
    assert_eq!(err.error().details()[0].figures["finish_reason"], "error");
    assert_eq!(err.phase(), StreamPhase::MidStream);
    // Other finish reasons are not errors.
    assert_eq!(read(None, OPENAI_OK.replace("\"stop\"", "\"length\"").as_bytes()), None);
}

#[test]
fn end_events_terminate() {
    let body = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n\
                event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    assert_eq!(read_every_split(None, body.as_bytes()), None);
    let cut = body.split("event: message_stop").next().unwrap();
    let err = read(None, cut.as_bytes()).expect("dropped");
    assert_eq!(reason(&err), Some("STREAM_DROPPED"));
    assert_eq!(err.phase(), StreamPhase::MidStream);
}

#[test]
fn comments_ids_retries_and_multi_line_data() {
    let body = ": OPENROUTER PROCESSING\n\nid: 1\nretry: 3000\ndata: {\"error\":\ndata:  {\"message\": \"split\",\ndata: \"type\": \"server_error\"}}\n\n";
    let err = read_every_split(None, body.as_bytes()).expect("error");
    assert_eq!(err.error().message(), "split");
    assert_eq!(err.events_before(), 0);
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(OPENAI_OK.as_bytes());
    assert_eq!(read_every_split(None, &body), None);
}

#[test]
fn after_an_error_the_stream_is_over() {
    let mut reader = StreamReader::new(None, StatusCode::OK, &HeaderMap::new());
    let err =
        reader.push(b"data: {\"error\": {\"message\": \"first\"}}\n\ndata: {\"error\": {\"message\": \"second\"}}\n\n");
    assert_eq!(err.unwrap().error().message(), "first");
    assert!(reader.push(b"data: {\"error\": {\"message\": \"third\"}}\n\n").is_none());
    assert!(reader.finish().is_none());
}

#[test]
fn events_after_the_terminator_are_ignored() {
    let body = format!("{OPENAI_OK}data: {{\"error\": {{\"message\": \"late\"}}}}\n\n");
    assert_eq!(read(None, body.as_bytes()), None);
}

#[test]
fn an_oversized_event_is_skipped_and_counts_as_output() {
    let mut limits = Limits::default();
    limits.max_body_bytes = 256;
    let normalizer = Normalizer::new().with_limits(limits);
    let big = "x".repeat(10_000);
    let body = format!(
        "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{big}\"}}}}]}}\n\ndata: {{\"error\": {{\"message\": \"after\"}}}}\n\n"
    );
    let mut reader = normalizer.stream_reader(None, StatusCode::OK, &HeaderMap::new());
    let mut found = None;
    for chunk in body.as_bytes().chunks(100) {
        if let Some(err) = reader.push(chunk) {
            found = Some(err);
            break;
        }
    }
    let err = found.expect("the event after the oversized one is read");
    assert_eq!(err.error().message(), "after");
    assert_eq!(err.phase(), StreamPhase::MidStream, "the skipped event may have been output");
    assert_eq!(err.events_before(), 1);

    // The same when the oversized line arrives whole, in one chunk.
    let mut reader = normalizer.stream_reader(None, StatusCode::OK, &HeaderMap::new());
    let err = reader.push(body.as_bytes()).expect("the event after the oversized one is read");
    assert_eq!((err.error().message(), err.events_before()), ("after", 1));

    // An oversized event of several lines is skipped to its blank line, whichever lines went over.
    let in_event = r#"data: {"error": {"message": "inside"}}"#;
    let after = "data: {\"error\": {\"message\": \"after\"}}\n\n";
    let long_name = "y".repeat(200);
    let half = "z".repeat(150);
    for event in [
        format!("data: {big}\n{in_event}\n\n"),
        format!("data: {{\"a\": \"{half}\"}}\ndata: {{\"b\": \"{half}\"}}\n{in_event}\n\n"),
        // One JSON error split over data lines, each within the limit, together over it.
        format!(
            "data: {{\"error\": {{\"message\": \"inside\",\ndata: \"pad\": \"{half}\", \"more\": \"{half}\"}}}}\n\n"
        ),
        format!("event: {}\n{in_event}\n\n", "y".repeat(300)),
        // Neither line is over the limit; together the name and the data are.
        format!("event: {long_name}\ndata: {{\"error\": {{\"message\": \"inside\", \"pad\": \"{half}\"}}}}\n\n"),
    ] {
        let body = format!("{event}{after}");
        for chunk in [body.len(), 100, 7] {
            let mut reader = normalizer.stream_reader(None, StatusCode::OK, &HeaderMap::new());
            let err = body.as_bytes().chunks(chunk).find_map(|c| reader.push(c)).expect("an error");
            assert_eq!(err.error().message(), "after", "chunks of {chunk}: {}", &event[..40]);
        }
    }
    // A line of exactly the limit is read; one byte more is not.
    for (extra, read_it) in [(0, true), (1, false)] {
        let head = r#"data: {"error": {"message": ""#;
        let tail = r#""}}"#;
        let fill = "m".repeat(256 + extra - head.len() - tail.len());
        let body = format!("{head}{fill}{tail}\n\n");
        let mut reader = normalizer.stream_reader(None, StatusCode::OK, &HeaderMap::new());
        assert_eq!(reader.push(body.as_bytes()).is_some(), read_it, "a line of {} bytes", 256 + extra);
    }

    // An oversized error event is skipped too: the stream then ends without its terminator.
    let body = format!("data: {{\"error\": {{\"message\": \"{big}\"}}}}\n\n");
    let err = normalizer.normalize_stream(None, StatusCode::OK, &HeaderMap::new(), body.as_bytes()).unwrap();
    assert_eq!(err.error().reason(), Some("STREAM_DROPPED"));
}

#[test]
fn the_request_id_header_and_overrides_apply() {
    let mut headers = HeaderMap::new();
    headers.insert("x-request-id", HeaderValue::from_static("req_stream_1"));
    let normalizer = Normalizer::new().remap_reason("STREAM_DROPPED", ErrorCode::ServiceUnavailable);
    let err = normalizer.normalize_stream(Some(Style::ModelBridge), StatusCode::OK, &headers, b"").unwrap();
    assert_eq!(err.error().request_id(), Some("req_stream_1"));
    assert_eq!(err.error().code(), ErrorCode::ServiceUnavailable);
    assert_eq!(err.error().message(), "The stream ended before its end marker");
    let err = normalizer.normalize_stream(None, StatusCode::OK, &headers, b"data: {\"error\": {}}\n\n").unwrap();
    assert_eq!(err.error().request_id(), Some("req_stream_1"));
}

#[test]
fn stream_errors_round_trip_with_their_phase() {
    let body = OPENAI_OK.replace("data: [DONE]\n\n", "");
    let err = read(None, body.as_bytes()).unwrap().into_error();
    let parsed: NormalizedError = serde_json::from_str(&err.to_json()).unwrap();
    assert_eq!(parsed, err);
    assert_eq!(parsed.stream_phase(), Some(StreamPhase::MidStream));
    assert!(parsed.partial_output());
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet: &[&[u8]] = &[
        b"data:",
        b"event:",
        b" ",
        b"\n",
        b"\r",
        b"{",
        b"}",
        b"\"error\"",
        b":",
        b"[DONE]",
        b"\xff",
        b"\"",
        b"[",
        b"]",
    ];
    for _ in 0..2_000 {
        let mut body = Vec::new();
        for _ in 0..(next() % 40) {
            body.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
        }
        let mut reader = StreamReader::new(None, StatusCode::OK, &HeaderMap::new());
        let split = (next() as usize) % (body.len() + 1);
        let _ = reader.push(&body[..split]).or_else(|| reader.push(&body[split..]));
        let _ = reader.finish();
    }
}

#[test]
fn recognizing_an_event_stream() {
    let mut sse = HeaderMap::new();
    sse.insert("content-type", HeaderValue::from_static("text/event-stream; charset=utf-8"));
    assert!(is_event_stream(&sse, b"{}"));
    for body in
        [&b"data: x"[..], b"event: error\n", b": comment\n", b"\r\nid: 1\n", b"retry: 10\n", b"\xEF\xBB\xBFdata: x"]
    {
        assert!(is_event_stream(&HeaderMap::new(), body), "{body:?}");
    }
    for body in [&b""[..], b"{\"error\": {}}", b"<html>", b"database: down"] {
        assert!(!is_event_stream(&HeaderMap::new(), body), "{body:?}");
    }
}

/// What a stream gives: its code, reason and phase.
type Outcome = (ErrorCode, &'static str, StreamPhase);

/// The sample bodies in `examples/streams` and what each must give.
#[test]
fn the_sample_streams() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/streams");
    let expect: &[(&str, Option<Outcome>)] = &[
        ("openai-complete.sse", None),
        ("anthropic-complete.sse", None),
        ("openai-error-mid-stream.sse", Some((ErrorCode::GenerationFailed, "PROVIDER_ERROR", StreamPhase::MidStream))),
        (
            "anthropic-overloaded.sse",
            Some((ErrorCode::ModelOverloaded, "UPSTREAM_OVERLOADED", StreamPhase::BeforeFirstToken)),
        ),
        ("moltbotden-dropped.sse", Some((ErrorCode::GenerationFailed, "STREAM_DROPPED", StreamPhase::MidStream))),
        (
            "moltbotden-provider-error.sse",
            Some((ErrorCode::ModelOverloaded, "UPSTREAM_OVERLOADED", StreamPhase::BeforeFirstToken)),
        ),
        ("finish-reason-error.sse", Some((ErrorCode::GenerationFailed, "STREAM_ERROR", StreamPhase::MidStream))),
    ];
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sse"))
        .collect();
    files.sort();
    let mut named: Vec<String> = expect.iter().map(|(n, _)| n.to_string()).collect();
    named.sort();
    assert_eq!(files, named, "every sample has an expectation");

    for (name, want) in expect {
        let body = std::fs::read(dir.join(name)).unwrap();
        assert!(is_event_stream(&HeaderMap::new(), &body), "{name}");
        let got = read_every_split(None, &body);
        let got = got.as_ref().map(|e| (e.error().code(), reason(e).unwrap_or(""), e.phase()));
        assert_eq!(got, *want, "{name}");

        // The tool reads the same file the same way.
        let out = Command::new(env!("CARGO_BIN_EXE_llm-errors"))
            .args(["normalize", "--status", "200"])
            .arg(dir.join(name))
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let printed = String::from_utf8(out.stdout).unwrap();
        match want {
            None => assert_eq!(printed.trim(), "null", "{name}"),
            Some((code, _, phase)) => {
                let err: NormalizedError = serde_json::from_str(printed.trim()).unwrap();
                assert_eq!(err.code(), *code, "{name}");
                assert_eq!(err.stream_phase(), Some(*phase), "{name}");
            }
        }
    }
}

#[test]
fn the_tool_reads_streams_in_jsonl_and_by_content_type() {
    let dropped = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n";
    let lines = [
        serde_json::json!({"status": 200, "body": OPENAI_OK}),
        serde_json::json!({"status": 200, "headers": {"content-type": "text/event-stream"}, "body": dropped}),
        serde_json::json!({"status": 503, "headers": {"content-type": "text/event-stream"}, "body": ""}),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let path = std::env::temp_dir().join(format!("llm-errors-streams-{}.jsonl", std::process::id()));
    std::fs::write(&path, input).unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_llm-errors")).args(["normalize", "--jsonl"]).arg(&path).output().unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(out.status.success());
    let printed: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect();
    assert_eq!(printed[0], "null");
    let dropped: NormalizedError = serde_json::from_str(&printed[1]).unwrap();
    assert_eq!(dropped.reason(), Some("STREAM_DROPPED"));
    let outage: NormalizedError = serde_json::from_str(&printed[2]).unwrap();
    // A provider's 503 with no body: the provider cannot serve (the policy's fallback table).
    assert_eq!(outage.code(), ErrorCode::ModelUnavailable);
}

#[allow(dead_code)]
#[path = "../build/codegen.rs"]
mod codegen;

/// The build rejects a broken `stream` section, naming each problem.
#[test]
fn a_broken_stream_section_fails_the_build() {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("taxonomy");
    let root = std::env::temp_dir().join(format!("llm-error-taxonomy-stream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for rel in ["", "providers"] {
        std::fs::create_dir_all(root.join(rel)).unwrap();
        for entry in std::fs::read_dir(real.join(rel)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, root.join(rel).join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    assert!(codegen::load(&root).is_ok(), "the copy loads");
    let file = root.join("providers/moltbotden.json");
    let mut table: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    table["stream"] = serde_json::json!({
        "error_paths": ["error..code"],
        "finish_reason": ["choices.*.finish_reason"],
        "output": ["choices.[0].delta"],
        "sources": ["somewhere"]
    });
    std::fs::write(&file, table.to_string()).unwrap();
    let problems = codegen::load(&root).unwrap_err().to_string();
    std::fs::remove_dir_all(&root).unwrap();
    for want in [
        "taxonomy/providers/moltbotden.json: stream: a stream section needs `done` payloads, `end_events` or `done_finish_reasons`",
        "bad error_paths path \"error..code\"",
        "bad output path \"choices.[0].delta\"",
        "`finish_reason` and `error_finish_reasons` go together",
        "bad source \"somewhere\"",
    ] {
        assert!(problems.contains(want), "{want:?} not in:\n{problems}");
    }
}

// A status comment (DashScope's `:HTTP_STATUS/429`) is the status the event's error is read with.
#[test]
fn a_status_comment_gives_the_event_its_status() {
    let event = |comment: &str| {
        format!(
            "id:1\nevent:error\n{comment}data:{{\"code\":\"SomethingNew\",\"message\":\"Requests are coming in too fast.\",\"request_id\":\"a1\"}}\n\n"
        )
    };
    let with = read_every_split(Some(Style::DashScope), event(":HTTP_STATUS/429\n").as_bytes()).expect("an error");
    assert_eq!(with.error().code(), ErrorCode::RateLimited, "{}", with.error().to_json());
    let detected = read(None, event(":HTTP_STATUS/503\n").as_bytes()).expect("an error");
    assert_eq!(detected.error().code(), ErrorCode::ModelUnavailable, "{}", detected.error().to_json());
    let without = read(Some(Style::DashScope), event("").as_bytes()).expect("an error");
    assert_eq!(without.error().code(), ErrorCode::GenerationFailed, "no status: an upstream failure");
    // A native stream that ends on its finish reason is complete.
    let done =
        "id:1\nevent:result\ndata:{\"output\":{\"text\":\"Hi\",\"finish_reason\":\"stop\"},\"request_id\":\"a1\"}\n\n";
    assert!(read(Some(Style::DashScope), done.as_bytes()).is_none());
}

/// A stream answered with an error status: the error one of its events reports, which says more
/// than the status; else (a stream that breaks off, or ends without an error) the status's reading.
#[test]
fn a_stream_under_an_error_status_is_its_events_error_or_the_statuss() {
    let n = Normalizer::new();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("text/event-stream"));
    let status = StatusCode::SERVICE_UNAVAILABLE;
    let by_status = |body: &[u8]| n.normalize(Some(Style::OpenAI), status, &headers, body);
    let event = "data: {\"error\": {\"message\": \"This model's maximum context length is 8192 tokens.\", \"type\": \"invalid_request_error\", \"code\": \"context_length_exceeded\"}}\n\n";
    let err = n.inspect(Some(Style::OpenAI), status, &headers, event.as_bytes()).expect("a failure");
    assert_eq!(err.code(), ErrorCode::InputValidationError, "{}", err.to_json());
    let status_code = by_status(event.as_bytes()).code();
    assert_ne!(status_code, ErrorCode::InputValidationError);
    let dropped = OPENAI_OK.replace("data: [DONE]\n\n", "");
    for body in [dropped.as_str(), OPENAI_OK, ""] {
        let err = n.inspect(Some(Style::OpenAI), status, &headers, body.as_bytes());
        assert_eq!(err, Some(by_status(body.as_bytes())), "{body:?}");
        assert_eq!(err.map(|e| e.code()), Some(status_code), "{body:?}");
    }
    // Under a success status, the same streams are the event's error, a drop and no failure.
    let ok = |body: &str| n.inspect(Some(Style::OpenAI), StatusCode::OK, &headers, body.as_bytes());
    assert_eq!(ok(event).map(|e| e.code()), Some(ErrorCode::InputValidationError));
    assert_eq!(ok(&dropped).and_then(|e| e.reason().map(str::to_owned)).as_deref(), Some("STREAM_DROPPED"));
    assert_eq!(ok(OPENAI_OK), None);
}

/// Each content type of a newline-delimited JSON stream names a stream, whatever its body.
#[test]
fn each_json_lines_content_type_is_a_stream() {
    for ct in ["application/x-ndjson", "application/jsonl", "application/json-seq", "Application/JSONL; charset=utf-8"]
    {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static(ct));
        assert!(is_event_stream(&headers, b""), "{ct}");
    }
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    assert!(!is_event_stream(&headers, b"{}"));
}

/// The phase is read from the crate's own stream entry only: a details entry with a code and
/// both `phase` and `partial_output`, as a stream or a transport failure writes it.
#[test]
fn only_the_crates_own_stream_entry_tells_the_phase() {
    let dropped = OPENAI_OK.replace("data: [DONE]\n\n", "");
    let err = read(None, dropped.as_bytes()).expect("a drop").into_error();
    assert_eq!((err.stream_phase(), err.partial_output()), (Some(StreamPhase::MidStream), true));
    assert_eq!(StreamPhase::MidStream.to_string(), "mid_stream");
    assert_eq!(StreamPhase::BeforeFirstToken.to_string(), "before_first_token");
    let mut envelope: serde_json::Value = serde_json::from_str(&err.to_json()).expect("json");
    for details in [
        serde_json::json!([{"code": "UPSTREAM_DETAIL", "phase": "mid_stream"}]),
        serde_json::json!([{"code": "UPSTREAM_DETAIL", "partial_output": true}]),
        serde_json::json!([{"field": "stream", "phase": "mid_stream", "partial_output": true}]),
    ] {
        envelope["error"]["details"] = details.clone();
        let err: NormalizedError = serde_json::from_value(envelope.clone()).expect("an error");
        assert_eq!((err.stream_phase(), err.partial_output()), (None, false), "{details}");
    }
}

/// What is left of an oversized line when the next chunk ends it is part of that line, even
/// when it reads like an event of its own; and a reader tells whether it saw the terminator.
#[test]
fn the_tail_of_an_oversized_line_is_no_line_of_its_own() {
    let mut limits = Limits::default();
    limits.max_body_bytes = 256;
    let normalizer = Normalizer::new().with_limits(limits);
    let head = format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{}", "x".repeat(400));
    let tail = "data: {\"error\": {\"message\": \"smuggled\", \"type\": \"server_error\"}}\n\n";
    let mut reader = normalizer.stream_reader(None, StatusCode::OK, &HeaderMap::new());
    assert_eq!(reader.push(head.as_bytes()), None);
    assert_eq!(reader.push(tail.as_bytes()), None, "the tail belongs to the oversized line");
    assert!(!reader.is_done());
    assert_eq!(reader.push(b"data: [DONE]\n\n"), None);
    assert!(reader.is_done());
    assert_eq!(reader.finish(), None);
}

/// An Amazon event stream with no message at all ended before its first: a drop.
#[test]
fn an_empty_amazon_event_stream_is_a_drop() {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/vnd.amazon.eventstream"));
    let reader = Normalizer::new().stream_reader(Some(Style::Bedrock), StatusCode::OK, &headers);
    let err = reader.finish().expect("a drop");
    assert_eq!(reason(&err), Some("STREAM_DROPPED"));
}

/// `id:` and `retry:` lines and fields of no known name carry nothing: not inside a bare JSON
/// event, and not as output before an error.
#[test]
fn id_retry_and_unknown_fields_carry_nothing() {
    let bare = "{\"error\": {\"message\": \"boom\", \"type\": \"server_error\"}}\nid: 7\nretry: 100\n\n";
    let err = read(None, bare.as_bytes()).expect("the bare JSON error");
    assert_eq!(err.error().message(), "boom", "{}", err.error().to_json());
    let body = "foo: bar\n\nid: 1\n\ndata: {\"error\": {\"message\": \"overloaded\", \"type\": \"server_error\"}}\n\n";
    let err = read(None, body.as_bytes()).expect("an error");
    assert_eq!((err.error().message(), err.phase()), ("overloaded", StreamPhase::BeforeFirstToken));
}

/// A payload of text (not JSON) may be output and counts as such; one of white space does not.
#[test]
fn text_counts_as_output_and_white_space_does_not() {
    let error = "data: {\"error\": {\"message\": \"overloaded\", \"type\": \"server_error\"}}\n\n";
    for (before, phase) in
        [("data: Hello\n\n", StreamPhase::MidStream), ("data:   \n\n", StreamPhase::BeforeFirstToken)]
    {
        let err = read(None, format!("{before}{error}").as_bytes()).expect("an error");
        assert_eq!(err.phase(), phase, "{before:?}");
    }
}

/// The stream's own detail always finds room, within `max_details`.
#[test]
fn the_stream_detail_fits_within_the_details_limit() {
    let body = "data: {\"error\": {\"message\": \"bad\", \"type\": \"invalid_request_error\"}}\n\n";
    for max in [1, 2] {
        let mut limits = Limits::default();
        limits.max_details = max;
        let normalizer = Normalizer::new().with_limits(limits);
        let err =
            normalizer.normalize_stream(None, StatusCode::OK, &HeaderMap::new(), body.as_bytes()).expect("an error");
        let codes: Vec<Option<&str>> = err.error().details().iter().map(|d| d.code.as_deref()).collect();
        assert_eq!(codes.len(), max, "{}", err.error().to_json());
        assert_eq!(codes.last(), Some(&Some("STREAM_ERROR")));
    }
}
