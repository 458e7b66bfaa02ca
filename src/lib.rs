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
//! What each style means is not written in Rust: the JSON tables in `taxonomy/` are compiled
//! by the build script into the [`ErrorCode`] and [`Style`] enums and the rules in [`table`],
//! each rule citing the document line it implements.
//!
//! Guarantees: every input maps to one of the 12 codes without panicking; the same input
//! gives byte-identical output; the body is read once, borrowing only the fields the tables
//! locate; secrets in upstream text are redacted; every string, list and delay is bounded by
//! [`Limits`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod code;
mod detect;
mod error;
mod limits;
mod normalize;
mod redact;
mod retry_after;
pub mod table;

pub use code::{ErrorCode, Field};
pub use detect::detect;
pub use error::{Detail, NormalizedError, Upstream};
pub use limits::Limits;
pub use normalize::{Normalizer, normalize};
pub use redact::redact;
pub use retry_after::Clock;
pub use table::Style;
