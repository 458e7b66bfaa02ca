//! What a gateway does with the crate: normalize from `http` types, answer the client, remap
//! codes at run time, and decide on a fallback.

use http::{HeaderMap, HeaderValue, Response, StatusCode};
use llm_error_taxonomy::{
    Detail, ErrorCode, FallbackAdvice, FallbackReason, FallbackTarget, GiveUp, NormalizedError, Normalizer,
    REQUEST_ID_HEADER, RetryAdvice, RetryPolicy, Style, normalize, normalize_response,
};
use std::time::Duration;
use strum::IntoEnumIterator;

const OVERLOADED: &str = r#"{"error": {"code": "provider_error", "message": "The upstream provider (anthropic) returned an error. This is not a MoltbotDen issue.", "status": 500, "provider": "anthropic", "upstream_status": 529}}"#;

fn upstream<B>(status: u16, headers: &[(&'static str, &'static str)], body: B) -> Response<B> {
    let mut b = Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body).unwrap()
}

// --- http glue ------------------------------------------------------------------------------

#[test]
fn any_body_type_with_bytes_at_hand() {
    let want = normalize(None, StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new(), OVERLOADED.as_bytes());
    assert_eq!(want.code(), ErrorCode::ModelOverloaded);
    assert_eq!(normalize_response(None, upstream(500, &[], OVERLOADED)), want);
    // By reference, so the gateway keeps the response.
    let by_string = upstream(500, &[], OVERLOADED.to_owned());
    assert_eq!(normalize_response(None, &by_string), want);
    let by_vec = upstream(500, &[], OVERLOADED.as_bytes().to_vec());
    assert_eq!(normalize_response(None, &by_vec), want);
    assert_eq!(by_string.status(), by_vec.status());
    assert_eq!(normalize_response(None, upstream(500, &[], OVERLOADED.as_bytes())), want);
    let headers = HeaderMap::new();
    assert_eq!(normalize_response(None, (StatusCode::INTERNAL_SERVER_ERROR, &headers, OVERLOADED.as_bytes())), want);
}

#[test]
fn the_client_response_carries_status_type_retry_after_and_request_id() {
    let upstream = upstream(
        429,
        &[("retry-after", "12"), ("x-request-id", "req_abc")],
        r#"{"error": {"code": "rate_limit_exceeded", "message": "Rate limit exceeded", "status": 429}}"#,
    );
    let err = normalize_response(Some(Style::MoltbotDen), &upstream);
    let reply = err.to_http_response();
    assert_eq!(reply.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.headers()[http::header::CONTENT_TYPE], "application/json");
    assert_eq!(reply.headers()[http::header::RETRY_AFTER], "12");
    assert_eq!(reply.headers()[REQUEST_ID_HEADER], "req_abc");
    assert_eq!(reply.headers()["x-should-retry"], "true");
    assert_eq!(reply.headers().len(), 4);
    let body: NormalizedError = serde_json::from_slice(reply.body()).unwrap();
    assert_eq!(body, err);
}

#[test]
fn every_code_answers_with_its_own_status_and_only_known_headers() {
    for code in ErrorCode::iter() {
        let reply = NormalizedError::new(code).to_http_response();
        assert_eq!(reply.status(), code.http_status(), "{code}");
        assert_eq!(reply.headers().len(), 2, "{code}: only content-type and x-should-retry");
        assert_eq!(reply.headers()["x-should-retry"], if code.is_retryable() { "true" } else { "false" }, "{code}");
        let json: serde_json::Value = serde_json::from_slice(reply.body()).unwrap();
        assert_eq!(json["error"]["code"], code.as_str());
        assert_eq!(json["error"]["status"], code.status_u16());
        assert_eq!(json["error"]["retryable"], code.is_retryable());
    }
    // A request id that is no valid header value is percent-escaped in the header, kept whole in
    // the body.
    let err = NormalizedError::new(ErrorCode::InternalError).with_request_id("req_ünïcode");
    let reply = err.to_http_response();
    assert_eq!(reply.headers()[REQUEST_ID_HEADER], "req_%C3%BCn%C3%AFcode");
    assert!(String::from_utf8(reply.body().clone()).unwrap().contains("req_ünïcode"));
}

#[test]
fn a_gateway_error_path_end_to_end() {
    // The upstream answers 529 with an Anthropic body; the gateway retries, then falls back.
    let upstream = upstream(
        529,
        &[("x-request-id", "req_1")],
        r#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#,
    );
    let err = normalize_response(None, &upstream);
    assert_eq!(err.code(), ErrorCode::ModelOverloaded);
    let policy = RetryPolicy::default();
    let mut random = || 0.0;
    let waits: Vec<RetryAdvice> = (1..=4).map(|attempt| policy.advise(&err, attempt, &mut random)).collect();
    assert_eq!(waits[..3].iter().filter_map(|a| a.delay()).map(|d| d.as_secs()).collect::<Vec<_>>(), [1, 2, 4]);
    assert!(!waits[3].is_retry());
    assert_eq!(err.fallback().target(), Some(FallbackTarget::AnotherModel));
    // Nothing else worked: the client gets the normalized error.
    let reply = err.to_http_response();
    assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers()[REQUEST_ID_HEADER], "req_1");
}

// --- overrides ------------------------------------------------------------------------------

const INVALID_KEY: &[u8] =
    br#"{"error": {"message": "Invalid API key", "type": "authentication_error", "code": "invalid_api_key"}}"#;

#[test]
fn a_reason_is_remapped() {
    let normalizer = Normalizer::new().remap_reason("INVALID_API_KEY", ErrorCode::InputValidationError);
    for style in [Some(Style::ModelBridge), Some(Style::ModelSwitch), None] {
        let err = normalizer.normalize(style, StatusCode::UNAUTHORIZED, &HeaderMap::new(), INVALID_KEY);
        assert_eq!(err.code(), ErrorCode::InputValidationError, "{style:?}");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(!err.is_retryable());
        assert_eq!(err.reason(), Some("INVALID_API_KEY"));
        assert_eq!(err.message(), "Invalid API key");
    }
    // A 401 with no usable body has the same reason, by status.
    let err = normalizer.normalize(None, StatusCode::UNAUTHORIZED, &HeaderMap::new(), b"<html>401</html>");
    assert_eq!(err.code(), ErrorCode::InputValidationError);
    assert_eq!(err.message(), ErrorCode::InputValidationError.default_message());
    // Other errors are untouched.
    let err = normalizer.normalize(None, StatusCode::FORBIDDEN, &HeaderMap::new(), b"");
    assert_eq!(err.code(), ErrorCode::InternalError);
}

#[test]
fn an_upstream_code_is_remapped_in_one_style_or_any() {
    let body = br#"{"error": {"message": "Upstream request timed out", "type": "server_error", "code": "timeout"}}"#;
    let only_bridge = Normalizer::new().remap_upstream_code(Style::ModelBridge, "timeout", ErrorCode::ModelUnavailable);
    let any = Normalizer::new().remap_upstream_code(None, "timeout", ErrorCode::ModelUnavailable);
    let code = |n: &Normalizer, style| n.normalize(style, StatusCode::GATEWAY_TIMEOUT, &HeaderMap::new(), body).code();
    assert_eq!(code(&only_bridge, Some(Style::ModelBridge)), ErrorCode::ModelUnavailable);
    assert_eq!(code(&only_bridge, Some(Style::ModelSwitch)), ErrorCode::GenerationTimeout);
    assert_eq!(code(&any, Some(Style::ModelSwitch)), ErrorCode::ModelUnavailable);
    assert_eq!(code(&any, None), ErrorCode::ModelUnavailable);
    // ModelRoute's own codes are upstream codes too.
    let route =
        br#"{"error": {"code": "GENERATION_FAILED", "message": "Generation failed. Please retry", "retryable": true}}"#;
    let n = Normalizer::new().remap_upstream_code(Style::ModelRoute, "GENERATION_FAILED", ErrorCode::ModelOverloaded);
    assert_eq!(
        n.normalize(Some(Style::ModelRoute), StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new(), route).code(),
        ErrorCode::ModelOverloaded
    );
}

#[test]
fn the_first_matching_override_wins() {
    let n = Normalizer::new()
        .remap_upstream_code(None, "invalid_api_key", ErrorCode::ServiceUnavailable)
        .remap_reason("INVALID_API_KEY", ErrorCode::InputValidationError);
    let err = n.normalize(Some(Style::ModelBridge), StatusCode::UNAUTHORIZED, &HeaderMap::new(), INVALID_KEY);
    assert_eq!(err.code(), ErrorCode::ServiceUnavailable);
}

#[test]
fn overrides_keep_status_retryable_and_retry_after_the_codes_own() {
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", HeaderValue::from_static("9"));
    let body = br#"{"error": {"code": "rate_limit_exceeded", "message": "Rate limit exceeded", "status": 429, "retry_after": 12}}"#;

    // Retryable to not retryable: the delay is dropped.
    let n = Normalizer::new().remap_reason("RATE_LIMIT_EXCEEDED", ErrorCode::InsufficientBalance);
    let err = n.normalize(Some(Style::MoltbotDen), StatusCode::TOO_MANY_REQUESTS, &headers, body);
    assert_eq!(err.code(), ErrorCode::InsufficientBalance);
    assert_eq!(err.status(), StatusCode::PAYMENT_REQUIRED);
    assert!(!err.is_retryable());
    assert_eq!(err.retry_after(), None);
    assert!(err.to_http_response().headers().get(http::header::RETRY_AFTER).is_none());
    let json: serde_json::Value = serde_json::from_str(&err.to_json()).unwrap();
    assert_eq!(json["error"]["status"], 402);
    assert!(json["error"].get("retry_after").is_none());

    // Not retryable to retryable: the delay upstream gave is read.
    let body = br#"{"error": {"message": "Spending limit reached", "type": "rate_limit_error", "code": "spending_limit_exceeded"}}"#;
    let n =
        Normalizer::new().remap_upstream_code(Style::ModelBridge, "spending_limit_exceeded", ErrorCode::RateLimited);
    let err = n.normalize(Some(Style::ModelBridge), StatusCode::TOO_MANY_REQUESTS, &headers, body);
    assert_eq!(err.code(), ErrorCode::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(9)));

    // Every remapped error still round-trips through its envelope.
    for code in ErrorCode::iter() {
        let n = Normalizer::new().remap_reason("RATE_LIMIT_EXCEEDED", code);
        let err = n.normalize(Some(Style::MoltbotDen), StatusCode::TOO_MANY_REQUESTS, &headers, body);
        let parsed: NormalizedError = serde_json::from_str(&err.to_json()).unwrap();
        assert_eq!(parsed, err, "{code}");
        assert_eq!(err.status(), code.http_status());
    }
}

#[test]
fn the_default_normalizer_is_const_and_unchanged() {
    const N: Normalizer = Normalizer::DEFAULT;
    let body = OVERLOADED.as_bytes();
    assert_eq!(
        N.normalize(None, StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new(), body),
        normalize(None, StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new(), body)
    );
}

// --- fallback -------------------------------------------------------------------------------

#[test]
fn fallback_by_code() {
    use FallbackReason as R;
    use FallbackTarget as T;
    let want = [
        (ErrorCode::ModelOverloaded, Some(T::AnotherModel), R::Overloaded),
        (ErrorCode::ModelUnavailable, Some(T::AnotherModel), R::Unavailable),
        (ErrorCode::GenerationFailed, Some(T::AnotherModel), R::Failed),
        (ErrorCode::GenerationTimeout, Some(T::AnotherModel), R::TimedOut),
        (ErrorCode::ServiceUnavailable, Some(T::AnotherProvider), R::PlatformDown),
        (ErrorCode::InternalError, Some(T::AnotherProvider), R::Internal),
        (ErrorCode::InputValidationError, None, R::InvalidInput),
        (ErrorCode::ContentModerationRejected, None, R::Moderation),
        (ErrorCode::FileNotFound, None, R::File),
        (ErrorCode::FileFormatUnsupported, None, R::File),
        (ErrorCode::InsufficientBalance, None, R::Balance),
        (ErrorCode::RateLimited, None, R::RateLimited),
    ];
    assert_eq!(want.len(), ErrorCode::iter().count());
    for (code, target, reason) in want {
        let advice = FallbackAdvice::for_error(&NormalizedError::new(code));
        assert_eq!((advice.target(), advice.reason()), (target, reason), "{code}");
        assert_eq!(advice.is_worth_trying(), target.is_some());
        assert!(!reason.description().is_empty());
    }
}

#[test]
fn an_exceeded_context_asks_for_a_larger_one() {
    let body = br#"{"error": {"code": "context_length_exceeded", "message": "This model's maximum context length is 128000 tokens. Your request used 141,234 tokens.", "status": 400, "model_max_tokens": 128000, "request_tokens": 141234}}"#;
    let err = normalize(Some(Style::MoltbotDen), StatusCode::BAD_REQUEST, &HeaderMap::new(), body);
    assert_eq!(
        err.fallback().target(),
        Some(FallbackTarget::LargerContext { request_tokens: Some(141_234), model_max_tokens: Some(128_000) })
    );
    assert_eq!(err.fallback().reason(), FallbackReason::ContextTooLong);

    // Without figures (OpenAI's message only), still a larger context; figures as text are read.
    let body = br#"{"error": {"message": "This model's maximum context length is 8192 tokens.", "type": "invalid_request_error", "code": "context_length_exceeded"}}"#;
    let err = normalize(None, StatusCode::BAD_REQUEST, &HeaderMap::new(), body);
    assert_eq!(
        err.fallback().target(),
        Some(FallbackTarget::LargerContext { request_tokens: None, model_max_tokens: None })
    );
    let err = NormalizedError::new(ErrorCode::InputValidationError)
        .with_detail(Detail::new("CONTEXT_LENGTH_EXCEEDED").with_figure("request_tokens", "141,234"));
    assert_eq!(
        err.fallback().target(),
        Some(FallbackTarget::LargerContext { request_tokens: Some(141_234), model_max_tokens: None })
    );
}

#[test]
fn input_moderation_and_balance_errors_never_fall_back() {
    let cases: [(Option<Style>, u16, &[u8]); 4] = [
        (
            Some(Style::ModelBridge),
            400,
            br#"{"error": {"message": "Model 'gpt-4' not found", "type": "invalid_request_error", "code": "model_not_found"}}"#,
        ),
        (
            None,
            400,
            br#"{"error": {"message": "flagged", "type": "invalid_request_error", "code": "content_policy_violation"}}"#,
        ),
        (
            Some(Style::ModelBridge),
            429,
            br#"{"error": {"message": "Spending limit reached for this API key", "type": "rate_limit_error", "code": "spending_limit_exceeded"}}"#,
        ),
        (
            Some(Style::MoltbotDen),
            402,
            br#"{"error": {"code": "credits_exhausted", "message": "Your USDC credit balance is 0.00.", "status": 402, "balance_usdc": "0.0000"}}"#,
        ),
    ];
    for (style, status, body) in cases {
        let err = normalize(style, StatusCode::from_u16(status).unwrap(), &HeaderMap::new(), body);
        assert!(!err.fallback().is_worth_trying(), "{}", err.to_json());
        assert_eq!(RetryPolicy::default().advise(&err, 1, &mut || 0.0), RetryAdvice::GiveUp(GiveUp::NotRetryable));
    }
}
