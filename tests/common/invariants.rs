//! What holds of every normalized error, whatever the input: checked by the fuzz targets, the
//! property tests, the adversarial tests and the regression replays.

use http::{HeaderMap, StatusCode};
use llm_error_taxonomy::{
    Clock, ErrorCode, Field, Limits, NormalizedError, Normalizer, StreamPhase, Style, TransportFailure, redact, table,
};
use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};
use strum::IntoEnumIterator;

/// The fixed "now" of every checked normalizer (2023-11-14T22:13:20Z), so that HTTP-dates
/// and Unix times in headers give the same delay on every run.
pub const NOW: u64 = 1_700_000_000;

/// A normalizer with default limits and the fixed clock.
pub fn normalizer() -> Normalizer {
    Normalizer::new().with_clock(Clock::Fixed(UNIX_EPOCH + Duration::from_secs(NOW)))
}

/// A normalizer with `limits` and the fixed clock.
pub fn normalizer_with(limits: Limits) -> Normalizer {
    normalizer().with_limits(limits)
}

/// Small limits, so that every cap is reached by small inputs.
pub fn tight_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_body_bytes = 512;
    limits.max_message_bytes = 24;
    limits.max_field_bytes = 7;
    limits.max_details = 2;
    limits.max_retry_after = Duration::from_secs(90);
    limits
}

/// Normalizes twice, checks that both runs give byte-identical JSON and that every
/// invariant holds, and returns the error.
pub fn normalize_checked(
    normalizer: &Normalizer,
    style: Option<Style>,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> NormalizedError {
    let first = normalizer.normalize(style, status, headers, body);
    let second = normalizer.normalize(style, status, headers, body);
    let json = first.to_json();
    assert_eq!(json, second.to_json(), "the same input gave different output");
    check(&first, normalizer.limits());
    assert_eq!(first.upstream().status, Some(status.as_u16()), "upstream.status is the response's");
    if let Some(style) = style {
        assert_eq!(first.style(), Some(style), "a given style is kept");
    }
    first
}

/// Every invariant of one normalized error produced under `limits`.
pub fn check(err: &NormalizedError, limits: &Limits) {
    let code = err.code();
    assert!(ErrorCode::iter().any(|c| c == code), "{code:?} is one of the 12");
    assert_eq!(err.status(), code.http_status(), "status is the code's own");
    assert_eq!(err.is_retryable(), code.is_retryable(), "retryable is the code's own");

    check_json(err);

    let message = err.message();
    assert!(!message.is_empty(), "a message is always given");
    assert!(
        message == code.default_message() || message.len() <= limits.max_message_bytes,
        "message over {} bytes: {} bytes",
        limits.max_message_bytes,
        message.len()
    );
    present(message, usize::MAX);

    assert!(err.details().len() <= limits.max_details, "{} details over the cap", err.details().len());
    for d in err.details() {
        for s in [&d.field, &d.code].into_iter().flatten() {
            // A rule's reason and field are the tables' own words, not upstream text.
            present(s, if from_rules(s) { usize::MAX } else { limits.max_field_bytes });
        }
        if let Some(m) = &d.message {
            present(m, limits.max_message_bytes);
        }
        for (k, v) in &d.figures {
            within(k, if from_rules(k) { usize::MAX } else { limits.max_field_bytes });
            if let serde_json::Value::String(s) = v {
                within(s, if from_rules(s) { usize::MAX } else { limits.max_field_bytes });
            }
            assert!(!v.is_object() && !v.is_array() && !v.is_null(), "a figure is a scalar: {v}");
        }
    }

    if let Some(delay) = err.retry_after() {
        assert!(code.is_retryable(), "retry_after on {code}, which is not retryable");
        assert!(delay <= limits.max_retry_after, "retry_after {delay:?} over the clamp");
    }

    if let Some(id) = err.request_id() {
        present(id, limits.max_field_bytes);
    }
    let up = err.upstream();
    for s in [&up.code, &up.type_, &up.provider].into_iter().flatten() {
        present(s, limits.max_field_bytes);
    }
    if let Some(s) = up.upstream_status {
        assert!((100..=599).contains(&s), "upstream_status {s} is not an HTTP status");
    }
}

/// The envelope is UTF-8 JSON with one of the 12 codes and that code's status and retryable
/// flag, and parses back to an equal error that serializes to the same bytes.
pub fn check_json(err: &NormalizedError) {
    let json = err.to_json();
    let serde = serde_json::to_string(err).expect("serializes");
    assert_eq!(json, serde, "the envelope is not what serde writes");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("invalid JSON ({e}): {json}"));
    let body = &value["error"];
    let code = body["code"].as_str().unwrap_or_else(|| panic!("no code: {json}"));
    let parsed: ErrorCode = code.parse().unwrap_or_else(|_| panic!("{code} is not one of the 12"));
    assert_eq!(parsed, err.code());
    assert_eq!(body["status"].as_u64(), Some(u64::from(parsed.status_u16())), "{json}");
    assert_eq!(body["retryable"].as_bool(), Some(parsed.is_retryable()), "{json}");

    let back: NormalizedError =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("does not parse back ({e}): {json}"));
    assert_eq!(&back, err, "parsed back to a different error: {json}");
    assert_eq!(back.to_json(), json, "re-serialized differently");
}

/// The names of the figures the crate writes into a details entry of its own (a gateway layer's,
/// a stream's, a transport failure's).
const CRATE_FIGURES: &[&str] = &[
    "gateway",
    "provider_style",
    "gateway_code",
    "gateway_type",
    "finish_reason",
    "phase",
    "partial_output",
    "failure",
];

/// Whether `s` is the crate's own word rather than upstream text, which the limits do not cut: a
/// reason or a rule's field, a field name (the figures a rule's detail carries, such as
/// `model_max_tokens`), a style's wire name, or the name of a figure the crate writes.
fn from_rules(s: &str) -> bool {
    static WORDS: OnceLock<BTreeSet<&'static str>> = OnceLock::new();
    WORDS
        .get_or_init(|| {
            let rules = table::all().flat_map(|t| t.rules).flat_map(|r| [r.then.reason, r.then.field]).flatten();
            rules
                .chain(table::reason::ALL.iter().copied())
                .chain(Field::iter().map(Field::as_str))
                .chain(Style::iter().map(Style::as_str))
                .chain(CRATE_FIGURES.iter().copied())
                .chain([StreamPhase::BeforeFirstToken.as_str(), StreamPhase::MidStream.as_str()])
                .chain(TransportFailure::iter().map(<&str>::from))
                .collect()
        })
        .contains(s)
}

/// A string within `max` bytes, emitted clean.
fn within(s: &str, max: usize) {
    assert!(s.len() <= max, "{} bytes over the cap of {max}: {s:?}", s.len());
    emitted(s);
}

/// An optional string that is given: within `max` bytes, clean, and not empty (an empty
/// string is left out instead).
fn present(s: &str, max: usize) {
    assert!(!s.is_empty(), "an empty string is emitted instead of being left out");
    within(s, max);
}

/// Emitted text: no control or bidirectional-override characters, no secret left to redact,
/// no surrounding whitespace.
pub fn emitted(s: &str) {
    assert!(
        !s.chars().any(|c| c.is_control()
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' | '\u{FEFF}')),
        "control character emitted: {s:?}"
    );
    assert_eq!(redact(s), s, "a secret was emitted");
    assert_eq!(s.trim(), s, "surrounding whitespace emitted: {s:?}");
}
