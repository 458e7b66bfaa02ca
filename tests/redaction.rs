//! No planted secret survives anywhere the crate emits: the message, details, upstream facts,
//! request id, the client's HTTP response, stream errors and the command-line tool's output.

#[path = "common/seeded.rs"]
mod seeded;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::{
    Detail, ErrorCode, NormalizedError, Normalizer, StreamReader, Style, normalize, normalize_response,
};
use serde::Deserialize;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// A secret of a format the crate redacts (`tests/secrets/keys.jsonl`), with its secret part
/// (what follows the prefix that is kept) and where the format is documented.
#[derive(Deserialize)]
struct Key {
    format: String,
    secret: String,
    part: String,
    source: String,
}

fn keys() -> &'static [Key] {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/secrets/keys.jsonl");
        let text = std::fs::read_to_string(path).expect("tests/secrets/keys.jsonl");
        let keys: Vec<Key> = text.lines().map(|l| serde_json::from_str(l).expect("a key")).collect();
        for k in &keys {
            assert!(k.secret.contains(&k.part) && !k.source.is_empty(), "{}", k.format);
        }
        keys
    })
}

/// The places a secret is planted in a message.
const CONTEXTS: &[&str] = &[
    "Incorrect API key provided: {}. You can find your API key at the dashboard.",
    "{}",
    "Authorization: {}",
    "X-API-Key: {} is not valid",
    "key=\"{}\"",
    "https://api.example.com/v1/chat?key={}&model=gpt-4o",
    "(key {})",
    "invalid key\t{}\nrequest failed",
    "OPENAI_API_KEY_{} rejected",
    "key:\u{200B}{}\u{202E}",
    "[{}]",
    "'{}'",
];

/// The ways a secret is hidden from a reader that looks for its characters: invisible
/// characters inside it, and the escapes of URLs, JSON and HTML right before it.
fn obfuscations(secret: &str, part: &str) -> Vec<String> {
    let at = part.char_indices().nth(part.chars().count() / 2).map_or(0, |(i, _)| i);
    let inside = |c: char| secret.replacen(part, &format!("{}{c}{}", &part[..at], &part[at..]), 1);
    vec![
        inside('\u{AD}'),
        inside('\u{2060}'),
        inside('\u{200B}'),
        inside('\u{FEFF}'),
        format!("api_key%3D{secret}"),
        format!("%22{secret}%22"),
        format!("{{\\u0022key\\u0022: \\u0022{secret}\\u0022}}"),
        format!("{{\\\"key\\\": \\\"{secret}\\\"}}"),
        format!("line\\n{secret}\\tend"),
        format!("&quot;{secret}&quot;"),
    ]
}

/// Fragments of a secret that must not appear: every run of this many characters.
const WINDOW: usize = 6;

/// Messages with a secret planted, each with the secret part that must not survive.
fn planted() -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for key in keys() {
        for ctx in CONTEXTS {
            out.push((ctx.replace("{}", &key.secret), key.part.as_str()));
        }
        for hidden in obfuscations(&key.secret, &key.part) {
            out.push((format!("rejected: {hidden}"), key.part.as_str()));
        }
    }
    out
}

/// Fails when `text` holds the secret part, or any `WINDOW`-character run of it.
#[track_caller]
fn assert_clean(text: &str, part: &str, what: &str) {
    let chars: Vec<char> = part.chars().collect();
    for w in chars.windows(WINDOW) {
        let fragment: String = w.iter().collect();
        assert!(!text.contains(&fragment), "{what}: fragment {fragment:?} of a secret survived in {text:?}");
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Upstream bodies of every style with `message` planted everywhere the tables read text.
fn bodies(message: &str) -> Vec<(Option<Style>, StatusCode, String)> {
    let m = json_str(message);
    vec![
        (
            Some(Style::ModelBridge),
            StatusCode::UNAUTHORIZED,
            format!(r#"{{"error": {{"message": {m}, "type": {m}, "code": {m}, "request_id": {m}}}}}"#),
        ),
        (
            Some(Style::ModelSwitch),
            StatusCode::FORBIDDEN,
            format!(
                r#"{{"error": {{"message": {m}, "type": "invalid_request_error", "code": {m}}}, "request_id": {m}}}"#
            ),
        ),
        (
            Some(Style::ModelRoute),
            StatusCode::BAD_REQUEST,
            format!(
                r#"{{"error": {{"code": "INPUT_VALIDATION_ERROR", "message": {m}, "retryable": false,
                    "details": [{{"field": {m}, "code": {m}, "message": {m}, "hint": {m}, {m}: 1}}]}}}}"#
            ),
        ),
        (
            Some(Style::MoltbotDen),
            StatusCode::PAYMENT_REQUIRED,
            format!(
                r#"{{"error": {{"code": "credits_exhausted", "message": {m}, "status": 402, "provider": {m},
                    "balance_usdc": {m}, "request_id": {m}}}}}"#
            ),
        ),
        (
            Some(Style::MoltbotDen),
            StatusCode::BAD_REQUEST,
            format!(
                r#"{{"error": {{"code": "context_length_exceeded", "message": {m}, "status": 400,
                    "model_max_tokens": {m}, "request_tokens": {m}}}}}"#
            ),
        ),
        (
            None,
            StatusCode::BAD_REQUEST,
            format!(r#"{{"error": {{"message": {m}, "type": {m}, "code": {m}, "param": {m}}}, "request_id": {m}}}"#),
        ),
        (None, StatusCode::TOO_MANY_REQUESTS, format!(r#"{{"message": {m}}}"#)),
    ]
}

/// Every text the crate emits for `err`.
fn emitted(err: &NormalizedError) -> Vec<String> {
    let response = err.to_http_response();
    let mut out = vec![
        err.to_json(),
        serde_json::to_string_pretty(err).unwrap(),
        err.to_string(),
        format!("{err:?}"),
        err.to_sse_event(),
        String::from_utf8(response.body().clone()).unwrap(),
    ];
    out.extend(response.headers().values().map(|v| v.to_str().unwrap().to_owned()));
    out
}

fn headers_with(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    // Header values cannot hold control characters; plant what a header can carry.
    let visible: String =
        value.chars().filter(char::is_ascii).map(|c| if c.is_ascii_control() { ' ' } else { c }).collect();
    if let Ok(v) = HeaderValue::from_str(&visible) {
        headers.insert(HeaderName::from_static("x-request-id"), v.clone());
        headers.insert(HeaderName::from_static("x-should-retry"), v);
    }
    headers
}

#[test]
fn normalized_errors_carry_no_secret() {
    let mut checked = 0;
    for (message, part) in planted() {
        let headers = headers_with(&message);
        for (style, status, body) in bodies(&message) {
            for style in [style, None] {
                let err = normalize(style, status, &headers, body.as_bytes());
                // Parsing cleans again; clean text comes back unchanged.
                let parsed: NormalizedError = serde_json::from_str(&err.to_json()).unwrap();
                assert_eq!(parsed, err);
                for text in emitted(&err) {
                    assert_clean(&text, part, &format!("{style:?} {status}"));
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 10_000, "{checked}");
}

#[test]
fn a_secret_cut_by_the_length_limit_leaves_no_fragment() {
    // Wherever the message limit falls in the secret, no fragment of it is left behind.
    let limit = Normalizer::new().limits().max_message_bytes;
    for Key { secret, part, .. } in keys() {
        for pad in limit.saturating_sub(secret.len() + 2)..limit + 2 {
            let message = format!("{} {secret} tail", "x".repeat(pad));
            let body = format!(r#"{{"error": {{"message": {}, "code": "invalid_api_key"}}}}"#, json_str(&message));
            let err = normalize(None, StatusCode::UNAUTHORIZED, &HeaderMap::new(), body.as_bytes());
            assert!(err.message().len() <= limit);
            assert_eq!(serde_json::from_str::<NormalizedError>(&err.to_json()).unwrap(), err);
            assert_clean(&err.to_json(), part, &format!("cut at {pad}"));
        }
    }
}

#[test]
fn builders_and_parsed_envelopes_carry_no_secret() {
    for (message, part) in planted() {
        let err =
            NormalizedError::new(ErrorCode::RateLimited).with_message(&message).with_request_id(&message).with_detail(
                Detail::new(message.clone())
                    .with_field(message.clone())
                    .with_message(message.clone())
                    .with_figure(message.clone(), message.clone()),
            );
        for text in emitted(&err) {
            assert_clean(&text, part, "builders");
        }
        // An envelope parsed from elsewhere (an upstream that is already normalized) is
        // cleaned on the way in.
        let m = json_str(&message);
        let envelope = format!(
            r#"{{"error": {{"code": "RATE_LIMITED", "message": {m}, "request_id": {m},
                "details": [{{"field": {m}, "code": {m}, "message": {m}, "extra": {m}}}],
                "upstream": {{"code": {m}, "type": {m}, "provider": {m}}}}}}}"#
        );
        let parsed: NormalizedError = serde_json::from_str(&envelope).unwrap();
        for text in emitted(&parsed) {
            assert_clean(&text, part, "parsed envelope");
        }
    }
}

#[test]
fn stream_errors_carry_no_secret() {
    for (message, part) in planted() {
        let m = json_str(&message);
        let headers = headers_with(&message);
        let streams = [
            format!("data: {{\"error\": {{\"message\": {m}, \"type\": \"server_error\", \"code\": {m}}}}}\n\n"),
            format!("event: error\ndata: {}\n\n", message.replace(['\n', '\r'], " ")),
            format!("event: error\ndata: {{\"type\": \"error\", \"error\": {{\"type\": {m}, \"message\": {m}}}}}\n\n"),
            "data: {\"choices\": [{\"delta\": {\"content\": \"hi\"}}]}\n\n".to_owned(),
        ];
        for stream in &streams {
            for style in [None, Some(Style::MoltbotDen), Some(Style::ModelRoute)] {
                let err = Normalizer::new()
                    .normalize_stream(style, StatusCode::OK, &headers, stream.as_bytes())
                    .expect("every stream here fails");
                for text in emitted(err.error()) {
                    assert_clean(&text, part, "stream");
                }
                assert_clean(&err.to_string(), part, "stream error");
            }
        }
        let reader = StreamReader::new(None, StatusCode::OK, &headers);
        let dropped = reader.finish().expect("a dropped stream");
        for text in emitted(dropped.error()) {
            assert_clean(&text, part, "dropped stream");
        }
    }
}

#[test]
fn http_responses_carry_no_secret() {
    for (message, part) in planted() {
        let headers = headers_with(&message);
        for (style, status, body) in bodies(&message) {
            let mut builder = http::Response::builder().status(status);
            for (name, value) in &headers {
                builder = builder.header(name, value);
            }
            let upstream = builder.body(body).unwrap();
            let reply = normalize_response(style, &upstream).to_http_response();
            assert_clean(std::str::from_utf8(reply.body()).unwrap(), part, "http body");
            for value in reply.headers().values() {
                assert_clean(value.to_str().unwrap(), part, "http header");
            }
        }
    }
}

#[test]
fn the_command_line_tool_prints_no_secret() {
    let mut input = String::new();
    let mut parts = Vec::new();
    for (message, part) in planted() {
        for (style, status, body) in bodies(&message) {
            let case = serde_json::json!({
                "style": style.map(|s| s.as_str()),
                "status": status.as_u16(),
                "headers": {"x-request-id": message.chars().filter(char::is_ascii).map(|c| if c.is_ascii_control() { ' ' } else { c }).collect::<String>()},
                "body": body,
            });
            input.push_str(&case.to_string());
            input.push('\n');
        }
        let stream = format!("data: {{\"error\": {{\"message\": {}}}}}\n\n", json_str(&message));
        input.push_str(&serde_json::json!({"status": 200, "body": stream}).to_string());
        input.push('\n');
        // A line the tool rejects: its complaint quotes no secret either.
        input.push_str(&serde_json::json!({"status": message, "body": ""}).to_string());
        input.push('\n');
        parts.push(part);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_llm-errors"))
        .args(["normalize", "--jsonl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tool runs");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stdout.lines().count() >= planted().len() * 8, "{stderr}");
    assert!(stderr.contains("bad line(s)"), "{stderr}");
    assert_clean_all(&stdout, &parts, "tool output");
    assert_clean_all(&stderr, &parts, "tool errors");
}

/// [`assert_clean`] for many secrets over a long text, in one pass over the text.
#[track_caller]
fn assert_clean_all(text: &str, parts: &[&str], what: &str) {
    let mut fragments = std::collections::HashSet::new();
    for part in parts {
        let chars: Vec<char> = part.chars().collect();
        fragments.extend(chars.windows(WINDOW).map(|w| w.iter().collect::<String>()));
    }
    let chars: Vec<char> = text.chars().collect();
    for w in chars.windows(WINDOW) {
        let window: String = w.iter().collect();
        assert!(!fragments.contains(&window), "{what}: fragment {window:?} of a secret survived");
    }
}

/// A secret format of `taxonomy/secrets.json`, as the property below generates keys of it.
#[derive(Debug, Clone, Deserialize)]
struct Format {
    name: String,
    prefix: String,
    min_len: usize,
    #[serde(default)]
    max_len: Option<usize>,
    #[serde(default)]
    extra_chars: String,
    #[serde(default)]
    ignore_case: bool,
    #[serde(default)]
    needs: Vec<String>,
}

fn formats() -> Vec<Format> {
    #[derive(Deserialize)]
    struct File {
        secrets: Vec<Format>,
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("taxonomy/secrets.json");
    serde_json::from_str::<File>(&std::fs::read_to_string(path).expect("taxonomy/secrets.json"))
        .expect("secrets.json")
        .secrets
}

/// A key of `format`: its prefix (in either case where case is ignored), then a token of its
/// length from its characters, holding the classes it needs.
fn key_of(format: &Format, len: usize, picks: &[u16], upper: bool) -> (String, String) {
    let mut alphabet: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    alphabet.extend(format.extra_chars.chars());
    let len = len.clamp(format.min_len, format.max_len.unwrap_or(format.min_len + 40));
    let mut token: Vec<char> =
        (0..len).map(|i| alphabet[usize::from(picks[i % picks.len()]) % alphabet.len()]).collect();
    // The classes it needs, after its first character (an uppercase letter counts only there).
    for (at, class) in
        ["digit", "lower", "upper"].iter().enumerate().filter(|(_, c)| format.needs.iter().any(|n| n == *c))
    {
        token[(1 + at) % len.max(1)] = match *class {
            "digit" => '7',
            "lower" => 'q',
            _ => 'K',
        };
    }
    let prefix = if format.ignore_case && upper { format.prefix.to_uppercase() } else { format.prefix.clone() };
    let token: String = token.into_iter().collect();
    (format!("{prefix}{token}"), token)
}

proptest::proptest! {
    #![proptest_config(seeded::config(512))]

    /// Any key of any format the tables list, in any context and behind any obfuscation, leaves
    /// no fragment in anything the crate emits.
    #[test]
    fn no_key_of_any_format_survives(
        which in proptest::prelude::any::<proptest::sample::Index>(),
        len in 0usize..80,
        picks in proptest::collection::vec(proptest::prelude::any::<u16>(), 1..64),
        upper in proptest::prelude::any::<bool>(),
        context in proptest::prelude::any::<proptest::sample::Index>(),
        hidden in proptest::prelude::any::<Option<proptest::sample::Index>>(),
        body in proptest::prelude::any::<proptest::sample::Index>(),
    ) {
        let formats = formats();
        let format = which.get(&formats);
        let (secret, token) = key_of(format, len, &picks, upper);
        let mut message = context.get(CONTEXTS).replace("{}", &secret);
        if let Some(h) = hidden {
            message = h.get(&obfuscations(&secret, &token)).clone();
        }
        let headers = headers_with(&message);
        let bodies = bodies(&message);
        let (style, status, body) = body.get(&bodies);
        let err = normalize(*style, *status, &headers, body.as_bytes());
        for text in emitted(&err) {
            assert_clean(&text, &token, &format!("{}: {message:?}", format.name));
        }
    }
}
