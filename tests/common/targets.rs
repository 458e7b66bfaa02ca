//! The body of each fuzz target, so that a saved input replays on stable exactly as it ran.
//!
//! Each takes any byte string in the [raw format](super::response) and panics when an
//! invariant fails.

use super::invariants::{check, check_json, normalize_checked, normalizer, normalizer_with, tight_limits};
use super::response::Response;
use llm_error_taxonomy::{Limits, NormalizedError, Normalizer, StreamError, StreamPhase, detect, is_event_stream};

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
                read_in_chunks(&n, &r, sizes),
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
