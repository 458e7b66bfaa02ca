//! Turn any upstream LLM provider's error response into one of 12 deterministic codes.
//!
//! A gateway calls [`normalize`] on every failed upstream response: the HTTP status,
//! headers and body, in whichever provider's error style, become a [`NormalizedError`] with
//! one of the 12 [`ErrorCode`]s, the code's fixed HTTP status and retryable flag, a cleaned
//! message, field-level details, the retry delay, the request id and what upstream said.
//!
//! ```
//! use llm_error_taxonomy::{normalize, ErrorCode, Style};
//! use http::{HeaderMap, StatusCode};
//!
//! let body = br#"{"error": {"code": "context_length_exceeded", "status": 400,
//!   "message": "This model's maximum context length is 128000 tokens. Your request used 141,234 tokens.",
//!   "model_max_tokens": 128000, "request_tokens": 141234}}"#;
//! let err = normalize(Some(Style::MoltbotDen), StatusCode::BAD_REQUEST, &HeaderMap::new(), body);
//!
//! assert_eq!(err.code(), ErrorCode::InputValidationError);
//! assert_eq!(err.details()[0].field.as_deref(), Some("messages"));
//! assert_eq!(err.details()[0].figures["model_max_tokens"], 128000);
//! assert!(!err.is_retryable());
//! ```
//!
//! Around it, the rest of a gateway's error path: [`normalize_response`] reads an
//! `http::Response` and [`NormalizedError::to_http_response`] answers the client;
//! [`RetryPolicy::advise`] says whether and when to retry and [`NormalizedError::fallback`]
//! whether another model is worth trying; [`StreamReader`] finds the errors inside a
//! server-sent event stream and whether output was already delivered; and
//! [`Normalizer::remap_reason`] and [`Normalizer::remap_upstream_code`] change a mapping at
//! run time.
//!
//! What each style means is not written in Rust: the JSON tables in `taxonomy/` are compiled
//! by the build script into the [`ErrorCode`] and [`Style`] enums and the rules in [`table`],
//! each rule citing the document line it implements.
//!
//! Guarantees: every input maps to one of the 12 codes without panicking; the same input
//! gives byte-identical output; the body is read once, borrowing only the fields the tables
//! locate; secrets in upstream text are redacted; every string, list and delay is bounded by
//! [`Limits`].
#![doc = include_str!(concat!(env!("OUT_DIR"), "/crate_codes.md"))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "axum")]
mod axum;
mod body;
mod code;
mod detect;
#[cfg(feature = "docs")]
pub mod docs;
mod error;
mod eventstream;
mod fallback;
mod few;
#[cfg(feature = "futures")]
mod forward;
mod http;
mod limits;
mod normalize;
mod phrases;
mod redact;
#[cfg(feature = "reqwest")]
mod reqwest;
mod retry;
mod retry_after;
mod scan;
mod stream;
pub mod table;
mod transport;
mod view;
mod wire;

#[cfg(feature = "axum")]
pub use axum::InFormat;
pub use code::{ErrorCode, Field, TransportFailure};
pub use detect::detect;
pub use error::{Detail, NormalizedError, Upstream};
pub use fallback::{FallbackAdvice, FallbackReason, FallbackTarget};
#[cfg(feature = "futures")]
pub use forward::{ForwardStream, StreamOutcome};
pub use http::{REQUEST_ID_HEADER, UpstreamResponse, normalize_response};
pub use limits::Limits;
pub use normalize::{Normalizer, normalize};
pub use redact::redact;
pub use retry::{GiveUp, RetryAdvice, RetryPolicy};
pub use retry_after::Clock;
pub use stream::{StreamError, StreamPhase, StreamReader, is_event_stream};
pub use table::{Style, reason};
pub use transport::transport_failure;
pub use wire::{WireBody, WireFormat};

/// The README's examples, compiled and run as doctests (`cargo test --all-features`: some use the
/// integrations).
#[doc = include_str!("../README.md")]
#[cfg(all(doctest, feature = "axum", feature = "futures", feature = "reqwest"))]
pub struct ReadmeDoctests;
