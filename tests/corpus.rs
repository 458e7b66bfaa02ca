//! Real upstream error responses, each with the codes that are right for it: the shared corpus
//! (`tests/corpus/v1.jsonl`, see its README) and the cases gathered per style
//! (`tests/cases/<style>.jsonl`, same fields), each citing where it was found.
//!
//! Every case must come out right twice: read with its provider's style, and with no style
//! (detected from its shape, as a gateway that logs errors without the provider name relies on).

mod common;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::{Clock, NormalizedError, Normalizer, Style};
use serde::Deserialize;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, UNIX_EPOCH};

#[derive(Debug, Deserialize)]
struct Case {
    id: String,
    provider: String,
    status: u16,
    #[serde(default)]
    headers: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
    expect: Vec<String>,
    #[serde(default)]
    retry_after_s: Option<f64>,
    source: String,
}

fn cases() -> Vec<(String, Case)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files = vec![root.join("corpus/v1.jsonl")];
    let mut per_style: Vec<_> = std::fs::read_dir(root.join("cases"))
        .expect("tests/cases")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    per_style.sort();
    files.extend(per_style);
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let name = file.file_name().expect("a name").to_string_lossy().into_owned();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let case: Case = serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1));
            assert!(!case.source.trim().is_empty(), "{name}:{}: a case cites its source", i + 1);
            out.push((format!("{name}:{}", i + 1), case));
        }
    }
    out
}

/// The style a corpus provider name stands for.
fn style_of(provider: &str) -> Option<Style> {
    let wire = match provider {
        "azure_openai" => "azure",
        "vertex_ai" => "vertex",
        p => p,
    };
    Style::from_str(wire).ok()
}

/// A case's response: its status, headers and body bytes.
fn response(case: &Case) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut headers = HeaderMap::new();
    for (k, v) in &case.headers {
        let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()), HeaderValue::from_str(&v)) {
            headers.append(k, v);
        }
    }
    let body = match (&case.body, &case.body_base64) {
        (_, Some(b64)) => common::wire::decode_base64(b64),
        (Some(text), None) => text.clone().into_bytes(),
        (None, None) => Vec::new(),
    };
    (StatusCode::from_u16(case.status).expect("a status"), headers, body)
}

/// Dates are measured from the response's own `Date` header, or this fixed time.
fn normalizer() -> Normalizer {
    Normalizer::new().with_clock(Clock::Fixed(UNIX_EPOCH + Duration::from_secs(1_767_225_600)))
}

fn run(case: &Case, style: Option<Style>) -> Option<NormalizedError> {
    let (status, headers, body) = response(case);
    normalizer().inspect(style, status, &headers, &body)
}

fn verdict(case: &Case, got: Option<&NormalizedError>) -> Result<(), String> {
    match got {
        None if case.expect.is_empty() => Ok(()),
        None => Err(format!("expected {:?}, got no error", case.expect)),
        Some(err) if case.expect.is_empty() => Err(format!("a success, but got {}", err.to_json())),
        Some(err) if !case.expect.iter().any(|c| c == err.code().as_str()) => {
            Err(format!("expected {:?}, got {}", case.expect, err.to_json()))
        }
        Some(err) => match (case.retry_after_s.map(|w| w.min(86_400.0)), err.retry_after()) {
            (Some(want), got) if err.is_retryable() && got.is_none_or(|g| g.as_secs_f64() + 1.0 < want) => {
                Err(format!("retry after {want} s, got {got:?}: {}", err.to_json()))
            }
            _ => Ok(()),
        },
    }
}

#[test]
fn every_real_response_comes_out_right_by_style_and_detected() {
    let all = cases();
    assert!(all.len() >= 240, "{} cases", all.len());
    let mut failures = Vec::new();
    for (place, case) in &all {
        let style = style_of(&case.provider);
        let readings: Vec<(&str, Option<Style>)> = match style {
            Some(s) => vec![(s.as_str(), Some(s)), ("detected", None)],
            None => vec![("detected", None)],
        };
        for (how, reading) in readings {
            if let Err(why) = verdict(case, run(case, reading).as_ref()) {
                failures.push(format!("{place} {} ({how}): {why}", case.id));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} readings wrong:\n{}", failures.len(), all.len() * 2, failures.join("\n"));
}

#[test]
fn every_case_file_is_a_style_with_enough_cases() {
    let all = cases();
    for style in ["openai", "azure", "anthropic", "gemini", "vertex", "bedrock", "mistral", "cohere"] {
        let style = Style::from_str(style).unwrap_or_else(|_| panic!("{style} is a style"));
        let n = all.iter().filter(|(p, _)| p.starts_with(&format!("{}.jsonl", style.as_str()))).count();
        assert!(n >= 15, "{style}: {n} cases of its own");
    }
}

/// The headers that mark a style on their own: a detect signature that is only the presence of
/// a field read from headers (Groq's `x-groq-region`, LiteLLM's `x-litellm-*`).
fn header_marks(style: Style) -> Vec<&'static str> {
    use llm_error_taxonomy::table::{Location, Op, Subject};
    let table = style.table();
    let mut names = Vec::new();
    for sig in table.detect.iter().flat_map(|d| d.signatures) {
        if let [test] = sig.when.tests
            && let (Subject::Field(field), Op::Present(true)) = (test.subject, test.op)
            && sig.present.is_empty()
        {
            let locations = table.locations(field);
            if locations.iter().all(|l| matches!(l, Location::Header { .. })) {
                names.extend(locations.iter().filter_map(|l| match l {
                    Location::Header { name, .. } => Some(*name),
                    _ => None,
                }));
            }
        }
    }
    names
}

/// A real response that carries its provider's header mark is detected as that provider's style,
/// and never as another's.
#[test]
fn a_case_with_its_style_header_mark_is_detected_as_that_style() {
    let mut checked = 0;
    for (place, case) in cases() {
        let Some(style) = style_of(&case.provider) else { continue };
        let marks = header_marks(style);
        if !case.headers.keys().any(|k| marks.contains(&k.to_ascii_lowercase().as_str())) {
            continue;
        }
        let err = run(&case, None).expect("an error");
        assert_eq!(err.upstream().style, Some(style), "{place} {}: {}", case.id, err.to_json());
        checked += 1;
    }
    assert!(checked >= 4, "{checked} cases carry a header mark");
}

/// Every style has real responses of its own: the eight big providers at least 15, every other
/// style at least 5 (a style's file, or the shared corpus's cases of that provider).
#[test]
fn every_style_has_enough_real_cases() {
    use strum::IntoEnumIterator;
    let all = cases();
    let seeds = [Style::ModelBridge, Style::ModelSwitch, Style::ModelRoute, Style::MoltbotDen];
    for style in Style::iter().filter(|s| !seeds.contains(s)) {
        let n = all.iter().filter(|(_, c)| style_of(&c.provider) == Some(style)).count();
        let big = ["openai", "azure", "anthropic", "gemini", "vertex", "bedrock", "mistral", "cohere"];
        let least = if big.contains(&style.as_str()) { 15 } else { 5 };
        assert!(n >= least, "{style}: {n} real cases");
    }
}

/// The styles `style` extends, nearest first (the generic reading is no style).
fn ancestors(style: Style) -> Vec<Style> {
    let mut out = Vec::new();
    let mut table = style.table();
    while let Some(parent) = table.extends.and_then(|w| Style::from_str(w).ok()) {
        out.push(parent);
        table = parent.table();
    }
    out
}

#[derive(Deserialize)]
struct LooksLike {
    style: String,
    why: String,
}

/// The cases whose body is another style's envelope (`tests/cases/looks_like.json`).
fn looks_like() -> std::collections::BTreeMap<String, LooksLike> {
    #[derive(Deserialize)]
    struct File {
        cases: std::collections::BTreeMap<String, LooksLike>,
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/looks_like.json");
    let text = std::fs::read_to_string(path).expect("tests/cases/looks_like.json");
    serde_json::from_str::<File>(&text).expect("looks_like.json").cases
}

/// Detection, style by style: each style's cases are detected as itself, as a style it extends,
/// or as none when the body carries nothing of its own (its envelope is its parent's), and never
/// as another style unless `looks_like.json` says whose envelope the body is; no other style's
/// case is detected as it; and every style but the seed gateways (whose documented examples,
/// ModelSwitch's all of them, are OpenAI's envelope) is detected on some real case of its own.
#[test]
fn each_style_is_detected_on_its_own_cases_and_on_nobody_elses() {
    use strum::IntoEnumIterator;
    let declared = looks_like();
    let mut own = std::collections::BTreeMap::<Style, usize>::new();
    let mut failures = Vec::new();
    let mut seen = Vec::new();
    for (place, case) in cases() {
        let Some(style) = style_of(&case.provider) else { continue };
        let Some(err) = run(&case, None) else { continue };
        let got = err.upstream().style;
        match (got, declared.get(&case.id)) {
            (Some(g), None) if g == style => *own.entry(style).or_default() += 1,
            (None, None) => {}
            (Some(g), None) if ancestors(style).contains(&g) => {}
            (Some(g), Some(d)) if g.as_str() == d.style => {
                assert!(!d.why.trim().is_empty(), "{}: looks_like says why", case.id);
                seen.push(case.id.clone());
            }
            (got, d) => failures.push(format!(
                "{place} {}: a {style} case detected as {}{}",
                case.id,
                got.map_or("none", Style::as_str),
                d.map_or(String::new(), |d| format!(" (looks_like.json says {})", d.style)),
            )),
        }
    }
    for id in declared.keys().filter(|id| !seen.contains(id)) {
        if !failures.iter().any(|f| f.contains(id.as_str())) {
            failures.push(format!("looks_like.json: {id} is no case"));
        }
    }
    let seeds = [Style::ModelBridge, Style::ModelSwitch, Style::ModelRoute, Style::MoltbotDen];
    for style in Style::iter().filter(|s| !seeds.contains(s)) {
        if own.get(&style).copied().unwrap_or(0) == 0 {
            failures.push(format!("{style}: no real case of its own is detected as it"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A reader that gives at most `n` bytes a read, as a slow network does.
struct Trickle<'a>(&'a [u8], usize);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(self.1).min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Every real response read in pieces (`inspect_reader`) comes out as read whole (`inspect`).
#[test]
fn reading_in_pieces_gives_what_the_whole_gives() {
    let normalizer = normalizer();
    for (place, case) in cases() {
        let (status, headers, body) = response(&case);
        let style = style_of(&case.provider);
        let whole = normalizer.inspect(style, status, &headers, &body);
        for n in [1, 7, 4096] {
            let pieces = normalizer.inspect_reader(style, status, &headers, Trickle(&body, n)).expect("no I/O error");
            assert_eq!(pieces, whole, "{place} {} in pieces of {n}", case.id);
        }
    }
}

/// A reader that says `Interrupted` before each piece it gives, or fails once its bytes are gone.
struct Interrupting<'a> {
    body: &'a [u8],
    interrupted: bool,
    then_fail: bool,
}

impl std::io::Read for Interrupting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.body.is_empty() && self.then_fail {
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"));
        }
        self.interrupted = !self.interrupted;
        if self.interrupted {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        Trickle(self.body, 16).read(buf).inspect(|&n| self.body = &self.body[n..])
    }
}

/// Reading in pieces reads one byte past the size limit (a body that is over it by one is
/// classified by status alone, as it is read whole), goes on after `Interrupted`, and reports
/// any other error of the reader.
#[test]
fn reading_in_pieces_at_the_size_limit_and_through_interruptions() {
    use llm_error_taxonomy::{ErrorCode, Limits};
    let mut limits = Limits::default();
    limits.max_body_bytes = 128;
    let max = limits.max_body_bytes;
    let n = normalizer().with_limits(limits);
    let json = br#"{"error": {"message": "You exceeded your current quota.", "type": "insufficient_quota", "code": "insufficient_quota"}}"#;
    let mut body = json.to_vec();
    body.resize(max, b' ');
    let (status, headers) = (StatusCode::TOO_MANY_REQUESTS, HeaderMap::new());
    for (len, code) in [(max, ErrorCode::InsufficientBalance), (max + 1, ErrorCode::RateLimited)] {
        body.resize(len, b' ');
        let whole = n.inspect(Some(Style::OpenAI), status, &headers, &body).expect("an error");
        assert_eq!(whole.code(), code, "{len} bytes");
        let pieces = n.inspect_reader(Some(Style::OpenAI), status, &headers, Trickle(&body, 7)).expect("no I/O error");
        assert_eq!(pieces.as_ref(), Some(&whole), "{len} bytes in pieces");
    }

    // A stream longer than the limit, read through interruptions, up to its error.
    let stream = "data: {\"choices\": [{\"delta\": {\"content\": \"Hi\"}}]}\n\n".repeat(4)
        + "data: {\"error\": {\"message\": \"overloaded\", \"type\": \"server_error\"}}\n\n";
    let whole = n.inspect(None, StatusCode::OK, &headers, stream.as_bytes()).expect("a stream error");
    let reader = Interrupting { body: stream.as_bytes(), interrupted: false, then_fail: false };
    assert_eq!(n.inspect_reader(None, StatusCode::OK, &headers, reader).expect("no I/O error"), Some(whole));
    // A stream whose reader fails before its end is that failure.
    let cut = "data: {\"choices\": [{\"delta\": {\"content\": \"Hi\"}}]}\n\n".repeat(4);
    let reader = Interrupting { body: cut.as_bytes(), interrupted: false, then_fail: true };
    let err = n.inspect_reader(None, StatusCode::OK, &headers, reader).expect_err("the reader's error");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
}
