//! The 12 normalized error codes, generated from `taxonomy/codes.json`.

include!(concat!(env!("OUT_DIR"), "/codes.rs"));

impl ErrorCode {
    /// The HTTP status a gateway answers with for this code.
    ///
    /// ```
    /// use llm_error_taxonomy::ErrorCode;
    /// assert_eq!(ErrorCode::RateLimited.http_status(), http::StatusCode::TOO_MANY_REQUESTS);
    /// ```
    pub fn http_status(self) -> http::StatusCode {
        // Every status in codes.json is validated to lie in 400-599 at build time.
        http::StatusCode::from_u16(self.status_u16()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl Field {
    /// The field's name in the tables, such as `"retry_after"`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}
