//! Transport failures: each becomes the error `taxonomy/transport.json` gives it, with the stream
//! phase the gateway's delivery implies, and the retry advice follows from both.

use llm_error_taxonomy::{
    ErrorCode, FallbackTarget, GiveUp, NormalizedError, Normalizer, RetryAdvice, RetryPolicy, StreamPhase, Style,
    TransportFailure, transport_failure,
};
use serde_json::Value;
use strum::IntoEnumIterator;

fn table() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/taxonomy/transport.json")).expect("table");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    v["failures"].as_array().expect("failures").clone()
}

#[test]
fn each_failure_is_the_error_its_table_row_gives() {
    let rows = table();
    let failures: Vec<TransportFailure> = TransportFailure::iter().collect();
    assert_eq!(rows.len(), failures.len());
    for (row, failure) in rows.iter().zip(failures) {
        assert_eq!(row["failure"], failure.as_str());
        assert_eq!(failure.as_str().parse::<TransportFailure>(), Ok(failure));
        for delivered in [false, true] {
            let failed = transport_failure(failure, delivered);
            let err = failed.error();
            assert_eq!(err.code().as_str(), row["code"], "{failure}");
            assert_eq!(err.message(), row["message"], "{failure}");
            assert_eq!(err.reason(), row["reason"].as_str(), "{failure}");
            let detail = &err.details()[0];
            assert_eq!(detail.figures["failure"], failure.as_str());
            assert_eq!(detail.figures["phase"], failed.phase().as_str());
            assert_eq!(detail.figures["partial_output"], failed.partial_output());
            assert!(err.rule().is_none(), "no table rule: the transport table decided");
            // It survives the envelope, and the same input gives the same bytes.
            let json = err.to_json();
            assert_eq!(serde_json::from_str::<NormalizedError>(&json).expect("an envelope"), *err);
            assert_eq!(transport_failure(failure, delivered).error().to_json(), json);
        }
    }
}

#[test]
fn only_a_failure_after_the_headers_with_output_delivered_is_mid_stream() {
    for failure in TransportFailure::iter() {
        assert_eq!(transport_failure(failure, false).phase(), StreamPhase::BeforeFirstToken, "{failure}");
        let want = if failure.after_headers() { StreamPhase::MidStream } else { StreamPhase::BeforeFirstToken };
        assert_eq!(transport_failure(failure, true).phase(), want, "{failure}");
    }
    let before: Vec<&str> = TransportFailure::iter().filter(|f| !f.after_headers()).map(|f| f.as_str()).collect();
    assert!(
        before.contains(&"connect_timeout") && before.contains(&"dns") && before.contains(&"timeout_before_headers")
    );
}

#[test]
fn the_policy_of_the_table() {
    use TransportFailure as T;
    // Unreachable: retry, or another provider.
    for f in [T::ConnectTimeout, T::ConnectionRefused, T::Dns, T::ResetBeforeHeaders] {
        assert_eq!(f.code(), ErrorCode::ServiceUnavailable, "{f}");
    }
    assert_eq!(T::TimeoutBeforeHeaders.code(), ErrorCode::GenerationTimeout);
    assert_eq!(T::TimeoutMidBody.code(), ErrorCode::GenerationTimeout);
    assert_eq!(T::BodyCutShort.reason(), llm_error_taxonomy::reason::STREAM_DROPPED);
    // What a retry cannot fix.
    assert!(!T::Tls.code().is_retryable() && !T::BodyTooLarge.code().is_retryable());
}

#[test]
fn retry_advice_follows_the_code_and_the_phase() {
    let policy = RetryPolicy::default();
    let mut random = || 0.0;
    for failure in TransportFailure::iter() {
        let before = transport_failure(failure, false);
        let advice = policy.advise(before.error(), 1, &mut random);
        assert_eq!(advice.is_retry(), failure.code().is_retryable(), "{failure}: {advice:?}");
        assert_eq!(before.is_retry_safe(), failure.code().is_retryable(), "{failure}");
        if failure.after_headers() && failure.code().is_retryable() {
            let mid = transport_failure(failure, true);
            assert!(!mid.is_retry_safe(), "{failure}");
            assert_eq!(
                policy.advise(mid.error(), 1, &mut random),
                RetryAdvice::GiveUp(GiveUp::PartialOutput),
                "{failure}"
            );
        }
    }
    // A timed-out generation may be worth another model.
    let timed_out = transport_failure(TransportFailure::TimeoutBeforeHeaders, false);
    assert_eq!(timed_out.error().fallback().target(), Some(FallbackTarget::AnotherModel));
}

#[test]
fn the_style_is_kept_and_overrides_apply() {
    let n = Normalizer::new().remap_reason("CONNECT_TIMEOUT", ErrorCode::ModelUnavailable);
    let failed = n.transport_failure(Some(Style::OpenAI), TransportFailure::ConnectTimeout, false);
    assert_eq!(failed.error().style(), Some(Style::OpenAI));
    assert_eq!(failed.error().code(), ErrorCode::ModelUnavailable);
    assert_eq!(failed.error().message(), TransportFailure::ConnectTimeout.message());
}
