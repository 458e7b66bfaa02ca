//! Recognizing a style from a response's shape.

use crate::body::{Captures, Value};
use crate::limits::Limits;
use crate::retry_after::Clock;
use crate::table::{DETECT_ORDER, Location, Style, StyleTable};
use crate::view::{Facts, Reads, View};
use http::{HeaderMap, StatusCode};

/// The style whose signature a response matches, trying styles in the tables' order.
///
/// `None` when the response matches no style's signature; normalizing with no style then
/// reads it generically.
///
/// ```
/// use llm_error_taxonomy::{detect, Style};
/// use http::{HeaderMap, StatusCode};
///
/// let body = br#"{"error": {"code": "RATE_LIMITED", "message": "Rate limit exceeded", "retryable": true}}"#;
/// assert_eq!(detect(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body), Some(Style::ModelRoute));
/// assert_eq!(detect(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"<html>Bad gateway</html>"), None);
/// ```
pub fn detect(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Option<Style> {
    let caps = Captures::read(body, &Limits::DEFAULT);
    detect_in(View::new(StyleTable::generic(), caps.as_ref(), headers, None, Clock::System), status, &Reads::new())
}

/// [`detect`] on a response already read (`response`'s table is not used), its fields read into
/// or found in `reads`.
pub(crate) fn detect_in<'x>(response: View<'x, '_>, status: StatusCode, reads: &Reads<'x>) -> Option<Style> {
    let View { caps, headers, event, .. } = response;
    if caps.is_none_or(Captures::is_empty) && headers.is_empty() && event.is_none() {
        return None;
    }
    let seen = reads.seen(&response);
    DETECT_ORDER.into_iter().find(|style| {
        let table = style.table();
        let Some(detect) = &table.detect else { return false };
        // A style none of whose signatures the response can meet is passed over unread.
        if detect.any.as_ref().is_some_and(|any| !seen.meets(std::slice::from_ref(any))) {
            return false;
        }
        let mut signatures = detect.signatures.iter().filter(|sig| seen.meets(sig.need)).peekable();
        if signatures.peek().is_none() {
            return false;
        }
        let view = View { table, ..response };
        let facts = Facts::new(&view, status, reads);
        let body = |loc: &Location| match (loc, caps) {
            (Location::Body { path, .. }, Some(c)) => c.get(*path),
            _ => None,
        };
        signatures.any(|sig| {
            sig.present.iter().all(|loc| body(loc).is_some())
                && sig.numeric.iter().all(|loc| matches!(body(loc), Some(Value::Int(_) | Value::Float(_))))
                // The signature's need, met above, holds its condition's.
                && facts.tests_hold(&sig.when)
        })
    })
}
