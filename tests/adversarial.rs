//! Hostile and malformed responses: each is normalized twice under the shared invariants
//! (`tests/common/invariants.rs`) and classified as the policy says.

mod common;

use common::invariants::{NOW, normalize_checked, normalizer, normalizer_with, tight_limits};
use common::vocab::{http_date, vocab};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::{ErrorCode, Limits, NormalizedError, Style};
use std::time::Duration;
use strum::IntoEnumIterator;

const MIB: usize = 1024 * 1024;

fn styles() -> Vec<Option<Style>> {
    std::iter::once(None).chain(Style::iter().map(Some)).collect()
}

/// Normalized with default limits, checked, for every style and with none.
fn each_style(status: u16, headers: &HeaderMap, body: &[u8]) -> Vec<NormalizedError> {
    let status = StatusCode::from_u16(status).expect("a status");
    let n = normalizer();
    let tight = normalizer_with(tight_limits());
    styles()
        .into_iter()
        .map(|style| {
            normalize_checked(&tight, style, status, headers, body);
            normalize_checked(&n, style, status, headers, body)
        })
        .collect()
}

/// Like [`each_style`], with the reading beside each result.
fn each_reading(status: u16, headers: &HeaderMap, body: &[u8]) -> Vec<(Option<Style>, NormalizedError)> {
    styles().into_iter().zip(each_style(status, headers, body)).collect()
}

/// A reading's fallback by status: the first status-only rule of its compiled table.
fn fallback(style: Option<Style>, status: u16) -> ErrorCode {
    let table = style.map_or(llm_error_taxonomy::table::StyleTable::generic(), Style::table);
    let status = if (400..=599).contains(&status) { status } else { 500 };
    table
        .rules
        .iter()
        .find(|r| r.when.is_status_only() && r.when.status().iter().any(|p| p.matches(status)))
        .map_or(ErrorCode::InternalError, |r| r.then.code)
}

/// The code of a response with no usable body: by status alone.
fn by_status(status: u16) -> ErrorCode {
    let n = normalizer();
    normalize_checked(&n, None, StatusCode::from_u16(status).expect("a status"), &HeaderMap::new(), b"").code()
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| {
            (HeaderName::from_bytes(k.as_bytes()).expect("a name"), HeaderValue::from_str(v).expect("a value"))
        })
        .collect()
}

fn one(style: Option<Style>, status: u16, headers: &HeaderMap, body: &[u8]) -> NormalizedError {
    let status = StatusCode::from_u16(status).expect("a status");
    normalize_checked(&normalizer(), style, status, headers, body)
}

#[test]
fn a_16_mib_body_is_classified_by_status_without_being_parsed() {
    let mut body = br#"{"error": {"code": "spending_limit_exceeded", "message": ""#.to_vec();
    body.resize(16 * MIB, b'a');
    body.extend_from_slice(b"\"}}");
    for err in each_style(429, &HeaderMap::new(), &body) {
        assert_eq!(err.code(), ErrorCode::RateLimited, "by status, not by the unread code");
        assert_eq!(err.message(), ErrorCode::RateLimited.default_message());
        assert_eq!(err.upstream().code, None);
    }
    // Under a limit that admits it, the same body is read, and its message is capped.
    let mut limits = Limits::default();
    limits.max_body_bytes = 32 * MIB;
    let err = normalize_checked(
        &normalizer_with(limits),
        Some(Style::ModelBridge),
        StatusCode::TOO_MANY_REQUESTS,
        &HeaderMap::new(),
        &body,
    );
    assert_eq!(err.code(), ErrorCode::InsufficientBalance);
    assert_eq!(err.message().len(), Limits::default().max_message_bytes);
}

#[test]
fn nesting_100_000_deep_is_read_without_exhausting_the_stack() {
    let deep = |open: &str, close: &str| {
        let mut s = String::from(r#"{"error": {"code": "spending_limit_exceeded", "message": "m", "nested": "#);
        s.push_str(&open.repeat(100_000));
        s.push('0');
        s.push_str(&close.repeat(100_000));
        s.push_str("}}");
        s
    };
    // Under a key no table reads, the nesting is skipped without recursion and the rest is read.
    for body in [deep("[", "]"), deep(r#"{"a":"#, "}")] {
        each_style(429, &HeaderMap::new(), body.as_bytes());
        assert_eq!(
            one(Some(Style::ModelBridge), 429, &HeaderMap::new(), body.as_bytes()).code(),
            ErrorCode::InsufficientBalance
        );
    }
    // Where a field is read, a nested value is not what the tables read: it is skipped the same
    // way, and the response is classified without it.
    for open in ["[", r#"{"field":"#] {
        let close = if open == "[" { "]" } else { "}" };
        for (path, want) in [
            (r#"{"error": {"code": "spending_limit_exceeded", "message": "#, ErrorCode::InsufficientBalance),
            (r#"{"error": {"code": "INPUT_VALIDATION_ERROR", "details": ["#, ErrorCode::InputValidationError),
        ] {
            let mut body = String::from(path);
            body.push_str(&open.repeat(100_000));
            body.push('0');
            body.push_str(&close.repeat(100_000));
            body.push_str(if path.ends_with('[') { "]}}" } else { "}}" });
            each_style(429, &HeaderMap::new(), body.as_bytes());
            let style = if want == ErrorCode::InputValidationError { Style::ModelRoute } else { Style::ModelBridge };
            let err = one(Some(style), 429, &HeaderMap::new(), body.as_bytes());
            assert_eq!(err.code(), want, "{path}{open}...");
            assert_eq!(err.message(), want.default_message());
            // Cut short, the same body is unusable.
            body.truncate(body.len() / 2);
            for err in each_style(429, &HeaderMap::new(), body.as_bytes()) {
                assert_eq!(err.code(), by_status(429), "{path}{open}... cut short");
            }
        }
    }
}

#[test]
fn invalid_utf8_where_a_field_is_read_makes_the_body_unusable() {
    let bodies: [&[u8]; 2] = [
        b"{\"error\": {\"code\": \"spending_limit_exceeded\", \"message\": \"bad \xff\xfe bytes\"}}",
        b"{\"error\": {\"code\": \"spending_limit_\xc3\x28\"}}",
    ];
    for body in bodies {
        for err in each_style(429, &HeaderMap::new(), body) {
            assert_eq!(err.code(), ErrorCode::RateLimited, "{:?}", String::from_utf8_lossy(body));
            assert_eq!(err.upstream().code, None);
        }
    }
    // A key or value no table reads is skipped unread, invalid bytes and all.
    for body in [
        &b"{\"error\": {\"code\": \"spending_limit_exceeded\", \"other\": \"\xc3\x28\"}}"[..],
        b"{\"error\": {\"code\": \"spending_limit_exceeded\", \"\xed\xa0\x80\": 1}}",
    ] {
        each_style(429, &HeaderMap::new(), body);
        let err = one(Some(Style::ModelBridge), 429, &HeaderMap::new(), body);
        assert_eq!(err.code(), ErrorCode::InsufficientBalance, "{:?}", String::from_utf8_lossy(body));
    }
    // Invalid UTF-8 in a header value: a request id is kept, its invalid bytes replaced (a
    // gateway still has something to quote); a delay that does not read is no delay.
    let mut h = HeaderMap::new();
    h.insert("x-request-id", HeaderValue::from_bytes(b"req-\xff\xfe").expect("obs-text is a valid header value"));
    h.insert("retry-after", HeaderValue::from_bytes(b"1\xff").expect("a value"));
    let err = one(Some(Style::ModelBridge), 429, &h, b"");
    assert_eq!(
        (err.code(), err.request_id(), err.retry_after()),
        (ErrorCode::RateLimited, Some("req-\u{FFFD}\u{FFFD}"), None)
    );
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let body = br#"{"error": {"message": "Spending limit reached", "type": "rate_limit_error", "code": "spending_limit_exceeded"}}"#;
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(body);
    for (a, b) in each_style(429, &HeaderMap::new(), body).iter().zip(each_style(429, &HeaderMap::new(), &with_bom)) {
        assert_eq!(a.to_json(), b.to_json());
    }
    assert_eq!(one(None, 429, &HeaderMap::new(), &with_bom).code(), ErrorCode::InsufficientBalance);
    // A BOM anywhere else is not whitespace: the body is unusable.
    let err = one(Some(Style::ModelBridge), 429, &HeaderMap::new(), b" \xEF\xBB\xBF{}");
    assert_eq!(err.code(), ErrorCode::RateLimited);
}

#[test]
fn a_duplicate_key_keeps_its_last_value() {
    let body = br#"{"error": {"code": "invalid_api_key", "message": "first", "code": "spending_limit_exceeded", "message": "second"}}"#;
    let err = one(Some(Style::ModelBridge), 429, &HeaderMap::new(), body);
    assert_eq!(err.code(), ErrorCode::InsufficientBalance);
    assert_eq!(err.message(), "second");
    let body = br#"{"error": {"code": "spending_limit_exceeded", "code": null}}"#;
    let err = one(Some(Style::ModelBridge), 429, &HeaderMap::new(), body);
    assert_eq!(err.code(), ErrorCode::RateLimited, "a null last value leaves the code absent");
    each_style(429, &HeaderMap::new(), body);
}

#[test]
fn a_code_given_as_a_number_is_not_a_code() {
    let body = br#"{"error": {"code": 429, "message": "Too many"}}"#;
    for err in each_style(400, &HeaderMap::new(), body) {
        assert_eq!(err.code(), ErrorCode::InputValidationError, "by status 400, not by the number");
    }
    let err = one(Some(Style::ModelBridge), 400, &HeaderMap::new(), body);
    assert_eq!(err.upstream().code.as_deref(), Some("429"), "kept as upstream text");
}

#[test]
fn a_status_given_as_a_string_is_read_as_a_number() {
    // A MoltbotDen error inside a 200 stream repeats its status; as text it still counts.
    let body = br#"{"error": {"code": "something_new", "message": "Slow down", "status": "429"}}"#;
    let err = one(Some(Style::MoltbotDen), 200, &HeaderMap::new(), body);
    assert_eq!(err.code(), ErrorCode::RateLimited);
    for junk in [r#""four hundred""#, "4.29e2", "true", "[429]", "1e308", "-429", "429.5"] {
        let body = format!(r#"{{"error": {{"code": "something_new", "message": "m", "status": {junk}}}}}"#);
        let err = one(Some(Style::MoltbotDen), 200, &HeaderMap::new(), body.as_bytes());
        let want = if junk == "4.29e2" { ErrorCode::RateLimited } else { ErrorCode::GenerationFailed };
        assert_eq!(err.code(), want, "status {junk}: an error without an error status is a 500");
        each_style(200, &HeaderMap::new(), body.as_bytes());
    }
}

#[test]
fn retry_after_of_the_wrong_type_or_range() {
    let with = |v: &str| {
        let body =
            format!(r#"{{"error": {{"code": "rate_limit_exceeded", "message": "Slow down", "retry_after": {v}}}}}"#);
        each_style(429, &HeaderMap::new(), body.as_bytes());
        one(Some(Style::MoltbotDen), 429, &HeaderMap::new(), body.as_bytes())
    };
    let max = Limits::default().max_retry_after;
    let cases: [(&str, Option<Duration>); 9] = [
        ("12", Some(Duration::from_secs(12))),
        ("1.2", Some(Duration::from_secs(2))),
        ("-5", None),
        ("1e308", Some(max)),
        ("-1e308", None),
        (r#""12""#, Some(Duration::from_secs(12))),
        (r#""soon""#, None),
        (r#""NaN""#, None),
        ("[12]", None),
    ];
    for (v, want) in cases {
        let err = with(v);
        assert_eq!(err.code(), ErrorCode::RateLimited, "{v}");
        assert_eq!(err.retry_after(), want, "retry_after {v}");
    }
    // NaN and Infinity are not JSON: the whole body is unusable, and read by status.
    for v in ["NaN", "Infinity", "1e999"] {
        let err = with(v);
        assert_eq!((err.code(), err.upstream().code.as_deref()), (ErrorCode::RateLimited, None), "{v}");
    }
}

#[test]
fn truncated_json_is_no_usable_body() {
    let body = br#"{"error": {"code": "spending_limit_exceeded", "message": "Spending limit reached", "type": "rate_limit_error"}}"#;
    let want = by_status(429);
    for end in 0..body.len() {
        let err = one(Some(Style::ModelBridge), 429, &HeaderMap::new(), &body[..end]);
        assert_eq!(err.code(), want, "cut at {end}");
        assert_eq!(err.upstream().code, None, "cut at {end}");
        each_style(429, &HeaderMap::new(), &body[..end]);
    }
    assert_eq!(one(Some(Style::ModelBridge), 429, &HeaderMap::new(), body).code(), ErrorCode::InsufficientBalance);
}

#[test]
fn an_empty_body_is_classified_by_status() {
    let table = [
        (400, ErrorCode::InputValidationError),
        (401, ErrorCode::InternalError),
        (402, ErrorCode::InsufficientBalance),
        (404, ErrorCode::InternalError),
        (408, ErrorCode::GenerationTimeout),
        (418, ErrorCode::InputValidationError),
        (429, ErrorCode::RateLimited),
        (500, ErrorCode::GenerationFailed),
        (502, ErrorCode::ModelUnavailable),
        (503, ErrorCode::ModelUnavailable),
        (504, ErrorCode::GenerationTimeout),
        (529, ErrorCode::ModelOverloaded),
        (599, ErrorCode::InternalError),
        (200, ErrorCode::GenerationFailed),
    ];
    for (status, want) in table {
        // The generic reading gives the policy's table; each style its own fallbacks.
        assert_eq!(fallback(None, status), want, "{status}");
        for body in [&b""[..], b"   \r\n\t ", b"{}"] {
            for (style, err) in each_reading(status, &HeaderMap::new(), body) {
                let want = fallback(style, status);
                assert_eq!(err.code(), want, "{style:?} {status} {:?}", String::from_utf8_lossy(body));
                assert_eq!(err.message(), want.default_message());
            }
        }
    }
}

#[test]
fn null_everywhere_is_absent() {
    // Every path any table reads, set to null.
    let mut root = common::vocab::Node::Object(Vec::new());
    for path in &vocab().paths {
        root.insert(path, common::vocab::Node::Raw("null".into()));
    }
    let body = root.to_json(false);
    for err in each_style(429, &HeaderMap::new(), body.as_bytes()) {
        assert_eq!(err.code(), ErrorCode::RateLimited, "{body}");
        assert!(err.details().iter().all(|d| d.field.is_none() && d.message.is_none()));
    }
    for body in ["null", r#"{"error": null}"#, r#"{"error": {"details": [null, null]}}"#, "[null]"] {
        for (style, err) in each_reading(503, &HeaderMap::new(), body.as_bytes()) {
            assert_eq!(err.code(), fallback(style, 503), "{style:?} {body}");
        }
    }
}

#[test]
fn details_are_capped_at_100_000_entries() {
    let entry = r#"{"field": "messages", "code": "TOO_LONG", "message": "too long", "max": 10}"#;
    let mut body = String::from(r#"{"error": {"code": "INPUT_VALIDATION_ERROR", "message": "Invalid", "details": ["#);
    body.push_str(&vec![entry; 100_000].join(","));
    body.push_str("]}}");
    let mut limits = Limits::default();
    limits.max_body_bytes = 16 * MIB;
    let err = normalize_checked(
        &normalizer_with(limits),
        Some(Style::ModelRoute),
        StatusCode::BAD_REQUEST,
        &HeaderMap::new(),
        body.as_bytes(),
    );
    assert_eq!(err.code(), ErrorCode::InputValidationError);
    assert_eq!(err.details().len(), Limits::default().max_details);
    assert_eq!(err.details()[3].field.as_deref(), Some("messages"));
    // Over the default body limit, the same body is read by status.
    assert!(body.len() > Limits::default().max_body_bytes);
    for err in each_style(400, &HeaderMap::new(), body.as_bytes()) {
        assert_eq!(err.code(), ErrorCode::InputValidationError);
        assert!(err.details().len() <= 1, "only the status rule's own detail");
    }
}

#[test]
fn huge_headers_are_bounded() {
    let long_id = "r".repeat(256 * 1024);
    let digits = "9".repeat(100_000);
    let mut h = headers(&[("x-request-id", &long_id), ("retry-after", &digits), ("retry-after-ms", &digits)]);
    for i in 0..10_000 {
        h.append(
            HeaderName::from_bytes(format!("x-junk-{i}").as_bytes()).expect("a name"),
            HeaderValue::from_static("v"),
        );
    }
    for err in each_style(429, &h, br#"{"error": {"message": "Too many requests"}}"#) {
        assert_eq!(err.code(), ErrorCode::RateLimited);
        assert_eq!(err.request_id().map(str::len), Some(Limits::default().max_field_bytes));
        // 10^100000 seconds is past the clamp; a delay that big is not a number at all.
        assert!(err.retry_after().is_none_or(|d| d <= Limits::default().max_retry_after));
    }
    let h = headers(&[("retry-after", &format!("{}", 10u64.pow(15)))]);
    assert_eq!(one(None, 429, &h, b"").retry_after(), Some(Limits::default().max_retry_after));
}

#[test]
fn an_html_error_page_from_a_proxy_is_read_by_status() {
    let page = br#"<html>
<head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>
<p>{"error": {"code": "spending_limit_exceeded"}}</p></body>
</html>"#;
    let h = headers(&[("content-type", "text/html"), ("x-request-id", "req_html")]);
    for (style, err) in each_reading(502, &h, page) {
        assert_eq!(err.code(), fallback(style, 502), "{style:?}");
        assert_eq!(err.message(), fallback(style, 502).default_message());
        assert_eq!(err.upstream().code, None);
    }
    assert_eq!(fallback(None, 502), ErrorCode::ModelUnavailable);
    assert_eq!(one(None, 502, &h, page).style(), None);
    assert_eq!(one(Some(Style::ModelBridge), 502, &h, page).style(), Some(Style::ModelBridge));
    assert_eq!(one(Some(Style::ModelBridge), 502, &h, page).request_id(), Some("req_html"));
    assert_eq!(one(None, 504, &h, page).code(), ErrorCode::GenerationTimeout);
}

#[test]
fn retry_after_in_the_past_is_zero_and_far_future_is_clamped() {
    let max = Limits::default().max_retry_after;
    let now = NOW as i64;
    let cases = [
        (http_date(now - 3600), Some(Duration::ZERO)),
        (http_date(0), Some(Duration::ZERO)),
        (http_date(now + 30), Some(Duration::from_secs(30))),
        (http_date(now + 10 * 365 * 86_400), Some(max)),
        ("Fri, 31 Dec 9999 23:59:59 GMT".to_owned(), Some(max)),
        ((now - 3600).to_string(), Some(max)),
    ];
    for (value, want) in cases {
        let h = headers(&[("retry-after", &value)]);
        let err = one(Some(Style::ModelBridge), 429, &h, b"");
        assert_eq!(err.retry_after(), want, "Retry-After: {value}");
        each_style(429, &h, b"");
        // The same date measured from the response's own Date header, whatever the clock.
        let h = headers(&[("retry-after", &value), ("date", &http_date(now))]);
        let err = normalize_checked(&normalizer_with(Limits::default()), None, StatusCode::TOO_MANY_REQUESTS, &h, b"");
        assert_eq!(err.retry_after(), want, "Retry-After: {value} with a Date");
    }
    // X-RateLimit-Reset as a Unix time in the past or far ahead.
    for (reset, want) in [((now - 60).to_string(), Some(Duration::ZERO)), ((now + 10_000_000).to_string(), Some(max))] {
        let err = one(None, 429, &headers(&[("x-ratelimit-reset", &reset)]), b"");
        assert_eq!(err.retry_after(), want, "X-RateLimit-Reset: {reset}");
    }
}

#[test]
fn a_figure_never_takes_the_name_of_a_detail_member() {
    // Keys that clean (control characters, spaces) or cut (to `max_field_bytes`) to `field`,
    // `code` or `message` would repeat that member in the JSON.
    let body = br#"{"error": {"code": "INPUT_VALIDATION_ERROR", "message": "Invalid", "details": [
        {"field": "model", "code": "BAD", "message": "bad", "code\u0000": 1, " message ": "x", "fieldwork": 2, "max": 3}]}}"#;
    for limits in [Limits::default(), tight_limits()] {
        let err = normalize_checked(
            &normalizer_with(limits),
            Some(Style::ModelRoute),
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            body,
        );
        let figures: Vec<&str> = err.details()[0].figures.keys().map(String::as_str).collect();
        assert!(figures.iter().all(|k| !["field", "code", "message"].contains(k)), "{figures:?}");
        assert!(figures.contains(&"max"));
    }
    // The same from an envelope that is parsed rather than normalized.
    let envelope = br#"{"error": {"code": "RATE_LIMITED", "message": "m", "details": [{"code": "A", "code ": 1, "message\t": 2}]}}"#;
    let err: NormalizedError = serde_json::from_slice(envelope).expect("an envelope");
    assert!(err.details()[0].figures.is_empty(), "{:?}", err.details()[0].figures);
    common::invariants::check_json(&err);
}
