//! Whether another model or provider is worth trying.
//!
//! The source documents advise falling back when a provider fails: "try a different model or
//! retry" (`001_23253c27d121119a.txt:27`, `:64`), a chain of equivalent models across providers
//! (`003_35725501124242e8.txt:188-201`), a faster model after timeouts
//! (`000_5d0589eb551f6b7f.txt:74`), a larger context window when the request is too long
//! (`003_35725501124242e8.txt:217-222`). Errors the caller must fix, and billing, follow the
//! caller to any model, so another model does not help.

use crate::code::ErrorCode;
use crate::error::NormalizedError;
use std::fmt;

/// What to try instead, when another model is worth trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FallbackTarget {
    /// Another model, at this provider or another one.
    AnotherModel,
    /// Another provider or gateway: this one cannot serve any model right now, or rejected
    /// this gateway's own credentials or configuration.
    AnotherProvider,
    /// A model whose context window holds the request.
    LargerContext {
        /// The request's size in tokens, when upstream said.
        request_tokens: Option<u64>,
        /// The failing model's context window, when upstream said.
        model_max_tokens: Option<u64>,
    },
}

/// Why a fallback is or is not worth trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter)]
#[non_exhaustive]
pub enum FallbackReason {
    /// The model is at capacity.
    Overloaded,
    /// The model is unavailable or unreachable.
    Unavailable,
    /// The provider failed to generate.
    Failed,
    /// The generation timed out.
    TimedOut,
    /// The gateway or platform itself is down.
    PlatformDown,
    /// Upstream rejected this gateway's credentials or configuration, or failed internally.
    Internal,
    /// The request is longer than the model's context window.
    ContextTooLong,
    /// The input is invalid for any model.
    InvalidInput,
    /// The content was rejected by safety filters.
    Moderation,
    /// A file is missing or in a format the caller must change.
    File,
    /// The balance is insufficient, whatever the model.
    Balance,
    /// Rate limits apply to the key or account, which another model shares: wait instead.
    RateLimited,
}

impl FallbackReason {
    /// The reason in one sentence.
    pub const fn description(self) -> &'static str {
        match self {
            FallbackReason::Overloaded => "the model is at capacity; another model may have room",
            FallbackReason::Unavailable => "the model is unavailable; another model may be up",
            FallbackReason::Failed => "the provider failed to generate; another model may succeed",
            FallbackReason::TimedOut => "the generation timed out; a faster model may finish in time",
            FallbackReason::PlatformDown => "the platform is down; only another provider can serve the request",
            FallbackReason::Internal => {
                "upstream rejected this gateway's credentials or configuration; another provider may accept it"
            }
            FallbackReason::ContextTooLong => "the request exceeds the context window; a larger one may hold it",
            FallbackReason::InvalidInput => "the input is invalid for any model; the caller must fix it",
            FallbackReason::Moderation => "the content was rejected; another model is no way around safety filters",
            FallbackReason::File => "the file is missing or unsupported; the caller must fix it",
            FallbackReason::Balance => "the balance is insufficient whatever the model; the account must be topped up",
            FallbackReason::RateLimited => "rate limits apply to the account, which another model shares; wait instead",
        }
    }
}

impl fmt::Display for FallbackReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Whether a different model or provider is worth trying, and why.
///
/// ```
/// use llm_error_taxonomy::{normalize, FallbackAdvice, FallbackReason, FallbackTarget, Style};
/// use http::{HeaderMap, StatusCode};
///
/// // Anthropic overloaded behind MoltbotDen: try the next model of the chain.
/// let body = br#"{"error": {"code": "provider_error", "message": "The upstream provider (anthropic) returned an error.",
///                  "status": 500, "provider": "anthropic", "upstream_status": 529}}"#;
/// let err = normalize(Some(Style::MoltbotDen), StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new(), body);
/// let advice = FallbackAdvice::for_error(&err);
/// assert_eq!(advice.target(), Some(FallbackTarget::AnotherModel));
/// assert_eq!(advice.reason(), FallbackReason::Overloaded);
///
/// // Too long for gpt-4o's 128k window: only a larger context helps.
/// let body = br#"{"error": {"code": "context_length_exceeded", "status": 400, "message": "This model's maximum context length is 128000 tokens.",
///                  "model_max_tokens": 128000, "request_tokens": 141234}}"#;
/// let err = normalize(Some(Style::MoltbotDen), StatusCode::BAD_REQUEST, &HeaderMap::new(), body);
/// assert_eq!(
///     FallbackAdvice::for_error(&err).target(),
///     Some(FallbackTarget::LargerContext { request_tokens: Some(141234), model_max_tokens: Some(128000) })
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FallbackAdvice {
    target: Option<FallbackTarget>,
    reason: FallbackReason,
}

/// The reason the tables give an exceeded context window.
const CONTEXT_LENGTH_EXCEEDED: &str = "CONTEXT_LENGTH_EXCEEDED";

impl FallbackAdvice {
    /// The advice for `err`, by its code and, for input errors, its reason.
    pub fn for_error(err: &NormalizedError) -> FallbackAdvice {
        use FallbackReason as R;
        use FallbackTarget as T;
        let (target, reason) = match err.code() {
            ErrorCode::ModelOverloaded => (Some(T::AnotherModel), R::Overloaded),
            ErrorCode::ModelUnavailable => (Some(T::AnotherModel), R::Unavailable),
            ErrorCode::GenerationFailed => (Some(T::AnotherModel), R::Failed),
            ErrorCode::GenerationTimeout => (Some(T::AnotherModel), R::TimedOut),
            ErrorCode::ServiceUnavailable => (Some(T::AnotherProvider), R::PlatformDown),
            ErrorCode::InternalError => (Some(T::AnotherProvider), R::Internal),
            ErrorCode::InputValidationError => match context_window(err) {
                Some(target) => (Some(target), R::ContextTooLong),
                None => (None, R::InvalidInput),
            },
            ErrorCode::ContentModerationRejected => (None, R::Moderation),
            ErrorCode::FileNotFound | ErrorCode::FileFormatUnsupported => (None, R::File),
            ErrorCode::InsufficientBalance => (None, R::Balance),
            ErrorCode::RateLimited => (None, R::RateLimited),
        };
        FallbackAdvice { target, reason }
    }

    /// Whether another model or provider is worth trying.
    pub fn is_worth_trying(&self) -> bool {
        self.target.is_some()
    }

    /// What to try instead; `None` when nothing else will do better.
    pub fn target(&self) -> Option<FallbackTarget> {
        self.target
    }

    /// Why.
    pub fn reason(&self) -> FallbackReason {
        self.reason
    }
}

impl NormalizedError {
    /// Whether another model or provider is worth trying; see [`FallbackAdvice`].
    pub fn fallback(&self) -> FallbackAdvice {
        FallbackAdvice::for_error(self)
    }
}

/// The larger-context target, when a detail says the context window was exceeded.
fn context_window(err: &NormalizedError) -> Option<FallbackTarget> {
    let d = err.details().iter().find(|d| d.code.as_deref() == Some(CONTEXT_LENGTH_EXCEEDED))?;
    let tokens = |name: &str| {
        let v = d.figures.get(name)?;
        v.as_u64().or_else(|| v.as_str()?.replace(',', "").trim().parse().ok())
    };
    Some(FallbackTarget::LargerContext {
        request_tokens: tokens("request_tokens"),
        model_max_tokens: tokens("model_max_tokens"),
    })
}
