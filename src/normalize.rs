//! Turning an upstream response into a [`NormalizedError`].

use crate::body::{Captures, RawDetail, Value};
use crate::code::{ErrorCode, Field};
use crate::error::{Detail, NormalizedError, Upstream};
use crate::limits::Limits;
use crate::redact::clean;
use crate::retry_after::{self, Clock};
use crate::table::{Condition, Location, Rule, Style, StyleTable};
use http::{HeaderMap, StatusCode};
use std::borrow::Cow;

/// Normalizes with the default [`Normalizer`]: default limits, the system clock.
///
/// `style` is the upstream's style when the caller knows it; with `None` the style is
/// [detected](crate::detect) from the body's shape, and a body of no known style is read
/// generically (OpenAI-shaped). Total: every input yields one of the 12 codes, without panicking.
///
/// ```
/// use llm_error_taxonomy::{normalize, ErrorCode};
/// use http::{HeaderMap, StatusCode};
///
/// let body = br#"{"error": {"code": "provider_error", "message": "The upstream provider (anthropic) returned an error.",
///                  "status": 500, "provider": "anthropic", "upstream_status": 529}}"#;
/// let err = normalize(None, StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new(), body);
/// assert_eq!(err.code(), ErrorCode::ModelOverloaded);
/// assert_eq!(err.upstream().provider.as_deref(), Some("anthropic"));
/// ```
pub fn normalize(style: Option<Style>, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> NormalizedError {
    Normalizer::DEFAULT.normalize(style, status, headers, body)
}

/// Normalizes upstream responses with configurable limits and clock.
///
/// ```
/// use llm_error_taxonomy::{Clock, Limits, Normalizer, Style, ErrorCode};
/// use http::{HeaderMap, StatusCode};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let mut limits = Limits::default();
/// limits.max_body_bytes = 16 * 1024;
/// let normalizer = Normalizer::new().with_limits(limits).with_clock(Clock::Fixed(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
/// let err = normalizer.normalize(Some(Style::ModelRoute), StatusCode::SERVICE_UNAVAILABLE, &HeaderMap::new(), b"");
/// assert_eq!(err.code(), ErrorCode::ServiceUnavailable);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    limits: Limits,
    clock: Clock,
    overrides: Vec<Override>,
}

/// A run-time remapping to another code, set with [`Normalizer::remap_reason`] or
/// [`Normalizer::remap_upstream_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Override {
    when: OverrideWhen,
    to: ErrorCode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum OverrideWhen {
    Reason(String),
    UpstreamCode(Option<Style>, String),
}

impl Override {
    fn matches(&self, style: Option<Style>, reason: Option<&str>, upstream_code: Option<&str>) -> bool {
        match &self.when {
            OverrideWhen::Reason(r) => reason == Some(r.as_str()),
            OverrideWhen::UpstreamCode(s, c) => s.is_none_or(|s| style == Some(s)) && upstream_code == Some(c.as_str()),
        }
    }
}

/// `true` or `false`, as a JSON boolean or a string such as a header value.
fn flag(v: &Value<'_>) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Str(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::Str(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The facts rules test, read through one table.
#[derive(Debug, Default)]
pub(crate) struct Facts<'x> {
    pub status: u16,
    pub code: Option<&'x str>,
    pub type_: Option<&'x str>,
    pub upstream_status: Option<u16>,
    pub message: Option<&'x str>,
}

/// A response read through one table: body captures and headers.
pub(crate) struct View<'x, 'a> {
    pub table: &'static StyleTable,
    pub caps: Option<&'x Captures<'a>>,
    pub headers: &'x HeaderMap,
}

impl<'x, 'a> View<'x, 'a> {
    /// The first located value of `field`.
    pub(crate) fn value(&self, field: Field) -> Option<Cow<'x, Value<'a>>> {
        self.table.locations(field).iter().find_map(|loc| match *loc {
            Location::Body(i) => self.caps?.get(i).map(Cow::Borrowed),
            Location::Header(_) if self.headers.is_empty() => None,
            Location::Header(h) => {
                let v = self.headers.get(h)?.to_str().ok()?;
                Some(Cow::Owned(Value::Str(Cow::Owned(v.to_owned()))))
            }
        })
    }

    /// The first located string of `field` (body strings borrow; header strings are copied).
    pub(crate) fn text(&self, field: Field) -> Option<Cow<'x, str>> {
        self.table.locations(field).iter().find_map(|loc| match *loc {
            Location::Body(i) => self.caps?.get(i)?.as_str().map(Cow::Borrowed),
            Location::Header(_) if self.headers.is_empty() => None,
            Location::Header(h) => self.headers.get(h)?.to_str().ok().map(|s| Cow::Owned(s.to_owned())),
        })
    }

    /// Whether the body holds this table's envelope: a message, code or type was found in the
    /// body as text (a code may also be a number).
    pub(crate) fn has_envelope(&self) -> bool {
        let Some(caps) = self.caps else { return false };
        [Field::Message, Field::Code, Field::Type].iter().any(|&f| {
            self.table.locations(f).iter().any(|l| match (l, f) {
                (Location::Body(i), Field::Code) => matches!(caps.get(*i), Some(Value::Str(_) | Value::Int(_))),
                (Location::Body(i), _) => matches!(caps.get(*i), Some(Value::Str(_))),
                (Location::Header(_), _) => false,
            })
        })
    }

    /// The status the rules see: the response's if it is an error status, else the body's,
    /// else 500 (an error reported without an error status is an upstream failure).
    pub(crate) fn effective_status(&self, status: StatusCode) -> u16 {
        let s = status.as_u16();
        if (400..=599).contains(&s) {
            return s;
        }
        self.value(Field::Status).and_then(|v| v.as_status()).filter(|s| (400..=599).contains(s)).unwrap_or(500)
    }
}

/// Whether `message` contains `phrase` (lowercase ASCII), ignoring ASCII case.
fn contains_phrase(message: &str, phrase: &str) -> bool {
    let (m, p) = (message.as_bytes(), phrase.as_bytes());
    !p.is_empty() && m.len() >= p.len() && m.windows(p.len()).any(|w| w.eq_ignore_ascii_case(p))
}

impl Condition {
    pub(crate) fn holds(&self, f: &Facts<'_>) -> bool {
        (self.status.is_empty() || self.status.iter().any(|p| p.matches(f.status)))
            && (self.code.is_empty() || f.code.is_some_and(|c| self.code.contains(&c)))
            && (self.type_.is_empty() || f.type_.is_some_and(|t| self.type_.contains(&t)))
            && (self.upstream_status.is_empty()
                || f.upstream_status.is_some_and(|u| self.upstream_status.iter().any(|p| p.matches(u))))
            && (self.message.is_empty()
                || f.message.is_some_and(|m| self.message.iter().any(|p| contains_phrase(m, p))))
    }
}

/// The first rule of `table` that holds.
pub(crate) fn first_match(table: &'static StyleTable, facts: &Facts<'_>) -> Option<&'static Rule> {
    table.rules.iter().find(|r| r.when.holds(facts))
}

fn figure(v: &Value<'_>) -> Option<serde_json::Value> {
    match v {
        Value::Str(s) => Some(serde_json::Value::String(s.to_string())),
        Value::Int(i) => Some((*i).into()),
        Value::Float(f) => serde_json::Number::from_f64(*f).map(serde_json::Value::Number),
        Value::Bool(b) => Some((*b).into()),
        Value::Details(_) => None,
    }
}

fn raw_detail(d: &RawDetail<'_>, limits: &Limits) -> Detail {
    let short =
        |s: &Option<Cow<'_, str>>| s.as_deref().map(|s| clean(s, limits.max_field_bytes)).filter(|s| !s.is_empty());
    Detail {
        field: short(&d.field),
        code: short(&d.code),
        message: d.message.as_deref().map(|m| clean(m, limits.max_message_bytes)).filter(|s| !s.is_empty()),
        figures: d
            .figures
            .iter()
            .filter_map(|(k, v)| Some((clean(k, limits.max_field_bytes), figure(v)?)))
            .filter(|(k, _)| crate::error::is_figure_name(k))
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, serde_json::Value::String(clean(&s, limits.max_field_bytes))),
                v => (k, v),
            })
            .collect(),
    }
}

impl Normalizer {
    /// The default normalizer, usable in `const` context.
    pub const DEFAULT: Normalizer = Normalizer { limits: Limits::DEFAULT, clock: Clock::System, overrides: Vec::new() };

    /// A normalizer with default limits and the system clock.
    pub fn new() -> Self {
        Normalizer::DEFAULT
    }

    /// Sets the resource limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets where "now" comes from for HTTP-dates when the response has no `Date` header.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Maps every error whose reason (its first detail's code, such as `INVALID_API_KEY`) is
    /// `reason` to `code`, at run time and without editing the tables.
    ///
    /// Overrides are tried in the order they were added; the first that matches wins. The
    /// status and retryable flag follow the new code, and a retry delay is kept only if the new
    /// code is retryable.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, Normalizer, Style};
    /// use http::{HeaderMap, StatusCode};
    ///
    /// // A client-side tool whose user supplies the key: a rejected key is the caller's input.
    /// let normalizer = Normalizer::new().remap_reason("INVALID_API_KEY", ErrorCode::InputValidationError);
    /// let body = br#"{"error": {"message": "Invalid API key", "type": "authentication_error", "code": "invalid_api_key"}}"#;
    /// let err = normalizer.normalize(Some(Style::ModelBridge), StatusCode::UNAUTHORIZED, &HeaderMap::new(), body);
    /// assert_eq!(err.code(), ErrorCode::InputValidationError);
    /// assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    /// assert_eq!(err.reason(), Some("INVALID_API_KEY"));
    /// ```
    #[must_use]
    pub fn remap_reason(mut self, reason: &str, code: ErrorCode) -> Self {
        self.overrides.push(Override { when: OverrideWhen::Reason(reason.to_owned()), to: code });
        self
    }

    /// Maps every error whose upstream code (the body's own, such as `timeout`) is
    /// `upstream_code` to `code`: in one style, or in any with `None`. Tried in order with
    /// [`remap_reason`](Normalizer::remap_reason) overrides.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, Normalizer, Style};
    /// use http::{HeaderMap, StatusCode};
    ///
    /// let normalizer = Normalizer::new().remap_upstream_code(Style::ModelBridge, "timeout", ErrorCode::ModelOverloaded);
    /// let body = br#"{"error": {"message": "Upstream request timed out", "type": "server_error", "code": "timeout"}}"#;
    /// let err = normalizer.normalize(Some(Style::ModelBridge), StatusCode::GATEWAY_TIMEOUT, &HeaderMap::new(), body);
    /// assert_eq!(err.code(), ErrorCode::ModelOverloaded);
    /// assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// assert!(err.is_retryable());
    /// ```
    #[must_use]
    pub fn remap_upstream_code(
        mut self,
        style: impl Into<Option<Style>>,
        upstream_code: &str,
        code: ErrorCode,
    ) -> Self {
        self.overrides
            .push(Override { when: OverrideWhen::UpstreamCode(style.into(), upstream_code.to_owned()), to: code });
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The code an error ends with after the overrides.
    fn remapped(
        &self,
        code: ErrorCode,
        style: Option<Style>,
        reason: Option<&str>,
        upstream_code: Option<&str>,
    ) -> ErrorCode {
        self.overrides.iter().find(|o| o.matches(style, reason, upstream_code)).map_or(code, |o| o.to)
    }

    /// Applies the overrides to an error the crate made itself (such as a dropped stream).
    pub(crate) fn apply_overrides(&self, err: &mut NormalizedError) {
        if self.overrides.is_empty() {
            return;
        }
        let old = err.code;
        let new = self.remapped(old, err.upstream.style, err.reason(), err.upstream.code.as_deref());
        if new != old {
            err.code = new;
            if !new.is_retryable() {
                err.retry_after = None;
            }
            if err.message == old.default_message() {
                new.default_message().clone_into(&mut err.message);
            }
        }
    }

    /// Normalizes one upstream error response; see [`normalize`].
    pub fn normalize(
        &self,
        style: Option<Style>,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> NormalizedError {
        let caps = Captures::read(body, &self.limits);
        let style = style.or_else(|| caps.as_ref().and_then(|c| crate::detect::detect_in(c, status, headers)));
        let table = style.map_or(StyleTable::generic(), Style::table);
        let view = View { table, caps: caps.as_ref(), headers };
        // A body without this table's envelope is read by status alone, with the generic
        // table's status rules (the policy for "no usable body").
        let usable = view.has_envelope();
        let rules_view = if usable { view } else { View { table: StyleTable::generic(), caps: None, headers } };
        self.build(style, status, &rules_view, usable)
    }

    fn build(&self, style: Option<Style>, status: StatusCode, view: &View<'_, '_>, usable: bool) -> NormalizedError {
        let limits = &self.limits;
        let code_value = view.value(Field::Code);
        let facts = Facts {
            status: view.effective_status(status),
            code: code_value.as_deref().and_then(Value::as_str),
            type_: None,
            upstream_status: view.value(Field::UpstreamStatus).and_then(|v| v.as_status()),
            message: None,
        };
        let type_ = view.text(Field::Type);
        let message = view.text(Field::Message);
        let facts = Facts { type_: type_.as_deref(), message: message.as_deref(), ..facts };
        let rule = first_match(view.table, &facts);
        let matched = rule.map_or(ErrorCode::InternalError, |r| r.then.code);

        let mut details = Vec::new();
        if let Some(rule) = rule
            && let Some(reason) = rule.then.reason
        {
            let field = rule
                .then
                .field
                .map(str::to_owned)
                .or_else(|| view.text(Field::Param).map(|p| clean(&p, limits.max_field_bytes)))
                .filter(|s| !s.is_empty());
            let mut d = Detail { field, code: Some(reason.to_owned()), ..Detail::default() };
            for (f, name) in [
                (Field::ModelMaxTokens, "model_max_tokens"),
                (Field::RequestTokens, "request_tokens"),
                (Field::Balance, "balance"),
            ] {
                if let Some(v) = view.value(f).as_deref().and_then(figure) {
                    let v = match v {
                        serde_json::Value::String(s) => serde_json::Value::String(clean(&s, limits.max_field_bytes)),
                        v => v,
                    };
                    d.figures.insert(name.to_owned(), v);
                }
            }
            details.push(d);
        }
        if let Some(Value::Details(list)) = view.value(Field::Details).as_deref() {
            details.extend(
                list.iter().take(limits.max_details.saturating_sub(details.len())).map(|d| raw_detail(d, limits)),
            );
        }

        let upstream_code = if usable { code_value.as_deref().and_then(Value::to_text) } else { None };
        let code = if self.overrides.is_empty() {
            matched
        } else {
            let reason = details.first().and_then(|d| d.code.as_deref());
            self.remapped(matched, style, reason, upstream_code.as_deref())
        };
        let message_text = message.as_deref().map(|m| clean(m, limits.max_message_bytes)).filter(|m| !m.is_empty());
        let retry_after = if code.is_retryable() {
            retry_after::from_headers(view.headers, self.clock)
                .or_else(|| view.value(Field::RetryAfter).and_then(|v| v.as_f64()).filter(|n| *n >= 0.0))
                .or_else(|| message.as_deref().and_then(retry_after::from_message))
                .and_then(|secs| retry_after::finish(secs, limits.max_retry_after))
        } else {
            None
        };
        let short = |s: Option<Cow<'_, str>>| s.map(|s| clean(&s, limits.max_field_bytes)).filter(|s| !s.is_empty());
        NormalizedError {
            code,
            message: message_text.unwrap_or_else(|| code.default_message().to_owned()),
            details,
            retry_after,
            request_id: short(view.text(Field::RequestId)),
            upstream: Upstream {
                style,
                status: Some(status.as_u16()),
                code: short(upstream_code),
                type_: if usable { short(type_.clone()) } else { None },
                provider: short(view.text(Field::Provider)),
                upstream_status: facts.upstream_status,
                should_retry: view.value(Field::ShouldRetry).as_deref().and_then(flag),
            },
        }
    }
}
