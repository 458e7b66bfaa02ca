//! The error in the wire format of the API a gateway exposes.
//!
//! A gateway that serves an OpenAI-compatible API answers its clients with OpenAI's error
//! object, one that serves Anthropic's Messages API with Anthropic's, and so on: the clients'
//! SDKs read the status and the body and raise their own exception classes. Each code's name
//! in each format is table data (`wire` in `taxonomy/codes.json`); the HTTP status is always
//! the code's own.
//!
//! | format | body | stream error |
//! |---|---|---|
//! | [`WireFormat::ModelRoute`] | `{"error": {"code", "message", "retryable", "status", ...}}` | `event: error` |
//! | [`WireFormat::OpenAi`] | `{"error": {"message", "type", "param", "code"}}` | `data:` only |
//! | [`WireFormat::Anthropic`] | `{"type": "error", "error": {"type", "message"}, "request_id"}` | `event: error` |
//! | [`WireFormat::Gemini`] | google.rpc.Status: `{"error": {"code", "message", "status", "details"}}` | `data:` only |
//! | [`WireFormat::Problem`] | RFC 9457 problem details, `application/problem+json` | `event: error` |
//!
//! Every response also carries `x-should-retry: true|false`, which the OpenAI and Anthropic
//! SDKs obey before their own rules (they retry every 5xx otherwise, `INTERNAL_ERROR` among
//! them), `Retry-After` when the delay is known and the request id.

use crate::error::NormalizedError;
use http::Response;
use serde::Serialize;

/// A client-facing error format.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
    strum::Display,
)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
#[non_exhaustive]
pub enum WireFormat {
    /// The crate's own envelope ([`NormalizedError::to_json`]).
    #[default]
    #[strum(serialize = "modelroute")]
    ModelRoute,
    /// OpenAI's error object, `{"error": {"message", "type", "param", "code"}}`.
    #[strum(serialize = "openai")]
    OpenAi,
    /// Anthropic's, `{"type": "error", "error": {"type", "message"}}`, with Anthropic's types only.
    Anthropic,
    /// Google's google.rpc.Status, as the Gemini API answers.
    Gemini,
    /// RFC 9457 problem details.
    Problem,
}

impl WireFormat {
    /// The name the command line takes, such as `"openai"`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The body's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            WireFormat::Problem => "application/problem+json",
            _ => "application/json",
        }
    }
}

/// Where [`WireFormat::Problem`]'s `type` points: the code's documentation.
const PROBLEM_TYPE_BASE: &str =
    "https://docs.rs/llm-error-taxonomy/latest/llm_error_taxonomy/enum.ErrorCode.html#variant.";

impl NormalizedError {
    /// The error's body in `format`, as compact JSON.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, NormalizedError, WireFormat};
    ///
    /// let err = NormalizedError::new(ErrorCode::RateLimited).with_message("Slow down");
    /// assert_eq!(
    ///     err.to_json_in(WireFormat::OpenAi),
    ///     r#"{"error":{"message":"Slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#
    /// );
    /// assert_eq!(
    ///     err.to_json_in(WireFormat::Anthropic),
    ///     r#"{"type":"error","error":{"type":"rate_limit_error","message":"Slow down"}}"#
    /// );
    /// ```
    pub fn to_json_in(&self, format: WireFormat) -> String {
        match format {
            WireFormat::ModelRoute => self.to_json(),
            // Serializing these structs cannot fail: their keys are strings.
            _ => serde_json::to_string(&self.as_wire(format)).unwrap_or_default(),
        }
    }

    /// The error's body in `format`, for any serde serializer (a pretty printer, a writer
    /// straight into a response buffer).
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, NormalizedError, WireFormat};
    ///
    /// let err = NormalizedError::new(ErrorCode::InsufficientBalance);
    /// let pretty = serde_json::to_string_pretty(&err.as_wire(WireFormat::Gemini)).unwrap();
    /// assert!(pretty.contains(r#""status": "FAILED_PRECONDITION""#));
    /// ```
    pub fn as_wire(&self, format: WireFormat) -> WireBody<'_> {
        WireBody { err: self, format }
    }

    /// The response for a client of `format`'s API: the body in `format` with its content
    /// type, and the status and headers of [`to_http_response`](NormalizedError::to_http_response)
    /// (`x-should-retry`, `Retry-After`, the request id).
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, NormalizedError, WireFormat};
    ///
    /// let reply = NormalizedError::new(ErrorCode::InternalError).to_http_response_in(WireFormat::OpenAi);
    /// assert_eq!(reply.status(), 500);
    /// // The OpenAI SDKs retry every 5xx unless told not to.
    /// assert_eq!(reply.headers()["x-should-retry"], "false");
    /// ```
    pub fn to_http_response_in(&self, format: WireFormat) -> Response<Vec<u8>> {
        self.http_response_with(self.to_json_in(format), format.content_type())
    }

    /// The error as one server-sent event in `format`, for a stream whose `200 OK` has already
    /// been sent: `event: error` and the body, except for OpenAI's and Gemini's streams, which
    /// carry an error as a `data:` line alone.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, NormalizedError, WireFormat};
    ///
    /// let err = NormalizedError::new(ErrorCode::ModelOverloaded).with_message("Overloaded");
    /// assert_eq!(
    ///     err.to_sse_event_in(WireFormat::Anthropic),
    ///     "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
    /// );
    /// ```
    pub fn to_sse_event_in(&self, format: WireFormat) -> String {
        let data = self.to_json_in(format);
        match format {
            WireFormat::OpenAi | WireFormat::Gemini => format!("data: {data}\n\n"),
            _ => format!("event: error\ndata: {data}\n\n"),
        }
    }
}

/// An error in a wire format, to serialize ([`NormalizedError::as_wire`]).
#[derive(Debug, Clone, Copy)]
pub struct WireBody<'a> {
    err: &'a NormalizedError,
    format: WireFormat,
}

impl Serialize for WireBody<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let err = self.err;
        let code = err.code;
        let message = err.message();
        let request_id = err.request_id();
        match self.format {
            WireFormat::ModelRoute => err.serialize(s),
            WireFormat::OpenAi => {
                let first = err.details.first();
                // A reason is OpenAI's own kind of code (`context_length_exceeded`).
                let reason = first.and_then(|d| d.code.as_deref()).map(str::to_ascii_lowercase);
                let error = OpenAiError {
                    message,
                    type_: code.openai_type(),
                    param: first.and_then(|d| d.field.as_deref()),
                    code: reason.as_deref().unwrap_or(code.openai_code()),
                };
                Enveloped { error }.serialize(s)
            }
            WireFormat::Anthropic => AnthropicBody {
                type_: "error",
                error: AnthropicError { type_: code.anthropic_type(), message },
                request_id,
            }
            .serialize(s),
            WireFormat::Gemini => {
                let mut details = vec![GoogleDetail::ErrorInfo {
                    type_: "type.googleapis.com/google.rpc.ErrorInfo",
                    reason: code.as_str(),
                    domain: "llm-error-taxonomy",
                    metadata: err.reason().map(|reason| Metadata { reason }),
                }];
                let violations: Vec<FieldViolation<'_>> = err
                    .details
                    .iter()
                    .filter_map(|d| {
                        Some(FieldViolation {
                            field: d.field.as_deref()?,
                            description: d.message.as_deref().unwrap_or(message),
                        })
                    })
                    .collect();
                if !violations.is_empty() {
                    details.push(GoogleDetail::BadRequest {
                        type_: "type.googleapis.com/google.rpc.BadRequest",
                        field_violations: violations,
                    });
                }
                if let Some(secs) = err.retry_after {
                    details.push(GoogleDetail::RetryInfo {
                        type_: "type.googleapis.com/google.rpc.RetryInfo",
                        retry_delay: format!("{secs}s"),
                    });
                }
                if let Some(request_id) = request_id {
                    details.push(GoogleDetail::RequestInfo {
                        type_: "type.googleapis.com/google.rpc.RequestInfo",
                        request_id,
                    });
                }
                let error = GoogleStatus { code: code.status_u16(), message, status: code.google_status(), details };
                Enveloped { error }.serialize(s)
            }
            WireFormat::Problem => Problem {
                type_: format!("{PROBLEM_TYPE_BASE}{}", variant_name(code.as_str())),
                title: code.default_message(),
                status: code.status_u16(),
                detail: message,
                code: code.as_str(),
                retryable: code.is_retryable(),
                details: &err.details,
                retry_after: err.retry_after,
                request_id,
            }
            .serialize(s),
        }
    }
}

#[derive(Serialize)]
struct Enveloped<T> {
    error: T,
}

#[derive(Serialize)]
struct OpenAiError<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    type_: &'static str,
    param: Option<&'a str>,
    code: &'a str,
}

#[derive(Serialize)]
struct AnthropicBody<'a> {
    #[serde(rename = "type")]
    type_: &'static str,
    error: AnthropicError<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

#[derive(Serialize)]
struct AnthropicError<'a> {
    #[serde(rename = "type")]
    type_: &'static str,
    message: &'a str,
}

#[derive(Serialize)]
struct GoogleStatus<'a> {
    code: u16,
    message: &'a str,
    status: &'static str,
    details: Vec<GoogleDetail<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum GoogleDetail<'a> {
    ErrorInfo {
        #[serde(rename = "@type")]
        type_: &'static str,
        reason: &'static str,
        domain: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        metadata: Option<Metadata<'a>>,
    },
    BadRequest {
        #[serde(rename = "@type")]
        type_: &'static str,
        #[serde(rename = "fieldViolations")]
        field_violations: Vec<FieldViolation<'a>>,
    },
    RetryInfo {
        #[serde(rename = "@type")]
        type_: &'static str,
        #[serde(rename = "retryDelay")]
        retry_delay: String,
    },
    RequestInfo {
        #[serde(rename = "@type")]
        type_: &'static str,
        #[serde(rename = "requestId")]
        request_id: &'a str,
    },
}

#[derive(Serialize)]
struct Metadata<'a> {
    reason: &'a str,
}

#[derive(Serialize)]
struct FieldViolation<'a> {
    field: &'a str,
    description: &'a str,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: &'static str,
    status: u16,
    detail: &'a str,
    code: &'static str,
    retryable: bool,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    details: &'a [crate::error::Detail],
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// `RATE_LIMITED` as rustdoc names its variant, `RateLimited`.
fn variant_name(code: &str) -> String {
    code.split('_')
        .map(|w| {
            let mut cs = w.chars();
            cs.next().map(|c| c.to_string() + &cs.as_str().to_ascii_lowercase()).unwrap_or_default()
        })
        .collect()
}
