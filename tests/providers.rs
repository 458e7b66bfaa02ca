//! The policy lines for providers (`taxonomy/README.md`, lines 10 to 17), one test each, and the
//! defects the provider tables fixed: limits that changed a classification, key formats that
//! passed through. Bodies are real responses from `tests/cases/` and `tests/corpus/`, cut to the
//! fields that matter.

mod common;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::table::{StyleTable, reason};
use llm_error_taxonomy::{ErrorCode, Limits, NormalizedError, Normalizer, Style};
use strum::IntoEnumIterator;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| (HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap()))
        .collect()
}

/// Normalized with the style given and with none (detected); both must agree.
fn run(style: Style, status: u16, h: &[(&str, &str)], body: &str) -> NormalizedError {
    let n = Normalizer::new();
    let st = StatusCode::from_u16(status).unwrap();
    let given = n.normalize(Some(style), st, &headers(h), body.as_bytes());
    let detected = n.normalize(None, st, &headers(h), body.as_bytes());
    assert_eq!(detected.style(), Some(style), "{style}: detected from {body}");
    assert_eq!(given.to_json(), detected.to_json(), "{style}: the same read detected");
    given
}

fn expect(err: &NormalizedError, code: ErrorCode, reason: &str, what: &str) {
    assert_eq!((err.code(), err.reason()), (code, Some(reason)), "{what}: {}", err.to_json());
}

// 10. The most specific evidence decides.
#[test]
fn policy_10_the_most_specific_evidence_decides() {
    // Bedrock's exception name beats its status: ModelNotReadyException is sent as a 429.
    let h = [("x-amzn-errortype", "ModelNotReadyException:http://internal.amazon.com/coral/com.amazon.bedrock/")];
    let err = run(
        Style::Bedrock,
        429,
        &h,
        r#"{"message":"The model specified in the request is not ready to serve inference requests."}"#,
    );
    expect(&err, ErrorCode::ModelUnavailable, reason::MODEL_NOT_READY, "model not ready");
    // Google's ErrorInfo.reason beats the status enum: an invalid key is a 400 INVALID_ARGUMENT.
    let body = r#"{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}"#;
    expect(&run(Style::Gemini, 400, &[], body), ErrorCode::InternalError, reason::INVALID_API_KEY, "API_KEY_INVALID");
    // The status enum beats the HTTP status: DEADLINE_EXCEEDED whatever the status.
    let body = r#"{"error": {"code": 500, "message": "Deadline expired before operation could complete.", "status": "DEADLINE_EXCEEDED"}}"#;
    expect(&run(Style::Gemini, 500, &[], body), ErrorCode::GenerationTimeout, reason::UPSTREAM_TIMEOUT, "deadline");
    // The same words echoed from a prompt in a plain 400 move nothing, in any style.
    for echoed in [
        "overloaded",
        "high demand",
        "credit balance is too low",
        "rate limit",
        "prompt is too long",
        "too many connections",
    ] {
        let message = format!("Invalid 'messages[0].content': the user wrote '{echoed}'");
        for style in Style::iter() {
            let t = style.table();
            let neutral = plain_400(t, "Invalid 'messages[0].content': the user wrote 'hello'");
            let echo = plain_400(t, &message);
            let n = Normalizer::new();
            let a = n.normalize(Some(style), StatusCode::BAD_REQUEST, &HeaderMap::new(), &neutral);
            let b = n.normalize(Some(style), StatusCode::BAD_REQUEST, &HeaderMap::new(), &echo);
            if a.code() != b.code() {
                // A phrase rule of the 400 itself (such as a context length) may apply: then the
                // echoed words are the provider's own.
                assert!(
                    matches!(echoed, "prompt is too long" | "credit balance is too low"),
                    "{style}: {echoed:?} echoed in a 400 moved {} to {}",
                    a.code(),
                    b.code()
                );
            }
        }
    }
}

/// A 400 with `message` at the style's first plain body path, and nothing else.
fn plain_400(t: &StyleTable, message: &str) -> Vec<u8> {
    let path = t
        .locations(llm_error_taxonomy::Field::Message)
        .iter()
        .map(|l| l.path())
        .find(|p| !p.contains(['*', '[', '|', ':']))
        .expect("a plain message path");
    let mut v = serde_json::json!({});
    let segs: Vec<&str> = path.split('.').collect();
    let mut node = &mut v;
    for s in &segs[..segs.len() - 1] {
        node = node.as_object_mut().unwrap().entry(s.to_string()).or_insert_with(|| serde_json::json!({}));
    }
    node[segs[segs.len() - 1]] = serde_json::json!(message);
    serde_json::to_vec(&v).unwrap()
}

// 11. Billing whatever the status.
#[test]
fn policy_11_billing_whatever_the_status() {
    let cases = [
        (
            Style::OpenAI,
            429,
            r#"{"error": {"message": "You exceeded your current quota, please check your plan and billing details.", "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}"#,
        ),
        (
            Style::Anthropic,
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}"#,
        ),
        (
            Style::Gemini,
            402,
            r#"{"error": {"code": 402, "message": "Your prepayment credits are depleted. Please go to AI Studio to manage your project and billing.", "status": "RESOURCE_EXHAUSTED"}}"#,
        ),
        (
            Style::Cohere,
            429,
            r#"{"id":"24e32f6d-b372-4853-85f2-11e65134f032","message":"You are using a Trial key, which is limited to 1000 API calls / month."}"#,
        ),
    ];
    for (style, status, body) in cases {
        let err = run(style, status, &[], body);
        assert_eq!(err.code(), ErrorCode::InsufficientBalance, "{style} {status}: {}", err.to_json());
        assert!(!err.is_retryable());
    }
}

// 12. Capacity is not a rate limit.
#[test]
fn policy_12_capacity_is_not_a_rate_limit() {
    let overloaded = [
        (
            Style::OpenAI,
            503,
            r#"{"error": {"message": "That model is currently overloaded with other requests.", "type": "server_error", "param": null, "code": null}}"#,
        ),
        (
            Style::Anthropic,
            500,
            r#"{"type":"error","error":{"type":"api_error","message":"Overloaded"},"request_id":null}"#,
        ),
        (
            Style::Gemini,
            503,
            r#"{"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}"#,
        ),
        (
            Style::Azure,
            429,
            r#"{"error":{"code":"429","message":"The system is currently experiencing high demand and cannot process your request. Please retry after 20 seconds. See https://aka.ms/oai/quotaincrease"}}"#,
        ),
    ];
    for (style, status, body) in overloaded {
        assert_eq!(run(style, status, &[], body).code(), ErrorCode::ModelOverloaded, "{style} {status}");
    }
    let limited = [
        (
            Style::Gemini,
            429,
            r#"{"error": {"code": 429, "message": "You exceeded your current quota, please check your plan and billing details.", "status": "RESOURCE_EXHAUSTED"}}"#,
        ),
        (
            Style::OpenAI,
            429,
            r#"{"error":{"message":"Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
        ),
    ];
    for (style, status, body) in limited {
        let err = run(style, status, &[], body);
        assert_eq!(err.code(), ErrorCode::RateLimited, "{style} {status}");
    }
}

// 13. Models and credentials.
#[test]
fn policy_13_models_and_credentials() {
    let unknown = [
        (
            Style::OpenAI,
            404,
            r#"{"error": {"message": "The model `gpt-5x` does not exist or you do not have access to it.", "type": "invalid_request_error", "param": null, "code": "model_not_found"}}"#,
            &[][..],
        ),
        (
            Style::Azure,
            404,
            r#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}"#,
            &[],
        ),
        (
            Style::Gemini,
            404,
            r#"{"error": {"code": 404, "message": "models/gemini-pro is not found for API version v1beta.", "status": "NOT_FOUND"}}"#,
            &[],
        ),
        (
            Style::Bedrock,
            400,
            r#"{"message":"Invocation of model ID anthropic.claude-3-5-sonnet-20241022-v2:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model."}"#,
            &[("x-amzn-errortype", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/")],
        ),
    ];
    for (style, status, body, h) in unknown {
        let err = run(style, status, h, body);
        assert_eq!(err.code(), ErrorCode::InputValidationError, "{style}: {}", err.to_json());
        assert_eq!(err.details()[0].field.as_deref(), Some("model"), "{style}");
    }
    let not_allowed = [
        (
            Style::OpenAI,
            403,
            r#"{"error":{"message":"Project `proj_x` does not have access to model `gpt-4o-mini`","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#,
            &[][..],
        ),
        (
            Style::Bedrock,
            403,
            r#"{"message":"You don't have access to the model with the specified model ID."}"#,
            &[("x-amzn-errortype", "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/")],
        ),
    ];
    for (style, status, body, h) in not_allowed {
        expect(&run(style, status, h, body), ErrorCode::InternalError, reason::PERMISSION_DENIED, style.as_str());
    }
    let keys = [
        (
            Style::Gemini,
            400,
            r#"{"error": {"code": 400, "message": "User location is not supported for the API use.", "status": "FAILED_PRECONDITION"}}"#,
            reason::UNSUPPORTED_LOCATION,
        ),
        (
            Style::Anthropic,
            401,
            r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
            reason::INVALID_API_KEY,
        ),
        (
            Style::OpenAI,
            403,
            r#"{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}}"#,
            reason::ACCOUNT_CHECK_FAILED,
        ),
    ];
    for (style, status, body, why) in keys {
        expect(&run(style, status, &[], body), ErrorCode::InternalError, why, style.as_str());
    }
}

// 14. Blocked input or output, whatever the status.
#[test]
fn policy_14_blocked_content_whatever_the_status() {
    let body = r#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,
        "innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":true,"severity":"high"},"self_harm":{"filtered":false,"severity":"safe"}}}}}"#;
    let err = run(Style::Azure, 400, &[], body);
    assert_eq!(err.code(), ErrorCode::ContentModerationRejected);
    // The provider's categories, in the details: only the ones that filtered.
    let categories: Vec<&str> = err.details()[1..].iter().filter_map(|d| d.code.as_deref()).collect();
    assert_eq!(categories, ["hate"], "{}", err.to_json());
    assert_eq!(err.details()[1].figures["severity"], "high");

    let cohere = run(
        Style::Cohere,
        498,
        &[],
        r#"{"message":"blocked output: please adjust your prompt and try again, as this generation may be a potential violation of our Usage Guidelines."}"#,
    );
    assert_eq!(cohere.code(), ErrorCode::ContentModerationRejected);

    // Inside a 200: a Gemini prompt blocked, a candidate stopped for safety.
    let n = Normalizer::new();
    for body in [
        &br#"{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":2130}}"#[..],
        br#"{"candidates": [{"finishReason": "SAFETY", "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": true}]}]}"#,
    ] {
        let err = n.inspect(Some(Style::Gemini), StatusCode::OK, &HeaderMap::new(), body).expect("a failure");
        assert_eq!(err.code(), ErrorCode::ContentModerationRejected, "{}", err.to_json());
    }
    // And in a stream's finish reason.
    let stream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n\
                  data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"content_filter\"}]}\n\ndata: [DONE]\n\n";
    let err = n
        .normalize_stream(Some(Style::Azure), StatusCode::OK, &HeaderMap::new(), stream.as_bytes())
        .expect("a failure");
    assert_eq!(err.error().code(), ErrorCode::ContentModerationRejected);
    assert!(!err.is_retry_safe(), "output was already delivered");
}

// 15. Files.
#[test]
fn policy_15_files() {
    let missing = run(
        Style::OpenAI,
        404,
        &[],
        r#"{"error":{"message":"No such File object: file-abc123","type":"invalid_request_error","param":"id","code":null}}"#,
    );
    assert_eq!(missing.code(), ErrorCode::FileNotFound);
    let format = run(
        Style::OpenAI,
        400,
        &[],
        r#"{"error":{"message":"Invalid file format. Supported formats: ['flac', 'mp3']","type":"invalid_request_error","param":null,"code":null}}"#,
    );
    assert_eq!(format.code(), ErrorCode::FileFormatUnsupported);
    let mime = run(
        Style::Gemini,
        400,
        &[],
        r#"{"error": {"code": 400, "message": "Unsupported MIME type: application/cu-seeme", "status": "INVALID_ARGUMENT"}}"#,
    );
    assert_eq!(mime.code(), ErrorCode::FileFormatUnsupported);
}

// 16. Availability, time and failure.
#[test]
fn policy_16_availability_time_and_failure() {
    let bedrock = |name: &str, status: u16| {
        let h = format!("{name}:http://internal.amazon.com/coral/com.amazon.bedrock/");
        run(Style::Bedrock, status, &[("x-amzn-errortype", &h)], r#"{"message":"x"}"#).code()
    };
    assert_eq!(bedrock("ModelTimeoutException", 408), ErrorCode::GenerationTimeout);
    assert_eq!(bedrock("ModelErrorException", 424), ErrorCode::GenerationFailed);
    assert_eq!(bedrock("ServiceUnavailableException", 503), ErrorCode::ModelUnavailable);
    // A provider's 503 with no more specific cause: the provider cannot serve.
    let n = Normalizer::new();
    assert_eq!(
        n.normalize(Some(Style::OpenAI), StatusCode::SERVICE_UNAVAILABLE, &HeaderMap::new(), b"").code(),
        ErrorCode::ModelUnavailable
    );
    // A gateway's own 503 is its own outage.
    assert_eq!(
        n.normalize(Some(Style::ModelSwitch), StatusCode::SERVICE_UNAVAILABLE, &HeaderMap::new(), b"").code(),
        ErrorCode::ServiceUnavailable
    );
    let err = run(
        Style::Anthropic,
        500,
        &[],
        r#"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#,
    );
    assert_eq!(err.code(), ErrorCode::GenerationFailed);
}

// 17. Failures inside successful responses.
#[test]
fn policy_17_failures_inside_successful_responses() {
    let n = Normalizer::new();
    let ok = HeaderMap::new();
    let success =
        br#"{"candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"}, "finishReason": "STOP"}]}"#;
    assert!(n.inspect(Some(Style::Gemini), StatusCode::OK, &ok, success).is_none());
    assert!(n.inspect(None, StatusCode::OK, &ok, success).is_none());
    let chat = br#"{"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}]}"#;
    assert!(n.inspect(Some(Style::OpenAI), StatusCode::OK, &ok, chat).is_none());
    assert!(n.inspect(None, StatusCode::OK, &ok, chat).is_none());
    let bedrock = br#"{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}"#;
    let err = n.inspect(Some(Style::Bedrock), StatusCode::OK, &ok, bedrock).expect("a failure");
    assert_eq!(err.upstream().code.as_deref(), Some("UnknownOperationException"));
    let wrapped = br#"{"error": {"code": 429, "message": "Resource exhausted. Please try again later.", "status": "RESOURCE_EXHAUSTED"}}"#;
    assert_eq!(
        n.inspect(Some(Style::Vertex), StatusCode::OK, &ok, wrapped).map(|e| e.code()),
        Some(ErrorCode::RateLimited)
    );
    // An error status is always a failure.
    assert!(n.inspect(Some(Style::OpenAI), StatusCode::BAD_GATEWAY, &ok, b"").is_some());
}

// Limits bound what is emitted; they never change a classification.
#[test]
fn small_limits_change_no_classification() {
    let mut limits = Limits::default();
    limits.max_message_bytes = 8;
    limits.max_field_bytes = 8;
    let small = Normalizer::new().with_limits(limits);
    let body = br#"{"error": {"message": "You exceeded your current quota, please check your plan and billing details.", "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}"#;
    for style in [None, Some(Style::OpenAI)] {
        let err = small.normalize(style, StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body);
        assert_eq!(err.code(), ErrorCode::InsufficientBalance);
        assert!(err.message().len() <= 8 && err.upstream().code.as_ref().is_some_and(|c| c.len() <= 8));
    }
    // A phrase far into a long message is still seen.
    let long = format!(
        r#"{{"type":"error","error":{{"type":"invalid_request_error","message":"{} prompt is too long: 208310 tokens > 200000 maximum"}}}}"#,
        "x ".repeat(1500)
    );
    let err = small.normalize(Some(Style::Anthropic), StatusCode::BAD_REQUEST, &HeaderMap::new(), long.as_bytes());
    assert_eq!(err.reason(), Some(reason::CONTEXT_LENGTH_EXCEEDED));
}

// Every provider's key format is redacted, and a gateway may add its own.
#[test]
fn provider_key_formats_are_redacted() {
    let keys = [
        "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx",
        "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx",
        "sk-or-v1-0123456789abcdef0123456789abcdef",
        "gsk_AbCdEfGhIjKlMnOpQrStUvWxYz012345",
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123",
        "xai-AbCdEfGhIjKlMnOpQrStUvWxYz012345",
        "pplx-AbCdEfGhIjKlMnOpQrStUvWxYz012345",
        "r8_AbCdEfGhIjKlMnOpQrStUvWxYz0123",
        "AIzaSyAbCdEfGhIjKlMnOpQrStUvWxYz012345",
        "AKIAABCDEFGHIJKLMNOP",
        "ASIAABCDEFGHIJKLMNOP",
        "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "github_pat_11AbCdEfGhIjKlMnOpQrStUv",
        "nvapi-AbCdEfGhIjKlMnOpQrStUvWxYz012345",
        "csk-AbCdEfGhIjKlMnOpQrStUvWxYz012345",
        "fw_AbCdEfGhIjKlMnOpQrStUvWx",
    ];
    let n = Normalizer::new();
    for key in keys {
        let body = format!(
            r#"{{"error": {{"message": "Incorrect API key provided: {key}.", "code": "invalid_api_key", "param": "{key}"}}}}"#
        );
        let h = headers(&[("x-request-id", key)]);
        for style in [None, Some(Style::OpenAI)] {
            let err = n.normalize(style, StatusCode::UNAUTHORIZED, &h, body.as_bytes());
            let out = err.to_json();
            assert!(!out.contains(&key[key.len() - 12..]), "{key} leaked: {out}");
        }
    }
    let own = Normalizer::new().redact_secret_format("acme_live_", 12);
    let body = br#"{"error": {"message": "Key acme_live_0123456789abcdef is revoked", "code": "invalid_api_key"}}"#;
    let err = own.normalize(
        None,
        StatusCode::UNAUTHORIZED,
        &headers(&[("x-request-id", "acme_live_0123456789abcdef")]),
        body,
    );
    assert!(!err.to_json().contains("0123456789abcdef"), "{}", err.to_json());
    assert_eq!(err.message(), "Key acme_live_**** is revoked");
}

// Bedrock's binary event stream, through the same stream reader as SSE, split anywhere.
#[test]
fn bedrock_event_streams_are_read_frame_by_frame() {
    let frame = |headers: &[(&str, &str)], payload: &[u8]| {
        let headers: Vec<(&[u8], &[u8])> = headers.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect();
        common::wire::frame(&headers, payload)
    };
    let delta = frame(
        &[(":message-type", "event"), (":event-type", "contentBlockDelta")],
        br#"{"delta":{"text":"Hi"},"contentBlockIndex":0}"#,
    );
    let throttled = frame(
        &[
            (":message-type", "exception"),
            (":exception-type", "throttlingException"),
            (":content-type", "application/json"),
        ],
        br#"{"message":"Too many tokens, please wait before trying again."}"#,
    );
    let stop = frame(&[(":message-type", "event"), (":event-type", "messageStop")], br#"{"stopReason":"end_turn"}"#);
    let n = Normalizer::new();
    let typed = headers(&[("content-type", "application/vnd.amazon.eventstream")]);
    let mut body = delta.clone();
    body.extend_from_slice(&throttled);
    for h in [&typed, &HeaderMap::new()] {
        for style in [Some(Style::Bedrock), None] {
            for chunk in [1, 7, body.len()] {
                let mut reader = n.stream_reader(style, StatusCode::OK, h);
                let found =
                    body.chunks(chunk).find_map(|c| reader.push(c)).or_else(|| reader.finish()).expect("an error");
                assert_eq!(found.error().code(), ErrorCode::RateLimited, "{}", found.error().to_json());
                assert!(!found.is_retry_safe(), "a delta was delivered first");
            }
        }
    }
    // A whole stream completes; one cut inside a frame was dropped; a bad checksum is corrupt.
    let mut whole = delta.clone();
    whole.extend_from_slice(&stop);
    assert!(n.normalize_stream(None, StatusCode::OK, &typed, &whole).is_none());
    let cut = &whole[..whole.len() - 3];
    assert_eq!(
        n.normalize_stream(None, StatusCode::OK, &typed, cut).unwrap().error().reason(),
        Some(reason::STREAM_DROPPED)
    );
    let mut bad = whole.clone();
    let i = bad.len() - 6;
    bad[i] ^= 0x20;
    assert_eq!(
        n.normalize_stream(None, StatusCode::OK, &typed, &bad).unwrap().error().reason(),
        Some(reason::STREAM_CORRUPT)
    );
}

// Retry-after, completed: Google's RetryInfo, the rate-limit bucket that ran out, Anthropic's
// reset times, every HTTP-date form.
#[test]
fn retry_delays_from_every_documented_source() {
    let n = Normalizer::new();
    let secs = |style: Option<Style>, status: u16, h: &[(&str, &str)], body: &str| {
        n.normalize(style, StatusCode::from_u16(status).unwrap(), &headers(h), body.as_bytes())
            .retry_after()
            .map(|d| d.as_secs())
    };
    let google = r#"{"error": {"code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED",
        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "36s"}]}}"#;
    assert_eq!(secs(Some(Style::Gemini), 429, &[], google), Some(36));
    assert_eq!(secs(None, 429, &[], &format!("[{google}]")), Some(36), "a top-level array, detected");
    // OpenAI: the reset of the bucket whose remaining is 0, not the other's.
    let rate = r#"{"error": {"message": "Rate limit reached.", "type": "tokens", "param": null, "code": "rate_limit_exceeded"}}"#;
    let h = [
        ("x-ratelimit-remaining-requests", "59"),
        ("x-ratelimit-reset-requests", "1s"),
        ("x-ratelimit-remaining-tokens", "0"),
        ("x-ratelimit-reset-tokens", "6m0s"),
    ];
    assert_eq!(secs(Some(Style::OpenAI), 429, &h, rate), Some(360));
    // No bucket ran out: the longest reset, in whatever order the headers came.
    let h = [
        ("x-ratelimit-remaining-tokens", "12"),
        ("x-ratelimit-reset-tokens", "6m0s"),
        ("x-ratelimit-remaining-requests", "1"),
        ("x-ratelimit-reset-requests", "8.64s"),
    ];
    assert_eq!(secs(Some(Style::OpenAI), 429, &h, rate), Some(360));
    let reversed: Vec<_> = h.iter().rev().copied().collect();
    assert_eq!(secs(Some(Style::OpenAI), 429, &reversed, rate), Some(360));
    assert_eq!(secs(Some(Style::Azure), 429, &h[2..], rate), Some(9), "one bucket, rounded up");
    // Anthropic: RFC 3339 reset times, measured from the response's Date.
    let h = [
        ("date", "Tue, 01 Dec 2026 22:30:00 GMT"),
        ("anthropic-ratelimit-requests-remaining", "10"),
        ("anthropic-ratelimit-requests-reset", "2026-12-01T22:30:02Z"),
        ("anthropic-ratelimit-input-tokens-remaining", "0"),
        ("anthropic-ratelimit-input-tokens-reset", "2026-12-01T22:30:16Z"),
    ];
    let body =
        r#"{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit."}}"#;
    assert_eq!(secs(Some(Style::Anthropic), 429, &h, body), Some(16));
    let h = [
        ("date", "Tue, 01 Dec 2026 22:30:00 GMT"),
        ("anthropic-ratelimit-requests-remaining", "10"),
        ("anthropic-ratelimit-requests-reset", "2026-12-01T22:30:02Z"),
        ("anthropic-ratelimit-tokens-remaining", "3000"),
        ("anthropic-ratelimit-tokens-reset", "2026-12-01T22:30:40Z"),
    ];
    assert_eq!(secs(Some(Style::Anthropic), 429, &h, body), Some(40), "none ran out: the longest");
    // retry-after wins over the rest; all three HTTP-date forms read.
    for date in ["Tue, 01 Dec 2026 22:30:30 GMT", "Tuesday, 01-Dec-26 22:30:30 GMT", "Tue Dec  1 22:30:30 2026"] {
        let h = [("date", "Tue, 01 Dec 2026 22:30:00 GMT"), ("retry-after", date)];
        assert_eq!(secs(Some(Style::Anthropic), 429, &h, body), Some(30), "{date}");
    }
    // An empty or impossible source is skipped, not read as zero.
    let h = [("x-ratelimit-reset", ""), ("retry-after", "Sat, 31 Feb 2026 12:00:00 GMT")];
    assert_eq!(secs(None, 429, &h, r#"{"error": {"message": "Slow down. Please try again in 1m30s."}}"#), Some(90));
    // A header is read by its whole name: `X-RateLimit-Reset` is not the reset of a bucket.
    let h = [("x-ratelimit-reset", "5"), ("x-ratelimit-reset-tokens", "6m0s"), ("x-ratelimit-reset-requests", "60")];
    assert_eq!(secs(None, 429, &h, ""), Some(5));
}

// Policy 18: errors inside errors, read by the innermost specific one, both layers kept; a
// relay's rewritten message never beats its code.
#[test]
fn policy_18_errors_inside_errors_keep_both_layers() {
    let n = Normalizer::new();
    let read = |style: Option<Style>, status: u16, body: &str| {
        n.normalize(style, StatusCode::from_u16(status).unwrap(), &headers(&[]), body.as_bytes())
    };
    let layer = |e: &llm_error_taxonomy::NormalizedError| {
        e.details().iter().find(|d| d.code.as_deref() == Some(reason::GATEWAY_LAYER)).cloned().expect("a gateway layer")
    };
    // OpenRouter, HTTP 200, with Anthropic's overloaded error as JSON in `metadata.raw`.
    let body = r#"{"error": {"message": "Provider returned error", "code": 529, "metadata": {"raw": "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}", "provider_name": "Anthropic"}}}"#;
    for style in [Some(Style::OpenRouter), None] {
        let err = read(style, 200, body);
        assert_eq!(err.code(), ErrorCode::ModelOverloaded, "{}", err.to_json());
        assert_eq!(err.upstream().style, Some(Style::OpenRouter));
        assert_eq!(err.upstream().status, Some(200));
        assert_eq!(err.upstream().upstream_status, Some(529));
        assert_eq!(err.upstream().provider.as_deref(), Some("Anthropic"));
        assert_eq!(err.upstream().type_.as_deref(), Some("overloaded_error"));
        let l = layer(&err);
        assert_eq!(l.figures.get("provider_style"), Some(&"anthropic".into()));
        assert_eq!(l.message.as_deref(), Some("Provider returned error"));
    }
    // LiteLLM: the provider's body inside the message, after a Python bytes prefix.
    let body = r#"{"error": {"message": "litellm.BadRequestError: AnthropicException - b'{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Your credit balance is too low to access the Anthropic API.\"}}'. Received Model Group=claude", "type": null, "param": null, "code": "400"}}"#;
    let err = read(None, 400, body);
    assert_eq!(err.code(), ErrorCode::InsufficientBalance, "{}", err.to_json());
    assert_eq!(err.upstream().style, Some(Style::LiteLLM));
    assert_eq!(err.upstream().provider.as_deref(), Some("Anthropic"));
    assert_eq!(layer(&err).figures.get("provider_style"), Some(&"anthropic".into()));
    // A gateway in front of a gateway: LiteLLM relaying OpenRouter relaying OpenAI's quota error.
    let inner = r#"{\"error\":{\"message\":\"Provider returned error\",\"code\":429,\"metadata\":{\"raw\":\"{\\\"error\\\":{\\\"message\\\":\\\"You exceeded your current quota.\\\",\\\"type\\\":\\\"insufficient_quota\\\",\\\"code\\\":\\\"insufficient_quota\\\"}}\",\"provider_name\":\"OpenAI\"}}}"#;
    let body = format!(
        r#"{{"error": {{"message": "litellm.RateLimitError: OpenrouterException - {inner}", "code": "429"}}}}"#
    );
    let err = read(None, 429, &body);
    assert_eq!(err.code(), ErrorCode::InsufficientBalance, "{}", err.to_json());
    // A raw that is not JSON is only a message: the gateway's own reading stands.
    let body = r#"{"error": {"message": "Provider returned error", "code": 429, "metadata": {"raw": "error code: 1015", "provider_name": "Kluster"}}}"#;
    let err = read(None, 200, body);
    assert_eq!(err.code(), ErrorCode::RateLimited);
    assert!(err.details().iter().all(|d| d.code.as_deref() != Some(reason::GATEWAY_LAYER)));
    // A relay's rewritten message never beats its structured code.
    let body = r#"{"error": {"message": "当前分组上游负载已饱和，请稍后再试", "type": "insufficient_quota", "code": "insufficient_quota"}}"#;
    assert_eq!(read(Some(Style::OneApi), 429, body).code(), ErrorCode::InsufficientBalance);
}

// Policy 19: a model that crashed, is loading or is not loaded is unavailable, even as a 400,
// with a cold model's `estimated_time` as the delay.
#[test]
fn policy_19_a_model_that_cannot_run_now_is_unavailable() {
    let n = Normalizer::new();
    let read = |style: Option<Style>, status: u16, body: &str| {
        n.normalize(style, StatusCode::from_u16(status).unwrap(), &headers(&[]), body.as_bytes())
    };
    let cases: [(Option<Style>, u16, &str); 6] = [
        (Some(Style::Ollama), 500, r#"{"error":"llama runner process has terminated: exit status 2"}"#),
        (
            Some(Style::Ollama),
            500,
            r#"{"error":"model requires more system memory (10.2 GiB) than is available (7.1 GiB)"}"#,
        ),
        (Some(Style::LlamaCpp), 503, r#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#),
        (Some(Style::LmStudio), 400, r#"{"error":"Failed to load model \"qwen3\". Error: Operation canceled."}"#),
        (
            None,
            404,
            r#"{"error":{"message":"No models loaded. Please load a model in the developer page.","type":"invalid_request_error","param":"model","code":"model_not_found"}}"#,
        ),
        (None, 503, r#"{"error":"Model meta-llama/Llama-2-7b-chat-hf is currently loading","estimated_time":20.0}"#),
    ];
    for (style, status, body) in cases {
        let err = read(style, status, body);
        assert_eq!(err.code(), ErrorCode::ModelUnavailable, "{style:?} {status} {body}: {}", err.to_json());
    }
    let cold = read(None, 503, r#"{"error":"Model bigscience/bloom is currently loading","estimated_time":35.6}"#);
    assert_eq!(cold.retry_after().map(|d| d.as_secs()), Some(36));
    // The same words echoed from a prompt in a 400 of another provider do not move it.
    let echoed = r#"{"error":{"message":"Invalid 'messages[0].content': the llama runner process has terminated","type":"invalid_request_error","code":"invalid_value"}}"#;
    assert_eq!(read(Some(Style::OpenAI), 400, echoed).code(), ErrorCode::InputValidationError);
}

// Policy 20: a vendor's numeric code decides before the status.
#[test]
fn policy_20_a_vendor_numeric_code_decides_before_the_status() {
    let n = Normalizer::new();
    let read = |style: Option<Style>, status: u16, body: &str| {
        n.normalize(style, StatusCode::from_u16(status).unwrap(), &headers(&[]), body.as_bytes()).code()
    };
    for style in [Some(Style::Zhipu), None] {
        assert_eq!(
            read(style, 429, r#"{"error":{"code":"1113","message":"余额不足或无可用资源包,请充值。"}}"#),
            ErrorCode::InsufficientBalance
        );
    }
    for style in [Some(Style::MiniMax), None] {
        let body = r#"{"id":"x","choices":null,"base_resp":{"status_code":1008,"status_msg":"insufficient balance"}}"#;
        assert_eq!(read(style, 200, body), ErrorCode::InsufficientBalance);
        let body = r#"{"base_resp":{"status_code":1026,"status_msg":"input new_sensitive"}}"#;
        assert_eq!(read(style, 200, body), ErrorCode::ContentModerationRejected);
    }
    for style in [Some(Style::Baidu), None] {
        assert_eq!(
            read(style, 200, r#"{"error_code":18,"error_msg":"Open api qps request limit reached"}"#),
            ErrorCode::RateLimited
        );
        assert_eq!(
            read(style, 200, r#"{"error_code":110,"error_msg":"Access token invalid or no longer valid"}"#),
            ErrorCode::InternalError
        );
    }
    for style in [Some(Style::Cloudflare), None] {
        let body =
            r#"{"success":false,"errors":[{"code":3040,"message":"No more data centers to forward the request to"}]}"#;
        assert_eq!(read(style, 429, body), ErrorCode::ModelOverloaded, "3040 is capacity, not a rate limit");
    }
    // A success body of the same vendor is no failure.
    let ok = br#"{"id":"x","reply":"Hi","base_resp":{"status_code":0,"status_msg":"success"}}"#;
    assert!(n.inspect(Some(Style::MiniMax), StatusCode::OK, &headers(&[]), ok).is_none());
}

/// The details google.rpc declares (`details` in `gemini.json`): a `BadRequest`'s field
/// violations, each with its field and description, and only the safety ratings that blocked.
#[test]
fn google_rpc_field_violations_and_blocking_ratings_are_details() {
    // Vertex, through @langchain/google-gauth (https://github.com/danny-avila/LibreChat/issues/11761).
    let field = "tools[0].function_declarations[0].parameters.properties[3].value";
    let description =
        format!("Invalid JSON payload received. Unknown name \\\"const\\\" at '{field}': Cannot find field.");
    let error = format!(
        r#"{{"error": {{"code": 400, "message": "{description}", "errors": [{{"message": "{description}", "reason": "invalid"}}],
            "status": "INVALID_ARGUMENT", "details": [
              {{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "NOT_A_VIOLATION", "domain": "googleapis.com"}},
              {{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{{"field": "{field}", "description": "{description}"}}]}}]}}}}"#
    );
    let n = Normalizer::new();
    for (style, body) in [(Style::Vertex, format!("[{error}]")), (Style::Gemini, error.clone())] {
        let err = n.normalize(Some(style), StatusCode::BAD_REQUEST, &HeaderMap::new(), body.as_bytes());
        assert_eq!(err.code(), ErrorCode::InputValidationError, "{style}: {}", err.to_json());
        let violation = err.details().iter().find(|d| d.field.as_deref() == Some(field));
        let violation = violation.unwrap_or_else(|| panic!("{style}: the field violation in {}", err.to_json()));
        assert_eq!(violation.message.as_deref(), Some(description.replace("\\\"", "\"").as_str()));
        assert!(err.details().iter().all(|d| d.code.as_deref() != Some("NOT_A_VIOLATION")), "{}", err.to_json());
    }

    // A blocked candidate: only the categories that blocked are details.
    let body = br#"{"candidates": [{"finishReason": "SAFETY", "safetyRatings": [
        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "probabilityScore": 0.93, "blocked": true,
         "message": "echoed", "": 1, "nested": {"a": 1}}]}]}"#;
    let err = n.inspect(Some(Style::Gemini), StatusCode::OK, &HeaderMap::new(), body).expect("a failure");
    let categories: Vec<&str> = err.details().iter().filter_map(|d| d.code.as_deref()).collect();
    assert!(!categories.contains(&"HARM_CATEGORY_HATE_SPEECH"), "{}", err.to_json());
    let rating = err.details().iter().find(|d| d.code.as_deref() == Some("HARM_CATEGORY_HARASSMENT"));
    let rating = rating.unwrap_or_else(|| panic!("the blocking rating in {}", err.to_json()));
    // Its other scalar members are figures; a detail's own member names and empty names are not.
    let names: Vec<&str> = rating.figures.keys().map(String::as_str).collect();
    assert_eq!(names, ["probability", "probabilityScore"], "{}", err.to_json());
    assert_eq!(rating.figures["probabilityScore"], 0.93);
    assert_eq!(rating.message, None);
}

/// Errors inside errors are read at most three layers deep: a gateway in front of a gateway
/// in front of a gateway in front of the provider is read to the provider, and one more
/// gateway layer stops at the gateway.
#[test]
fn errors_inside_errors_are_read_three_layers_deep() {
    let quota = r#"{"error": {"message": "You exceeded your current quota.", "type": "insufficient_quota", "code": "insufficient_quota"}}"#;
    // OpenRouter's error with the layer inside as JSON in `metadata.raw`: OpenAI's, or another
    // gateway's (a provider name no table knows, so its style is detected).
    let wrap = |inner: &str, provider: &str| {
        serde_json::json!({"error": {"message": "Provider returned error", "code": 429,
            "metadata": {"raw": inner, "provider_name": provider}}})
        .to_string()
    };
    let n = Normalizer::new();
    let mut body = quota.to_owned();
    for gateways in 1..=5 {
        body = wrap(&body, if gateways == 1 { "OpenAI" } else { "Relay" });
        let err =
            n.normalize(Some(Style::OpenRouter), StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body.as_bytes());
        let layers = err.details().iter().filter(|d| d.code.as_deref() == Some(reason::GATEWAY_LAYER)).count();
        // Each gateway read keeps its layer; past three, the outermost gateway's own reading.
        let want = if gateways <= 3 { (ErrorCode::InsufficientBalance, gateways) } else { (ErrorCode::RateLimited, 0) };
        assert_eq!((err.code(), layers), want, "{gateways} gateways: {}", err.to_json());
    }
    // With no room for details, the gateway's layer is not added either.
    let mut limits = Limits::default();
    limits.max_details = 0;
    let err = Normalizer::new().with_limits(limits).normalize(
        Some(Style::OpenRouter),
        StatusCode::TOO_MANY_REQUESTS,
        &HeaderMap::new(),
        wrap(quota, "OpenAI").as_bytes(),
    );
    assert_eq!(err.code(), ErrorCode::InsufficientBalance);
    assert!(err.details().is_empty(), "{}", err.to_json());
}

/// Inside a 200, a body is a failure when it holds the style's envelope: a message, code or
/// type as text, or a code as a number; a number where the message goes is no envelope.
#[test]
fn a_numeric_code_is_an_envelope_and_a_numeric_message_is_not() {
    let n = Normalizer::new();
    let inspect = |style: Style, body: &str| n.inspect(Some(style), StatusCode::OK, &HeaderMap::new(), body.as_bytes());
    // OpenRouter's error chunk with its numeric code, as a 200 body.
    let err = inspect(Style::OpenRouter, r#"{"error": {"code": 502}}"#).expect("a failure");
    assert_eq!(err.upstream().code.as_deref(), Some("502"), "{}", err.to_json());
    assert!(inspect(Style::OpenAI, r#"{"error": {"code": "server_error"}}"#).is_some());
    assert!(inspect(Style::OpenAI, r#"{"error": {"message": 42}}"#).is_none());
    assert!(inspect(Style::OpenAI, r#"{"error": {"message": ["not", "text"]}}"#).is_none());
}

/// An event-stream message of type `error` (`:error-code`, `:error-message`) is the stream's
/// error, read with its message.
#[test]
fn an_event_stream_error_message_is_the_streams_error() {
    let frame = |headers: &[(&str, &str)], payload: &[u8]| {
        let headers: Vec<(&[u8], &[u8])> = headers.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect();
        common::wire::frame(&headers, payload)
    };
    let mut body = frame(
        &[(":message-type", "event"), (":event-type", "contentBlockDelta")],
        br#"{"delta":{"text":"Hi"},"contentBlockIndex":0}"#,
    );
    body.extend(frame(
        &[(":message-type", "error"), (":error-code", "InternalFailure"), (":error-message", "The service is busy.")],
        b"",
    ));
    let typed = headers(&[("content-type", "application/vnd.amazon.eventstream")]);
    let mut reader = Normalizer::new().stream_reader(Some(Style::Bedrock), StatusCode::OK, &typed);
    let found = reader.push(&body).or_else(|| reader.finish()).expect("an error");
    assert_eq!(found.error().message(), "The service is busy.", "{}", found.error().to_json());
    assert_ne!(found.error().reason(), Some("STREAM_DROPPED"));
    assert!(!found.is_retry_safe(), "a delta was delivered first");
}
