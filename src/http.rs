//! Glue for `http` types: normalize an upstream response, answer the client.
//!
//! A gateway's error path is three lines: [`normalize_response`], log the error (its text is
//! redacted), and answer with [`NormalizedError::to_http_response`].

use crate::error::NormalizedError;
use crate::normalize::Normalizer;
use crate::table::Style;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, Response, StatusCode};

/// The header the request id is sent back in.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// An upstream response whose body bytes are at hand: an `http::Response<B>` with
/// `B: AsRef<[u8]>` (such as `Vec<u8>`, `bytes::Bytes` or `String`), or a
/// `(StatusCode, &HeaderMap, &B)` triple with the same bodies (`&[u8]`, `&Bytes`, ...).
///
/// ```
/// use llm_error_taxonomy::{normalize_response, ErrorCode};
/// use http::{HeaderMap, StatusCode};
///
/// let body: Vec<u8> = br#"{"error": {"type": "overloaded_error", "message": "Overloaded"}}"#.to_vec();
/// let headers = HeaderMap::new();
/// let err = normalize_response(None, (StatusCode::from_u16(529).unwrap(), &headers, &body));
/// assert_eq!(err.code(), ErrorCode::ModelOverloaded);
/// let err = normalize_response(None, (StatusCode::from_u16(529).unwrap(), &headers, &body[..]));
/// assert_eq!(err.code(), ErrorCode::ModelOverloaded);
/// ```
pub trait UpstreamResponse {
    /// The status, headers and body.
    fn parts(&self) -> (StatusCode, &HeaderMap, &[u8]);
}

impl<B: AsRef<[u8]>> UpstreamResponse for Response<B> {
    fn parts(&self) -> (StatusCode, &HeaderMap, &[u8]) {
        (self.status(), self.headers(), self.body().as_ref())
    }
}

impl<B: AsRef<[u8]> + ?Sized> UpstreamResponse for (StatusCode, &HeaderMap, &B) {
    fn parts(&self) -> (StatusCode, &HeaderMap, &[u8]) {
        (self.0, self.1, self.2.as_ref())
    }
}

impl<T: UpstreamResponse + ?Sized> UpstreamResponse for &T {
    fn parts(&self) -> (StatusCode, &HeaderMap, &[u8]) {
        (**self).parts()
    }
}

/// Normalizes an upstream response with the default [`Normalizer`].
///
/// ```
/// use llm_error_taxonomy::{normalize_response, ErrorCode, Style};
/// use http::{HeaderMap, StatusCode};
///
/// let upstream = http::Response::builder()
///     .status(429)
///     .header("retry-after", "7")
///     .header("x-request-id", "req_123")
///     .body(r#"{"error": {"code": "RATE_LIMITED", "message": "Rate limit exceeded. Please retry shortly", "retryable": true}}"#)
///     .unwrap();
/// let err = normalize_response(None, &upstream);
/// assert_eq!(err.code(), ErrorCode::RateLimited);
/// assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(7)));
///
/// // The same from parts a client library hands out.
/// let headers = HeaderMap::new();
/// let err = normalize_response(Some(Style::ModelSwitch), (StatusCode::SERVICE_UNAVAILABLE, &headers, &b""[..]));
/// assert_eq!(err.code(), ErrorCode::ServiceUnavailable);
/// ```
pub fn normalize_response(style: Option<Style>, response: impl UpstreamResponse) -> NormalizedError {
    Normalizer::DEFAULT.normalize_response(style, response)
}

impl Normalizer {
    /// Normalizes an upstream response; see [`normalize_response`].
    pub fn normalize_response(&self, style: Option<Style>, response: impl UpstreamResponse) -> NormalizedError {
        let (status, headers, body) = response.parts();
        self.normalize(style, status, headers, body)
    }
}

impl NormalizedError {
    /// The response for the client: the code's status, `content-type: application/json`,
    /// `x-should-retry: true|false` (the code's retryable flag), `Retry-After` in seconds when
    /// known, `x-request-id` when known (other than visible ASCII percent-escaped), and the JSON
    /// envelope.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, NormalizedError};
    /// use std::time::Duration;
    ///
    /// let err = NormalizedError::new(ErrorCode::RateLimited)
    ///     .with_retry_after(Duration::from_secs(12))
    ///     .with_request_id("req_42");
    /// let reply = err.to_http_response();
    /// assert_eq!(reply.status(), 429);
    /// assert_eq!(reply.headers()["content-type"], "application/json");
    /// assert_eq!(reply.headers()["retry-after"], "12");
    /// assert_eq!(reply.headers()["x-request-id"], "req_42");
    /// assert_eq!(reply.body(), err.to_json().as_bytes());
    /// ```
    pub fn to_http_response(&self) -> Response<Vec<u8>> {
        self.to_http_response_in(crate::WireFormat::ModelRoute)
    }

    /// The client's response with `body` of `content_type`: the code's status and headers.
    pub(crate) fn http_response_with(&self, body: String, content_type: &'static str) -> Response<Vec<u8>> {
        let mut response = Response::new(body.into_bytes());
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        // Obeyed by the OpenAI and Anthropic SDKs before their own rules.
        headers.insert(
            "x-should-retry",
            HeaderValue::from_static(if self.code.is_retryable() { "true" } else { "false" }),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        // Header values are visible ASCII here: any other character of the id is percent-escaped
        // (its UTF-8 bytes), as the body keeps it whole.
        if let Some(id) = self.request_id() {
            let mut escaped = String::with_capacity(id.len());
            for b in id.bytes() {
                if b.is_ascii_graphic() && b != b'%' || b == b' ' {
                    escaped.push(char::from(b));
                } else {
                    escaped.push_str(&format!("%{b:02X}"));
                }
            }
            if let Ok(value) = HeaderValue::from_str(escaped.trim()) {
                headers.insert(REQUEST_ID_HEADER, value);
            }
        }
        response
    }

    /// The error as one server-sent event, `event: error` with the envelope as its data, for
    /// a stream whose `200 OK` has already been sent.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, NormalizedError};
    /// let event = NormalizedError::new(ErrorCode::GenerationFailed).to_sse_event();
    /// assert!(event.starts_with("event: error\ndata: {\"error\":{\"code\":\"GENERATION_FAILED\""));
    /// assert!(event.ends_with("}}\n\n"));
    /// ```
    pub fn to_sse_event(&self) -> String {
        // Compact JSON holds no raw line breaks, so the envelope is one `data` line.
        format!("event: error\ndata: {}\n\n", self.to_json())
    }
}
