//! Whether and when to retry: advice, never sleeping.
//!
//! The source documents all give the same advice for 429 and 5xx: wait 1 s, 2 s, 4 s between
//! attempts and give up after 3 to 5 attempts (`000_5d0589eb551f6b7f.txt:93-97`,
//! `001_23253c27d121119a.txt:50-59`, `003_35725501124242e8.txt:72`), add up to a second of
//! random jitter, and always respect the `retry_after` upstream gives
//! (`003_35725501124242e8.txt:57`, `:95-97`). [`RetryPolicy::advise`] applies that advice to a
//! [`NormalizedError`]; the caller sleeps.

use crate::error::NormalizedError;
use crate::table::retry_defaults as defaults;
use std::fmt;
use std::time::Duration;

/// How to retry: exponential backoff with jitter, a cap, a number of attempts, and a ceiling on
/// the wait upstream may ask for.
///
/// After failed attempt `n` (counted from 1) the backoff is `base * factor^(n-1)`, at most
/// `cap`, plus `jitter` times a random number in `[0, 1)`. A `retry_after` from upstream is
/// used instead of the backoff (plus the same jitter), whatever its length, unless it is over
/// `give_up_after`: then waiting is not worth it and the advice is to give up now.
///
/// ```
/// use llm_error_taxonomy::{ErrorCode, NormalizedError, RetryAdvice, RetryPolicy};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::default();
/// let err = NormalizedError::new(ErrorCode::ModelOverloaded);
/// let mut no_jitter = || 0.0;
/// assert_eq!(policy.advise(&err, 1, &mut no_jitter), RetryAdvice::Retry { after: Duration::from_secs(1) });
/// assert_eq!(policy.advise(&err, 2, &mut no_jitter), RetryAdvice::Retry { after: Duration::from_secs(2) });
/// assert_eq!(policy.advise(&err, 3, &mut no_jitter), RetryAdvice::Retry { after: Duration::from_secs(4) });
/// assert!(!policy.advise(&err, 4, &mut no_jitter).is_retry()); // the 4th attempt was the last
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The wait after the first failed attempt (default 1 s).
    pub base: Duration,
    /// How much longer each wait is than the one before (default 2).
    pub factor: f64,
    /// The longest backoff, before jitter (default 30 s).
    pub cap: Duration,
    /// The most random time added to each wait (default 1 s); `jitter * r` for the caller's `r`.
    pub jitter: Duration,
    /// The most attempts in all, the first included (default 4: the first and three retries).
    pub max_attempts: u32,
    /// A `retry_after` longer than this means give up now rather than wait (default 60 s).
    pub give_up_after: Duration,
}

impl RetryPolicy {
    /// The defaults, from `taxonomy/retry.json`, usable in `const` context.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        base: defaults::BASE,
        factor: defaults::FACTOR,
        cap: defaults::CAP,
        jitter: defaults::JITTER,
        max_attempts: defaults::MAX_ATTEMPTS,
        give_up_after: defaults::GIVE_UP_AFTER,
    };

    /// The default policy.
    pub fn new() -> Self {
        RetryPolicy::DEFAULT
    }

    /// Sets the most attempts in all, the first included.
    #[must_use]
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Sets the first wait and the factor each later wait grows by.
    #[must_use]
    pub fn with_backoff(mut self, base: Duration, factor: f64) -> Self {
        self.base = base;
        self.factor = factor;
        self
    }

    /// Sets the longest backoff, before jitter.
    #[must_use]
    pub fn with_cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// Sets the most random time added to each wait.
    #[must_use]
    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets the longest `retry_after` worth waiting for.
    #[must_use]
    pub fn with_give_up_after(mut self, give_up_after: Duration) -> Self {
        self.give_up_after = give_up_after;
        self
    }

    /// Whether to retry after failed attempt number `attempt` (the first attempt is 1), and
    /// after how long.
    ///
    /// `random` yields numbers in `[0, 1)` for the jitter (a value outside is clamped, NaN is
    /// 0); pass a seeded generator in tests. The advice is, in order: give up on a code that
    /// is not retryable, on an upstream `x-should-retry: false`, on a stream that already
    /// delivered output (retrying would repeat it), when the attempts are used up, or when
    /// `retry_after` is over [`give_up_after`](RetryPolicy::give_up_after); else retry after
    /// `retry_after` or the backoff, plus jitter.
    ///
    /// ```
    /// use llm_error_taxonomy::{normalize, GiveUp, RetryAdvice, RetryPolicy, Style};
    /// use http::{HeaderMap, StatusCode};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::default();
    /// let mut random = || 0.5; // a real gateway passes a random number generator
    ///
    /// // The MoltbotDen 429: wait the 12 s it asks for, plus jitter.
    /// let body = br#"{"error": {"code": "rate_limit_exceeded", "message": "Rate limit exceeded: 60 requests per minute. Retry after 12 seconds.", "status": 429, "retry_after": 12}}"#;
    /// let err = normalize(Some(Style::MoltbotDen), StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body);
    /// assert_eq!(policy.advise(&err, 1, &mut random), RetryAdvice::Retry { after: Duration::from_millis(12_500) });
    ///
    /// // The ModelBridge 429 that is a spending limit: never retried.
    /// let body = br#"{"error": {"message": "Spending limit reached for this API key", "type": "rate_limit_error", "code": "spending_limit_exceeded"}}"#;
    /// let err = normalize(Some(Style::ModelBridge), StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body);
    /// assert_eq!(policy.advise(&err, 1, &mut random), RetryAdvice::GiveUp(GiveUp::NotRetryable));
    /// ```
    pub fn advise(&self, err: &NormalizedError, attempt: u32, random: &mut impl FnMut() -> f64) -> RetryAdvice {
        if !err.is_retryable() {
            return RetryAdvice::GiveUp(GiveUp::NotRetryable);
        }
        if err.upstream().should_retry == Some(false) {
            return RetryAdvice::GiveUp(GiveUp::UpstreamSaysNo);
        }
        if err.partial_output() {
            return RetryAdvice::GiveUp(GiveUp::PartialOutput);
        }
        let attempt = attempt.max(1);
        if attempt >= self.max_attempts {
            return RetryAdvice::GiveUp(GiveUp::AttemptsExhausted { attempts: attempt });
        }
        let wait = match err.retry_after() {
            Some(asked) if asked > self.give_up_after => {
                return RetryAdvice::GiveUp(GiveUp::RetryAfterTooLong { retry_after: asked });
            }
            Some(asked) => asked,
            None => self.backoff(attempt),
        };
        let r = random();
        let r = if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
        // `jitter * r` without overflow, whatever the configured jitter.
        let jitter = Duration::try_from_secs_f64(self.jitter.as_secs_f64() * r).unwrap_or(Duration::MAX);
        RetryAdvice::Retry { after: wait.saturating_add(jitter) }
    }

    /// The backoff after failed attempt `attempt`, before jitter: `base * factor^(attempt-1)`,
    /// at most `cap`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = i32::try_from(attempt.max(1) - 1).unwrap_or(i32::MAX);
        let factor = if self.factor.is_finite() && self.factor >= 1.0 { self.factor } else { 1.0 };
        let secs = self.base.as_secs_f64() * factor.powi(exp);
        if !secs.is_finite() || secs >= self.cap.as_secs_f64() {
            self.cap
        } else {
            Duration::from_secs_f64(secs.max(0.0))
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::DEFAULT
    }
}

/// What [`RetryPolicy::advise`] advises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryAdvice {
    /// Send the same request again after waiting this long.
    Retry {
        /// How long to wait first.
        after: Duration,
    },
    /// Do not retry; answer the client with the error.
    GiveUp(GiveUp),
}

impl RetryAdvice {
    /// Whether to retry.
    pub fn is_retry(self) -> bool {
        matches!(self, RetryAdvice::Retry { .. })
    }

    /// How long to wait before retrying; `None` when giving up.
    pub fn delay(self) -> Option<Duration> {
        match self {
            RetryAdvice::Retry { after } => Some(after),
            RetryAdvice::GiveUp(_) => None,
        }
    }
}

/// Why [`RetryPolicy::advise`] gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GiveUp {
    /// The code is not retryable: the same request fails the same way.
    #[error("the error is not retryable")]
    NotRetryable,
    /// Upstream said not to retry (`x-should-retry: false`).
    #[error("upstream said not to retry")]
    UpstreamSaysNo,
    /// The stream had already delivered output, which a retry would repeat.
    #[error("the stream already delivered output")]
    PartialOutput,
    /// The attempts are used up.
    #[error("gave up after {attempts} attempts")]
    AttemptsExhausted {
        /// The attempts made.
        attempts: u32,
    },
    /// Upstream asked to wait longer than the policy is willing to.
    #[error("upstream asked to wait {}s", retry_after.as_secs())]
    RetryAfterTooLong {
        /// What upstream asked for.
        retry_after: Duration,
    },
}

impl fmt::Display for RetryAdvice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryAdvice::Retry { after } => write!(f, "retry after {:.3}s", after.as_secs_f64()),
            RetryAdvice::GiveUp(why) => write!(f, "give up: {why}"),
        }
    }
}
