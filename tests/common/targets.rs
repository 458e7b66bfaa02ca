//! The body of each fuzz target, so that a saved input replays on stable exactly as it ran.
//!
//! Each takes any byte string in the [raw format](super::response) and panics when an
//! invariant fails.

use super::invariants::{check, check_json, normalize_checked, normalizer, normalizer_with, tight_limits};
use super::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode};
use llm_error_taxonomy::{
    Limits, NormalizedError, Normalizer, StreamError, StreamPhase, Style, detect, is_event_stream, table,
};

/// `normalize_raw` (and `normalize_structured`, once its input is rendered): the response is
/// normalized with default and with tight limits, every invariant is checked, and with no
/// style given the style read is the one `detect` finds.
pub fn normalize_raw(data: &[u8]) {
    let r = Response::parse(data);
    let err = normalize_checked(&normalizer(), r.style, r.status, &r.headers, r.body);
    if r.style.is_none() {
        assert_eq!(err.style(), detect(r.status, &r.headers, r.body), "normalize read another style than detect");
    }
    normalize_checked(&normalizer_with(tight_limits()), r.style, r.status, &r.headers, r.body);
}

/// `roundtrip`: the normalized JSON parses back to an equal error and serializes to the same
/// bytes, compact or pretty; and a body that parses as an envelope round-trips too.
pub fn roundtrip(data: &[u8]) {
    let r = Response::parse(data);
    let err = normalizer().normalize(r.style, r.status, &r.headers, r.body);
    check_json(&err);
    let pretty = serde_json::to_string_pretty(&err).expect("serializes");
    let back: NormalizedError = serde_json::from_str(&pretty).unwrap_or_else(|e| panic!("{e}: {pretty}"));
    assert_eq!(back, err, "the pretty form parsed back to a different error");

    if let Ok(parsed) = serde_json::from_slice::<NormalizedError>(r.body) {
        assert_eq!(parsed.status(), parsed.code().http_status());
        assert_eq!(parsed.is_retryable(), parsed.code().is_retryable());
        check_json(&parsed);
    }
}

/// `stream`: the body read as a server-sent event stream. Whichever way it is cut into chunks
/// (whole, byte by byte, or in uneven pieces), the reader reports the same result; reading it
/// twice gives the same result; a reported error meets every invariant, and its phase agrees
/// with its details and its retry safety. Run with default limits and with a small event limit.
pub fn stream(data: &[u8]) {
    let r = Response::parse(data);
    is_event_stream(&r.headers, r.body);
    check_stream(&r);
}

/// The checks of [`stream`] on one response.
fn check_stream(r: &Response<'_>) {
    let mut small = Limits::default();
    small.max_body_bytes = 64;
    for n in [normalizer(), normalizer_with(small)] {
        let whole = n.normalize_stream(r.style, r.status, &r.headers, r.body);
        assert_eq!(
            n.normalize_stream(r.style, r.status, &r.headers, r.body),
            whole,
            "the same stream read differently"
        );
        for sizes in [&[usize::MAX][..], &[1], &[3, 1, 16, 2, 7]] {
            assert_eq!(
                read_in_chunks(&n, r, sizes),
                whole,
                "cutting the stream in pieces of {sizes:?} changed the result"
            );
        }
        if let Some(e) = &whole {
            check(e.error(), n.limits());
            assert_eq!(e.error().stream_phase(), Some(e.phase()), "the details record the phase");
            assert_eq!(e.partial_output(), e.phase() == StreamPhase::MidStream);
            assert_eq!(e.error().partial_output(), e.partial_output());
            assert_eq!(e.is_retry_safe(), !e.partial_output() && e.error().is_retryable());
        }
    }
}

fn read_in_chunks(n: &Normalizer, r: &Response<'_>, sizes: &[usize]) -> Option<StreamError> {
    let mut reader = n.stream_reader(r.style, r.status, &r.headers);
    let mut rest = r.body;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, next) = rest.split_at(size.min(rest.len()));
        rest = next;
        if let Some(err) = reader.push(chunk) {
            return Some(err);
        }
    }
    reader.finish()
}

/// `eventstream`: Amazon's binary event stream. The first byte chooses how the rest is read:
/// even, as raw bytes (corrupt frames, cut frames, garbage); odd, as messages framed with valid
/// checksums, so that the fuzzer reaches the headers and payloads (`0xFF` separates messages,
/// `0xFE` a message's headers from its payload; a header is `name=value`, split at the first
/// `=`, and `;` separates headers). Either way the stream checks of [`stream`] hold, with and
/// without the content-type, for Bedrock and with no style.
pub fn eventstream(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let body = if mode % 2 == 0 { rest.to_vec() } else { frames(rest) };
    let typed: HeaderMap =
        [(http::header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.amazon.eventstream"))]
            .into_iter()
            .collect();
    for headers in [typed, HeaderMap::new()] {
        for style in [Some(Style::Bedrock), None] {
            check_stream(&Response { style, status: StatusCode::OK, headers: headers.clone(), body: &body });
        }
    }
}

/// Event-stream messages with valid checksums, from the description in [`eventstream`].
fn frames(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for message in data.split(|&b| b == 0xFF) {
        let (head, payload) = match message.iter().position(|&b| b == 0xFE) {
            Some(i) => (&message[..i], &message[i + 1..]),
            None => (message, &b""[..]),
        };
        let headers: Vec<(&[u8], &[u8])> = head
            .split(|&b| b == b';')
            .filter(|h| !h.is_empty())
            .map(|h| match h.iter().position(|&b| b == b'=') {
                Some(i) => (&h[..i], &h[i + 1..]),
                None => (h, &b""[..]),
            })
            .collect();
        out.extend(super::wire::frame(&headers, payload));
    }
    out
}

/// `paths`: the path language (`*`, element filters, top-level arrays, JSON held in strings).
/// The input's body is normalized as it is, and also placed where the deeper paths read it: as a
/// top-level array's element, as a google.rpc details entry of each `@type` the tables filter
/// on, and as JSON inside a string at every place a `|json` path decodes one; every reading, with
/// every style that declares deeper paths, meets the invariants, and `inspect` agrees with
/// `normalize` on an error status.
pub fn paths(data: &[u8]) {
    let r = Response::parse(data);
    let text = String::from_utf8_lossy(r.body);
    let as_string = serde_json::to_string(&text).expect("a JSON string");
    let mut bodies = vec![r.body.to_vec(), format!("[{text}]").into_bytes()];
    for ty in ["ErrorInfo", "RetryInfo", "QuotaFailure", "BadRequest"] {
        bodies.push(
            format!(r#"{{"error": {{"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [{{"@type": "type.googleapis.com/google.rpc.{ty}", "x": {text}}}, {text}]}}}}"#)
                .into_bytes(),
        );
    }
    bodies.push(format!(r#"{{"object": "error", "message": {as_string}}}"#).into_bytes());
    bodies.push(format!(r#"{{"error": {{"message": {as_string}, "metadata": {{"raw": {as_string}}}}}}}"#).into_bytes());
    let n = normalizer();
    for body in &bodies {
        for style in [r.style, Some(Style::Gemini), Some(Style::Vertex), Some(Style::Mistral), Some(Style::Azure), None]
        {
            let err = normalize_checked(&n, style, r.status, &r.headers, body);
            if r.status.is_client_error() || r.status.is_server_error() {
                if !is_event_stream(&r.headers, body) {
                    let inspected = n.inspect(style, r.status, &r.headers, body).expect("an error status is a failure");
                    assert_eq!(inspected, err, "inspect read an error status differently");
                }
            } else if let Some(e) = n.inspect(style, r.status, &r.headers, body) {
                check(&e, n.limits());
            }
        }
    }
}

/// `nested`: errors inside errors. The input's body is wrapped as the upstream error of each
/// gateway that carries one (OpenRouter's `metadata.raw` with each provider name its table maps,
/// LiteLLM's `<Provider>Exception - ` message) and in gateways in front of gateways, up to five
/// layers deep; every reading meets the invariants, reads alike twice, and keeps at most three
/// gateway layers.
pub fn nested(data: &[u8]) {
    let r = Response::parse(data);
    let text = String::from_utf8_lossy(r.body).into_owned();
    let openrouter = |inner: &str, provider: &str| {
        let raw = serde_json::to_string(inner).expect("a JSON string");
        format!(
            r#"{{"error": {{"message": "Provider returned error", "code": 429, "metadata": {{"raw": {raw}, "provider_name": "{provider}"}}}}}}"#
        )
    };
    let litellm = |inner: &str, provider: &str| {
        let message = serde_json::to_string(&format!(
            "litellm.RateLimitError: {provider}Exception - {inner}. Received Model Group=m"
        ))
        .expect("a JSON string");
        format!(r#"{{"error": {{"message": {message}, "type": null, "param": null, "code": "429"}}}}"#)
    };
    let mut bodies = vec![text.clone()];
    for provider in ["Anthropic", "OpenAI", "Google", "Amazon Bedrock", "Unknown"] {
        bodies.push(openrouter(&text, provider));
        bodies.push(litellm(&format!("b'{text}'"), provider));
    }
    let mut deep = text.clone();
    for layer in 0..5 {
        deep = if layer % 2 == 0 { litellm(&deep, "Openrouter") } else { openrouter(&deep, "Anthropic") };
        bodies.push(deep.clone());
    }
    let n = normalizer();
    for body in &bodies {
        for style in [r.style, Some(Style::OpenRouter), Some(Style::LiteLLM), None] {
            let err = normalize_checked(&n, style, r.status, &r.headers, body.as_bytes());
            let again = n.normalize(style, r.status, &r.headers, body.as_bytes());
            assert_eq!(again, err, "the same nested body read differently twice");
            let layers =
                err.details().iter().filter(|d| d.code.as_deref() == Some(table::reason::GATEWAY_LAYER)).count();
            assert!(layers <= 3, "{layers} gateway layers: {}", err.to_json());
        }
    }
}
