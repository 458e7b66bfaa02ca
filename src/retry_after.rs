//! How long upstream asks the client to wait.
//!
//! The sources, in order; the first that yields a delay wins:
//!
//! 1. the `retry-after-ms` header, in milliseconds;
//! 2. the `Retry-After` header, in seconds or as an HTTP-date;
//! 3. the `X-RateLimit-Reset` header: seconds to wait, a Unix time in seconds or
//!    milliseconds (a value of 10^9 or more), or a duration such as `6m0s` or `250ms`;
//! 4. the body field the style locates as `retry_after`, in seconds;
//! 5. last, a phrase in the message: "retry after 12 seconds", "try again in 1.5s".
//!
//! Dates and Unix times are measured from the response's `Date` header when it has one,
//! else from the normalizer's clock. A negative, non-finite or unreadable value is skipped;
//! a time in the past means zero; the delay is rounded up to whole seconds and clamped to
//! [`Limits::max_retry_after`](crate::Limits::max_retry_after).

use http::HeaderMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where "now" comes from when a delay is given as a point in time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    /// The system clock (the default).
    #[default]
    System,
    /// A fixed time, for reproducible output and tests.
    Fixed(SystemTime),
}

impl Clock {
    fn unix_now(self) -> f64 {
        let t = match self {
            Clock::System => SystemTime::now(),
            Clock::Fixed(t) => t,
        };
        t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

fn number(s: &str) -> Option<f64> {
    let n: f64 = s.trim().parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some(n)
}

/// Seconds from the headers, per the order above.
pub(crate) fn from_headers(headers: &HeaderMap, clock: Clock) -> Option<f64> {
    if headers.is_empty() {
        return None;
    }
    let now = || header(headers, "date").and_then(parse_http_date).map_or_else(|| clock.unix_now(), |d| d as f64);
    if let Some(ms) = header(headers, "retry-after-ms").and_then(number) {
        return Some(ms / 1000.0);
    }
    if let Some(v) = header(headers, "retry-after") {
        if let Some(secs) = number(v) {
            return Some(secs);
        }
        if let Some(at) = parse_http_date(v) {
            return Some((at as f64 - now()).max(0.0));
        }
    }
    if let Some(v) = header(headers, "x-ratelimit-reset") {
        if let Some(n) = number(v) {
            return Some(match n {
                n if n >= 1e12 => (n / 1000.0 - now()).max(0.0),
                n if n >= 1e9 => (n - now()).max(0.0),
                n => n,
            });
        }
        if let Some(secs) = parse_duration(v) {
            return Some(secs);
        }
    }
    None
}

/// Seconds from a phrase such as "Retry after 12 seconds" or "try again in 1.5s".
pub(crate) fn from_message(message: &str) -> Option<f64> {
    const PHRASES: [&str; 3] = ["retry after", "try again in", "retry in"];
    let bytes = message.as_bytes();
    // Every phrase starts with 'r' or 't': look only where one of those stands.
    let starts = bytes.iter().enumerate().filter(|(_, b)| matches!(*b | 0x20, b'r' | b't'));
    for (at, _) in starts {
        let Some(phrase) =
            PHRASES.iter().find(|p| bytes.get(at..at + p.len()).is_some_and(|w| w.eq_ignore_ascii_case(p.as_bytes())))
        else {
            continue;
        };
        let rest = message[at + phrase.len()..].trim_start();
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let Some(n) = number(&rest[..end]) else { continue };
        let unit = rest[end..].trim_start();
        let unit_len = unit.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(unit.len());
        let scale = match unit[..unit_len].to_ascii_lowercase().as_str() {
            "ms" | "millisecond" | "milliseconds" => 0.001,
            "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hour" | "hours" => 3600.0,
            _ => 1.0,
        };
        return Some(n * scale);
    }
    None
}

/// Whole seconds, rounded up and clamped; `None` for anything not a finite, non-negative number.
pub(crate) fn finish(secs: f64, max: Duration) -> Option<u64> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    let max = max.as_secs();
    Some(if secs >= max as f64 { max } else { secs.ceil() as u64 })
}

/// A duration such as `6m0s`, `1.5s`, `250ms` or `1h2m3s`, in seconds.
fn parse_duration(s: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let u_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        total += n * match &rest[..u_end] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[u_end..];
    }
    total.is_finite().then_some(total)
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as Unix seconds.
pub(crate) fn parse_http_date(s: &str) -> Option<u64> {
    let b = s.trim().as_bytes();
    if b.len() != 29 || &b[3..5] != b", " || &b[25..] != b" GMT" {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let d = b.get(r)?;
        d.iter().all(u8::is_ascii_digit).then(|| d.iter().fold(0, |n, c| n * 10 + u64::from(c - b'0')))
    };
    const MONTHS: [&[u8]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    let day = num(5..7)?;
    let month = MONTHS.iter().position(|m| *m == &b[8..11])? as u64 + 1;
    let year = num(12..16)?;
    let (h, m, sec) = (num(17..19)?, num(20..22)?, num(23..25)?);
    if b[7] != b' ' || b[11] != b' ' || b[16] != b' ' || b[19] != b':' || b[22] != b':' {
        return None;
    }
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 || year < 1970 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), for years from 1970.
    let (y, mo) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (http::HeaderName::from_static(k), http::HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn http_dates() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Sat, 29 Feb 2020 12:00:00 GMT"), Some(1_582_977_600));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
    }

    #[test]
    fn header_order_and_forms() {
        let clock = Clock::Fixed(UNIX_EPOCH + Duration::from_secs(1_000_000_000));
        assert_eq!(from_headers(&headers(&[("retry-after-ms", "1500"), ("retry-after", "9")]), clock), Some(1.5));
        assert_eq!(from_headers(&headers(&[("retry-after", "7")]), clock), Some(7.0));
        assert_eq!(
            from_headers(
                &headers(&[
                    ("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT"),
                    ("date", "Sun, 06 Nov 1994 08:49:37 GMT")
                ]),
                clock
            ),
            Some(30.0)
        );
        assert_eq!(from_headers(&headers(&[("x-ratelimit-reset", "1000000020")]), clock), Some(20.0));
        assert_eq!(from_headers(&headers(&[("x-ratelimit-reset", "1000000020000")]), clock), Some(20.0));
        assert_eq!(from_headers(&headers(&[("x-ratelimit-reset", "6m0s")]), clock), Some(360.0));
        assert_eq!(from_headers(&headers(&[("retry-after", "-5")]), clock), None);
        assert_eq!(from_headers(&headers(&[("retry-after", "soon")]), clock), None);
    }

    #[test]
    fn message_phrases() {
        assert_eq!(from_message("Rate limit exceeded: 60 requests per minute. Retry after 12 seconds."), Some(12.0));
        assert_eq!(from_message("Please try again in 1.5s"), Some(1.5));
        assert_eq!(from_message("try again in 250ms"), Some(0.25));
        assert_eq!(from_message("retry after 2 minutes"), Some(120.0));
        assert_eq!(from_message("please retry later"), None);
    }

    #[test]
    fn finishing_rounds_up_and_clamps() {
        let max = Duration::from_secs(100);
        assert_eq!(finish(1.2, max), Some(2));
        assert_eq!(finish(0.0, max), Some(0));
        assert_eq!(finish(1e308, max), Some(100));
        assert_eq!(finish(f64::NAN, max), None);
        assert_eq!(finish(-1.0, max), None);
    }
}
