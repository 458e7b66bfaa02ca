//! Instruction counts under callgrind: each path of the crate beside its floor, on real inputs.
//!
//! ```sh
//! cargo bench --bench instructions              # every group
//! cargo bench --bench instructions -- stream    # the groups whose name holds "stream"
//! ```
//!
//! Needs `valgrind` on the `PATH`. The bench runs itself under `valgrind --tool=callgrind`, which
//! counts the instructions each measured call executes: a count that repeats exactly for the same
//! binary and input whatever else the machine is doing, unlike a time. Each case runs once to warm
//! up, then `n` times between two dumps (`--dump-after` a marker function), so the figure is the
//! instructions per call, setup and first-use costs excluded.
//!
//! The groups, each against its floor:
//!
//! - `normalize`: [`Normalizer::normalize`] with the style detected, on the real error responses of
//!   `tests/cases/` (every provider), beside `serde_json::from_slice::<IgnoredAny>` of the same
//!   body: reading the bytes once, the least any reader can do.
//! - `envelope`: `normalize` then [`NormalizedError::to_json`], beside the same floor.
//! - `headers`: `normalize` on the same responses, each also carrying the transport headers a
//!   response gets on its way (`content-type`, `date`, `server`, a CDN's ray id, ...; see
//!   [`TRANSPORT_HEADERS`]), which the cases record only in part. Beside the same floor.
//! - `size`: bodies of 1 KiB to 16 MiB, beside the same floor. Over the 1 MiB limit a body is not
//!   read at all.
//! - `stream`: [`StreamReader`] fed in 4 KiB chunks, beside splitting the stream into events and
//!   parsing each JSON payload once with `IgnoredAny`; successful and failing streams of OpenAI's,
//!   Anthropic's, Gemini's and Ollama's shapes, read as each error's style is recognized, and the
//!   long ones again by a reader told the style (the style in parentheses).

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::{Normalizer, StreamReader, Style};
use serde::de::IgnoredAny;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

struct Case {
    group: &'static str,
    name: String,
    /// The style a stream is read with (`None`: each error's style is recognized).
    style: Option<Style>,
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn headers(pairs: &[(String, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        if let (Ok(k), Ok(v)) = (HeaderName::from_str(k), HeaderValue::from_str(v)) {
            h.append(k, v);
        }
    }
    h
}

/// The real responses of `tests/cases/*.jsonl` whose body is JSON and not a stream.
fn real_cases() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/cases"))
        .expect("tests/cases")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        for line in std::fs::read_to_string(&file).expect("a case file").lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            let Some(body) = v["body"].as_str() else { continue };
            let pairs: Vec<(String, String)> = v["headers"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
                .unwrap_or_default();
            let h = headers(&pairs);
            let stream = h.get("content-type").and_then(|c| c.to_str().ok()).is_some_and(|c| c.contains("stream"));
            if stream || serde_json::from_str::<IgnoredAny>(body).is_err() {
                continue;
            }
            let status = StatusCode::from_u16(v["status"].as_u64().unwrap_or(500) as u16).unwrap_or(StatusCode::OK);
            cases.push(Case {
                style: None,
                group: "normalize",
                name: v["id"].as_str().unwrap_or("?").to_owned(),
                status,
                headers: h,
                body: body.as_bytes().to_vec(),
            });
        }
    }
    cases
}

/// An OpenAI error body whose message fills it to `size` bytes, as a gateway's echo of a long
/// prompt would.
fn sized(size: usize) -> Case {
    let head = r#"{"error":{"message":"This model's maximum context length is 8192 tokens. "#;
    let tail = r#"","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;
    let filler = "lorem ipsum dolor sit amet ".repeat(size / 27 + 1);
    let mut body = format!("{head}{filler}");
    body.truncate(size.saturating_sub(tail.len()).max(head.len()));
    body.push_str(tail);
    let label = if size >= 1 << 20 { format!("{} MiB", size >> 20) } else { format!("{} KiB", size >> 10) };
    Case {
        group: "size",
        style: None,
        name: format!("openai-context-length-{label}"),
        status: StatusCode::BAD_REQUEST,
        headers: HeaderMap::new(),
        body: body.into_bytes(),
    }
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `head`, then `event` `n` times, then `tail`: a long answer in the stream's own shape.
fn long(head: &str, event: &str, n: usize, tail: &str) -> Vec<u8> {
    let mut s = String::from(head);
    for _ in 0..n {
        s.push_str(event);
    }
    s.push_str(tail);
    s.into_bytes()
}

fn sse() -> HeaderMap {
    headers(&[("content-type".into(), "text/event-stream".into())])
}

/// Streams of each shape: the recorded examples and cases, and 2,000-event answers built from
/// their own events (Gemini's and Ollama's from the shapes their documentation shows).
fn streams() -> Vec<Case> {
    const N: usize = 2000;
    let openai_delta = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1733000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
    let anthropic_delta = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}\n\n";
    let gemini_chunk = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" there\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 4,\"candidatesTokenCount\": 2,\"totalTokenCount\": 6},\"modelVersion\": \"gemini-2.0-flash\"}\r\n\r\n";
    let ollama_line = "{\"model\":\"llama3.2\",\"created_at\":\"2024-12-01T10:00:00.000000Z\",\"message\":{\"role\":\"assistant\",\"content\":\" there\"},\"done\":false}\n";
    let anthropic_head = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
    let ndjson = headers(&[("content-type".into(), "application/x-ndjson".into())]);
    let stream = |name: &str, headers: HeaderMap, body: Vec<u8>| Case {
        group: "stream",
        style: None,
        name: name.to_owned(),
        status: StatusCode::OK,
        headers,
        body,
    };
    let mut all = vec![
        stream("openai-complete", sse(), read("examples/streams/openai-complete.sse")),
        stream("openai-error-mid-stream", sse(), read("examples/streams/openai-error-mid-stream.sse")),
        stream("openai-finish-reason-error", sse(), read("examples/streams/finish-reason-error.sse")),
        stream("anthropic-complete", sse(), read("examples/streams/anthropic-complete.sse")),
        stream("anthropic-overloaded", sse(), read("examples/streams/anthropic-overloaded.sse")),
        stream(
            "openai-2000-deltas",
            sse(),
            long(
                "",
                openai_delta,
                N,
                "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
            ),
        ),
        stream(
            "openai-2000-deltas-then-error",
            sse(),
            long(
                "",
                openai_delta,
                N,
                "data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n",
            ),
        ),
        stream(
            "anthropic-2000-deltas",
            sse(),
            long(
                anthropic_head,
                anthropic_delta,
                N,
                "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2001}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
            ),
        ),
        stream(
            "anthropic-2000-deltas-then-overloaded",
            sse(),
            long(
                anthropic_head,
                anthropic_delta,
                N,
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
            ),
        ),
        stream(
            "gemini-2000-chunks",
            sse(),
            long(
                "",
                gemini_chunk,
                N,
                "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \".\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}]}\r\n\r\n",
            ),
        ),
        stream(
            "gemini-2000-chunks-then-safety",
            sse(),
            long(
                "",
                gemini_chunk,
                N,
                "data: {\"candidates\": [{\"finishReason\": \"SAFETY\",\"index\": 0,\"safetyRatings\": [{\"category\": \"HARM_CATEGORY_DANGEROUS_CONTENT\",\"probability\": \"HIGH\"}]}]}\r\n\r\n",
            ),
        ),
        stream(
            "ollama-2000-lines",
            ndjson.clone(),
            long(
                "",
                ollama_line,
                N,
                "{\"model\":\"llama3.2\",\"created_at\":\"2024-12-01T10:00:01.000000Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\",\"done\":true}\n",
            ),
        ),
        stream(
            "ollama-2000-lines-then-error",
            ndjson,
            long(
                "",
                ollama_line,
                N,
                "{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n",
            ),
        ),
    ];
    // The long answers again, read by a reader told the style, as a gateway that knows its
    // upstream makes it: it looks for that style's words only.
    let given = [
        ("openai", Style::OpenAI),
        ("anthropic", Style::Anthropic),
        ("gemini", Style::Gemini),
        ("ollama", Style::Ollama),
    ];
    let styled: Vec<Case> = all
        .iter()
        .filter(|c| c.name.contains("-2000-"))
        .filter_map(|c| {
            let (_, style) = given.iter().find(|(p, _)| c.name.starts_with(p))?;
            Some(Case { style: Some(*style), name: format!("{} ({style})", c.name), ..copy(c) })
        })
        .collect();
    all.extend(styled);
    all
}

/// A copy of `c`.
fn copy(c: &Case) -> Case {
    Case {
        group: c.group,
        name: c.name.clone(),
        style: c.style,
        status: c.status,
        headers: c.headers.clone(),
        body: c.body.clone(),
    }
}

/// The floor of a stream: split it into events at blank lines (or lines, for NDJSON) and parse
/// each JSON payload once.
fn split_and_parse(body: &[u8]) -> usize {
    let text = black_box(body);
    let mut n = 0;
    let ndjson = text.first() == Some(&b'{');
    if ndjson {
        for line in text.split(|&b| b == b'\n') {
            if !line.is_empty() && serde_json::from_slice::<IgnoredAny>(line).is_ok() {
                n += 1;
            }
        }
        return n;
    }
    let mut data: Vec<u8> = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if data.first() == Some(&b'{') && serde_json::from_slice::<IgnoredAny>(&data).is_ok() {
                n += 1;
            }
            data.clear();
        } else if let Some(d) = line.strip_prefix(b"data:") {
            data.extend_from_slice(d.strip_prefix(b" ").unwrap_or(d));
        }
    }
    n
}

fn run_stream(case: &Case) -> bool {
    let mut reader = StreamReader::new(case.style, case.status, &case.headers);
    for chunk in black_box(&case.body).chunks(4096) {
        if let Some(err) = reader.push(chunk) {
            return black_box(err).is_retry_safe();
        }
    }
    black_box(reader.finish()).is_some()
}

/// What one measurement runs: the crate's path, or its floor.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Floor,
    Crate,
}

fn run(case: &Case, side: Side) {
    let normalizer = &Normalizer::DEFAULT;
    match (case.group, side) {
        ("stream", Side::Floor) => drop(black_box(split_and_parse(&case.body))),
        ("stream", Side::Crate) => drop(black_box(run_stream(case))),
        (_, Side::Floor) => drop(black_box(serde_json::from_slice::<IgnoredAny>(black_box(&case.body)))),
        ("envelope", Side::Crate) => {
            let err = normalizer.normalize(None, case.status, &case.headers, black_box(&case.body));
            drop(black_box(err.to_json()));
        }
        (_, Side::Crate) => {
            drop(black_box(normalizer.normalize(None, case.status, &case.headers, black_box(&case.body))))
        }
    }
}

/// Callgrind dumps its counts each time this returns (`--dump-after`).
#[inline(never)]
fn callgrind_case_mark() {
    black_box(());
}

/// Headers a response carries whatever the error, as providers and the CDNs before them send
/// them: the `headers` group adds each one a case lacks.
const TRANSPORT_HEADERS: [(&str, &str); 12] = [
    ("content-type", "application/json"),
    ("date", "Mon, 07 Dec 2026 10:00:00 GMT"),
    ("server", "cloudflare"),
    ("content-length", "231"),
    ("connection", "keep-alive"),
    ("cf-ray", "8f0c1d2e3f4a5b6c-FRA"),
    ("strict-transport-security", "max-age=31536000; includeSubDomains; preload"),
    ("x-content-type-options", "nosniff"),
    ("alt-svc", "h3=\":443\"; ma=86400"),
    ("vary", "Origin"),
    ("openai-processing-ms", "12"),
    ("x-envoy-upstream-service-time", "15"),
];

fn cases(filter: &str) -> Vec<Case> {
    let mut all = real_cases();
    let again = |group: &'static str, c: &Case| Case { group, ..copy(c) };
    let envelope: Vec<Case> = all.iter().map(|c| again("envelope", c)).collect();
    let headers: Vec<Case> = all
        .iter()
        .map(|c| {
            let mut c = again("headers", c);
            for (name, value) in TRANSPORT_HEADERS {
                if !c.headers.contains_key(name) {
                    c.headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
                }
            }
            c
        })
        .collect();
    all.extend(envelope);
    all.extend(headers);
    all.extend([1 << 10, 16 << 10, 256 << 10, 1 << 20, 16 << 20].map(sized));
    all.extend(streams());
    all.retain(|c| c.group.contains(filter) || c.name.contains(filter));
    all
}

/// Calls per measurement: fewer for large inputs, whose counts are large and stable anyway.
fn calls(case: &Case) -> u64 {
    if case.body.len() > 1 << 20 {
        1
    } else if case.body.len() > 64 << 10 {
        3
    } else {
        10
    }
}

/// Under callgrind: warm each case up, then measure it, each between two marks.
fn child(filter: &str) {
    let cases = cases(filter);
    callgrind_case_mark();
    for case in &cases {
        for side in [Side::Floor, Side::Crate] {
            run(case, side);
            callgrind_case_mark();
            for _ in 0..calls(case) {
                run(case, side);
            }
            callgrind_case_mark();
        }
    }
}

fn totals(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .find_map(|l| l.strip_prefix("totals: ").or_else(|| l.strip_prefix("summary: ")))
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--callgrind-child") {
        child(args.get(1).map_or("", String::as_str));
        return;
    }
    // `cargo bench` passes `--bench`; anything else is a filter.
    let filter = args.iter().find(|a| !a.starts_with("--")).cloned().unwrap_or_default();
    let out = std::env::temp_dir().join(format!("llm-errors-callgrind-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("a temporary directory");
    let exe = std::env::current_exe().expect("the bench's path");
    let status = Command::new("valgrind")
        .args(["--tool=callgrind", "--dump-after=*callgrind_case_mark*", "--dump-instr=no", "--compress-strings=no"])
        .arg(format!("--callgrind-out-file={}", out.join("cg.out").display()))
        .arg(&exe)
        .args(["--callgrind-child", &filter])
        .stderr(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("valgrind exited with {s}"),
        Err(e) => {
            eprintln!("instructions: cannot run valgrind ({e}); install it (Debian: apt install valgrind)");
            std::process::exit(1);
        }
    }
    // Dump 1 holds the setup; then each case and side has a warm-up dump and a measured one.
    let cases = cases(&filter);
    let dump = |i: usize| totals(&out.join(format!("cg.out.{i}")));
    let mut groups: Vec<(&str, Vec<f64>)> = Vec::new();
    let mut dump_index = 1;
    let mut group = "";
    for case in &cases {
        if case.group != group {
            group = case.group;
            println!("\n{group}");
            println!("{:<52} {:>9} {:>13} {:>13} {:>7}", "case", "bytes", "floor Ir", "crate Ir", "ratio");
            groups.push((group, Vec::new()));
        }
        let mut per_call = [0.0; 2];
        for slot in &mut per_call {
            dump_index += 2;
            *slot = dump(dump_index) as f64 / calls(case) as f64;
        }
        let ratio = per_call[1] / per_call[0].max(1.0);
        if let Some((_, ratios)) = groups.last_mut() {
            ratios.push(ratio);
        }
        println!("{:<52} {:>9} {:>13.0} {:>13.0} {:>7.2}", case.name, case.body.len(), per_call[0], per_call[1], ratio);
    }
    println!("\n{:<12} {:>6} {:>8} {:>8}", "group", "cases", "median", "max");
    for (group, ratios) in &mut groups {
        let max = ratios.iter().copied().fold(f64::NAN, f64::max);
        println!("{:<12} {:>6} {:>8.2} {:>8.2}", group, ratios.len(), median(ratios), max);
    }
    let _ = std::fs::remove_dir_all(&out);
}
