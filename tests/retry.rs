//! Retry advice: backoff, jitter, caps, attempts, `retry_after`, `x-should-retry`, streams.

use http::{HeaderMap, HeaderValue, StatusCode};
use llm_error_taxonomy::{
    Clock, ErrorCode, FallbackReason, GiveUp, NormalizedError, Normalizer, RetryAdvice, RetryPolicy, Style, normalize,
};
use std::time::{Duration, UNIX_EPOCH};
use strum::IntoEnumIterator;

fn zero() -> impl FnMut() -> f64 {
    || 0.0
}

fn secs(s: u64) -> RetryAdvice {
    RetryAdvice::Retry { after: Duration::from_secs(s) }
}

#[test]
fn the_default_policy_is_the_seeds_advice() {
    // 000:93-97: wait 1 s, 2 s, 4 s, give up after 3-5 attempts.
    let p = RetryPolicy::default();
    assert_eq!(p, RetryPolicy::DEFAULT);
    assert_eq!((p.base, p.factor, p.max_attempts), (Duration::from_secs(1), 2.0, 4));
    let err = NormalizedError::new(ErrorCode::GenerationFailed);
    let advice: Vec<RetryAdvice> = (1..=5).map(|n| p.advise(&err, n, &mut zero())).collect();
    assert_eq!(
        advice,
        [
            secs(1),
            secs(2),
            secs(4),
            RetryAdvice::GiveUp(GiveUp::AttemptsExhausted { attempts: 4 }),
            RetryAdvice::GiveUp(GiveUp::AttemptsExhausted { attempts: 5 }),
        ]
    );
}

#[test]
fn every_retryable_code_is_retried_and_no_other() {
    let p = RetryPolicy::default();
    for code in ErrorCode::iter() {
        let advice = p.advise(&NormalizedError::new(code), 1, &mut zero());
        if code.is_retryable() {
            assert_eq!(advice, secs(1), "{code}");
        } else {
            assert_eq!(advice, RetryAdvice::GiveUp(GiveUp::NotRetryable), "{code}");
        }
    }
}

#[test]
fn billing_errors_sent_as_429_are_never_retried() {
    let body = br#"{"error": {"message": "Spending limit reached for this API key", "type": "rate_limit_error", "code": "spending_limit_exceeded"}}"#;
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", HeaderValue::from_static("1"));
    headers.insert("x-should-retry", HeaderValue::from_static("true"));
    let err = normalize(Some(Style::ModelBridge), StatusCode::TOO_MANY_REQUESTS, &headers, body);
    assert_eq!(err.upstream().should_retry, Some(true));
    assert_eq!(RetryPolicy::default().advise(&err, 1, &mut zero()), RetryAdvice::GiveUp(GiveUp::NotRetryable));
}

#[test]
fn jitter_comes_from_the_callers_source_and_is_bounded() {
    let p = RetryPolicy::default();
    let err = NormalizedError::new(ErrorCode::RateLimited);
    for (r, want) in
        [(0.0, 2000), (0.25, 2250), (0.999, 2999), (1.0, 3000), (7.0, 3000), (-3.0, 2000), (f64::NAN, 2000)]
    {
        assert_eq!(p.advise(&err, 2, &mut || r), RetryAdvice::Retry { after: Duration::from_millis(want) }, "{r}");
    }
    // The same source gives the same advice.
    let seq = |seed: u64| {
        let mut s = seed;
        move || {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    };
    let run = |seed| (1..4).map(|n| p.advise(&err, n, &mut seq(seed))).collect::<Vec<_>>();
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn the_backoff_is_capped() {
    let p = RetryPolicy::default().with_max_attempts(100).with_jitter(Duration::ZERO);
    let err = NormalizedError::new(ErrorCode::ModelOverloaded);
    assert_eq!(p.advise(&err, 5, &mut zero()), secs(16));
    assert_eq!(p.advise(&err, 6, &mut zero()), secs(30));
    assert_eq!(p.advise(&err, 99, &mut zero()), secs(30));
    assert_eq!(p.backoff(u32::MAX), Duration::from_secs(30));
    let p = p.with_backoff(Duration::from_millis(500), 3.0).with_cap(Duration::from_secs(10));
    assert_eq!(p.backoff(1), Duration::from_millis(500));
    assert_eq!(p.backoff(3), Duration::from_millis(4500));
    assert_eq!(p.backoff(4), Duration::from_secs(10));
    // Attempt 0 reads as the first.
    assert_eq!(p.backoff(0), Duration::from_millis(500));
    // A factor that would shrink the backoff, or is not a number, or infinite, reads as 1.
    for factor in [0.5, 0.0, -2.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let p = p.clone().with_backoff(Duration::from_millis(500), factor);
        assert_eq!(p.backoff(3), Duration::from_millis(500), "factor {factor}");
    }
}

#[test]
fn retry_after_is_preferred_over_the_backoff() {
    let p = RetryPolicy::default();
    let body = br#"{"error": {"code": "rate_limit_exceeded", "message": "Rate limit exceeded: 60 requests per minute. Retry after 12 seconds.", "status": 429, "retry_after": 12}}"#;
    let err = normalize(Some(Style::MoltbotDen), StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body);
    assert_eq!(p.advise(&err, 1, &mut zero()), secs(12));
    assert_eq!(p.advise(&err, 3, &mut || 0.5), RetryAdvice::Retry { after: Duration::from_millis(12_500) });
    // A zero delay means right away (plus jitter).
    let err = NormalizedError::new(ErrorCode::RateLimited).with_retry_after(Duration::ZERO);
    assert_eq!(p.advise(&err, 3, &mut zero()), secs(0));
}

#[test]
fn a_retry_after_date_is_honoured() {
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", HeaderValue::from_static("Sun, 06 Nov 1994 08:50:07 GMT"));
    headers.insert("date", HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"));
    let body = br#"{"error": {"code": "RATE_LIMITED", "message": "Rate limit exceeded", "retryable": true}}"#;
    let normalizer = Normalizer::new().with_clock(Clock::Fixed(UNIX_EPOCH));
    let err = normalizer.normalize(None, StatusCode::TOO_MANY_REQUESTS, &headers, body);
    assert_eq!(RetryPolicy::default().advise(&err, 1, &mut zero()), secs(30));
}

#[test]
fn a_long_retry_after_means_give_up_now() {
    let p = RetryPolicy::default();
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", HeaderValue::from_static("3600"));
    let err = normalize(None, StatusCode::TOO_MANY_REQUESTS, &headers, b"");
    assert_eq!(
        p.advise(&err, 1, &mut zero()),
        RetryAdvice::GiveUp(GiveUp::RetryAfterTooLong { retry_after: Duration::from_secs(3600) })
    );
    let at_ceiling = NormalizedError::new(ErrorCode::RateLimited).with_retry_after(Duration::from_secs(60));
    assert_eq!(p.advise(&at_ceiling, 1, &mut zero()), secs(60));
    let patient = p.with_give_up_after(Duration::from_secs(7200));
    assert_eq!(patient.advise(&err, 1, &mut zero()), secs(3600));
}

#[test]
fn x_should_retry_false_stops_retries() {
    let mut headers = HeaderMap::new();
    headers.insert("x-should-retry", HeaderValue::from_static("false"));
    for style in
        [None, Some(Style::ModelBridge), Some(Style::ModelSwitch), Some(Style::ModelRoute), Some(Style::MoltbotDen)]
    {
        let err = normalize(style, StatusCode::INTERNAL_SERVER_ERROR, &headers, b"");
        assert!(err.is_retryable());
        assert_eq!(err.upstream().should_retry, Some(false), "{style:?}");
        assert_eq!(
            RetryPolicy::default().advise(&err, 1, &mut zero()),
            RetryAdvice::GiveUp(GiveUp::UpstreamSaysNo),
            "{style:?}"
        );
    }
    // Anything but true or false is no word at all.
    headers.insert("x-should-retry", HeaderValue::from_static("maybe"));
    let err = normalize(None, StatusCode::INTERNAL_SERVER_ERROR, &headers, b"");
    assert_eq!(err.upstream().should_retry, None);
    assert!(RetryPolicy::default().advise(&err, 1, &mut zero()).is_retry());
}

#[test]
fn a_stream_that_delivered_output_is_not_retried() {
    let normalizer = Normalizer::new();
    let p = RetryPolicy::default();
    let mid = normalizer
        .normalize_stream(
            None,
            StatusCode::OK,
            &HeaderMap::new(),
            b"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n",
        )
        .unwrap();
    assert_eq!(p.advise(mid.error(), 1, &mut zero()), RetryAdvice::GiveUp(GiveUp::PartialOutput));
    let before = normalizer.normalize_stream(None, StatusCode::OK, &HeaderMap::new(), b": ping\n\n").unwrap();
    assert_eq!(p.advise(before.error(), 1, &mut zero()), secs(1));
}

#[test]
fn advice_reads_as_text() {
    assert_eq!(secs(2).to_string(), "retry after 2.000s");
    assert_eq!(RetryAdvice::GiveUp(GiveUp::NotRetryable).to_string(), "give up: the error is not retryable");
    assert_eq!(secs(2).delay(), Some(Duration::from_secs(2)));
    assert_eq!(RetryAdvice::GiveUp(GiveUp::UpstreamSaysNo).delay(), None);
}

#[test]
fn extreme_configuration_never_panics() {
    use llm_error_taxonomy::{ErrorCode, NormalizedError, RetryPolicy};
    use std::time::Duration;
    let err = NormalizedError::new(ErrorCode::RateLimited);
    for jitter in [Duration::MAX, Duration::from_secs(u64::MAX / 2), Duration::ZERO] {
        let policy = RetryPolicy::default().with_jitter(jitter);
        for r in [0.0, 0.5, 1.0, f64::NAN, f64::INFINITY, -1.0] {
            let advice = policy.advise(&err, 1, &mut || r);
            assert!(advice.is_retry(), "{jitter:?} {r}");
        }
    }
}

/// Each fallback reason says why in a sentence of its own, what to do after the `;`, and its
/// `Display` is that sentence.
#[test]
fn each_fallback_reason_says_why_in_its_own_words() {
    let mut seen = std::collections::BTreeSet::new();
    for reason in FallbackReason::iter() {
        let text = reason.description();
        assert_eq!(reason.to_string(), text, "{reason:?}");
        let (why, then) = text.split_once("; ").unwrap_or_else(|| panic!("{reason:?}: {text:?}"));
        assert!(why.starts_with("the ") || why.starts_with("upstream ") || why.starts_with("rate "), "{text:?}");
        assert!(then.len() > 10, "{text:?}");
        assert!(seen.insert(text), "{reason:?} shares its text: {text:?}");
    }
    assert_eq!(seen.len(), 12, "the twelve reasons");
    assert_eq!(
        FallbackReason::Balance.description(),
        "the balance is insufficient whatever the model; the account must be topped up"
    );
}
