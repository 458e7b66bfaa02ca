//! Recognizing a style from a response's shape.

use crate::body::{Captures, Value};
use crate::code::Field;
use crate::limits::Limits;
use crate::normalize::{Facts, View};
use crate::table::{DETECT_ORDER, Location, Style};
use http::{HeaderMap, StatusCode};

/// The style whose signature a response matches, trying styles in the tables' priority order.
///
/// `None` when the body is not a JSON object or matches no style's signature; normalizing
/// with no style then reads it generically.
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
    let caps = Captures::read(body, &Limits::DEFAULT)?;
    detect_in(&caps, status, headers)
}

pub(crate) fn detect_in(caps: &Captures<'_>, status: StatusCode, headers: &HeaderMap) -> Option<Style> {
    if caps.is_empty() {
        return None;
    }
    DETECT_ORDER.into_iter().find(|style| {
        let table = style.table();
        let Some(detect) = &table.detect else { return false };
        let view = View { table, caps: Some(caps), headers };
        let code = view.text(Field::Code);
        let type_ = view.text(Field::Type);
        let message = view.text(Field::Message);
        let facts = Facts {
            status: view.effective_status(status),
            code: code.as_deref(),
            type_: type_.as_deref(),
            upstream_status: view.value(Field::UpstreamStatus).and_then(|v| v.as_status()),
            message: message.as_deref(),
        };
        detect.signatures.iter().any(|sig| {
            sig.present.iter().all(|loc| matches!(loc, Location::Body(i) if caps.get(*i).is_some()))
                && sig.numeric.iter().all(|loc| {
                    matches!(loc, Location::Body(i) if matches!(caps.get(*i), Some(Value::Int(_) | Value::Float(_))))
                })
                && sig.when.holds(&facts)
        })
    })
}
