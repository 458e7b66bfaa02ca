//! axum's `IntoResponse` for the normalized error (feature `axum`).

use crate::error::NormalizedError;
use crate::wire::WireFormat;
use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};

/// The client's response, as [`NormalizedError::to_http_response`] gives it: a handler can
/// return the error itself.
///
/// ```
/// use axum_core::response::IntoResponse;
/// use llm_error_taxonomy::{ErrorCode, NormalizedError};
///
/// let response = NormalizedError::new(ErrorCode::RateLimited).into_response();
/// assert_eq!(response.status(), 429);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
impl IntoResponse for NormalizedError {
    fn into_response(self) -> Response {
        self.to_http_response().map(Body::from)
    }
}

/// An error to answer in a client's wire format ([`NormalizedError::in_format`]).
#[derive(Debug, Clone)]
pub struct InFormat {
    error: NormalizedError,
    format: WireFormat,
}

impl NormalizedError {
    /// The error as a response in `format`, for a handler to return: what
    /// [`to_http_response_in`](NormalizedError::to_http_response_in) gives.
    ///
    /// ```
    /// use axum_core::response::IntoResponse;
    /// use llm_error_taxonomy::{ErrorCode, NormalizedError, WireFormat};
    ///
    /// let response = NormalizedError::new(ErrorCode::InternalError).in_format(WireFormat::OpenAi).into_response();
    /// assert_eq!(response.status(), 500);
    /// assert_eq!(response.headers()["x-should-retry"], "false");
    /// ```
    pub fn in_format(self, format: WireFormat) -> InFormat {
        InFormat { error: self, format }
    }
}

impl IntoResponse for InFormat {
    fn into_response(self) -> Response {
        self.error.to_http_response_in(self.format).map(Body::from)
    }
}
