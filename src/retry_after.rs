//! How long upstream asks the client to wait.
//!
//! Where a style's delay lives is table data: the `retry_after` field's locations, the generic
//! table's headers first (`retry-after-ms`, `Retry-After`, `X-RateLimit-Reset`, ...), then the
//! style's own (a body field, Google's `RetryInfo.retryDelay`, Anthropic's reset times), each
//! with its unit as a transform. The first location that yields a delay wins; last comes a
//! phrase in the message ("retry after 12 seconds", "try again in 1m30s").
//!
//! This module reads the forms those transforms name. Dates and Unix times are measured from
//! the response's `Date` header when it has one, else from the normalizer's clock. A negative,
//! non-finite or unreadable value is skipped; a time in the past means zero; the delay is
//! rounded up to whole seconds and clamped to [`Limits::max_retry_after`](crate::Limits::max_retry_after).

use crate::scan::ALNUM;
use http::HeaderMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where "now" comes from when a delay is given as a point in time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
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

/// Now, in Unix seconds: the response's `Date` header, else the clock.
pub(crate) fn now(headers: &HeaderMap, clock: Clock) -> f64 {
    headers
        .get("date")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date)
        .map_or_else(|| clock.unix_now(), |d| d as f64)
}

/// `X-RateLimit-Reset` as a number: seconds to wait, or a Unix time in seconds (10^9 or more)
/// or milliseconds (10^12 or more).
pub(crate) fn reset(n: f64, now: f64) -> Option<f64> {
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    Some(match n {
        n if n >= 1e12 => (n / 1000.0 - now).max(0.0),
        n if n >= 1e9 => (n - now).max(0.0),
        n => n,
    })
}

/// The seconds one unit word stands for, or `None` for a word that is no unit of time.
fn unit_scale(unit: &str) -> Option<f64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 0.001,
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        _ => return None,
    })
}

/// Seconds from a phrase such as "Retry after 12 seconds", "try again in 1m30s" or "Please
/// retry in 47.43s". A number with no unit is seconds; a number followed by a word that is no
/// unit of time ("5 requests") is no delay.
pub(crate) fn from_message(message: &str) -> Option<f64> {
    const PHRASES: [&str; 5] = ["retry after", "try again in", "retry in", "try again after", "resets in"];
    let bytes = message.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if !ALNUM[usize::from(bytes[at])] {
            at += 1;
            continue;
        }
        // A word starts here. Every phrase starts with `re` or `tr`: compare only where one does.
        let start = [bytes[at], bytes.get(at + 1).copied().unwrap_or(0)].map(|b| b | 0x20);
        if matches!(start, [b'r', b'e'] | [b't', b'r'])
            && let Some(phrase) = PHRASES
                .iter()
                .find(|p| bytes.get(at..at + p.len()).is_some_and(|w| w.eq_ignore_ascii_case(p.as_bytes())))
        {
            let rest = message[at + phrase.len()..].trim_start();
            // "resets in ~30s": an approximate delay is a delay.
            let rest = rest.strip_prefix('~').unwrap_or(rest);
            if let Some(secs) = leading_delay(rest) {
                return Some(secs);
            }
        }
        // No phrase begins inside a word.
        at += 1;
        while at < bytes.len() && ALNUM[usize::from(bytes[at])] {
            at += 1;
        }
    }
    None
}

/// A delay at the start of `s`: a compound duration (`1m30s`, `6m12.48s`, `2h30m`) or a number
/// and an optional unit word (`12 seconds`, `1.5s`, `2 minutes`).
fn leading_delay(s: &str) -> Option<f64> {
    let token_end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).unwrap_or(s.len());
    let token = s[..token_end].trim_end_matches('.');
    if !token.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if let Some(secs) = parse_duration(token) {
        return Some(secs);
    }
    let digits = token.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(token.len());
    // Digits and dots only, so never negative; but 400 digits are infinite.
    let n: f64 = token[..digits].parse().ok()?;
    if !n.is_finite() {
        return None;
    }
    if digits < token.len() {
        return None; // `1e3`, `5x`: not a number of seconds
    }
    let after = s[token_end..].trim_start();
    let word_end = after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len());
    let word = &after[..word_end];
    if word.is_empty() || after[..].starts_with(|c: char| !c.is_ascii_alphabetic()) {
        return Some(n);
    }
    unit_scale(word).map(|scale| n * scale)
}

/// Whole seconds, rounded up and clamped; `None` for anything not a finite, non-negative number.
pub(crate) fn finish(secs: f64, max: Duration) -> Option<u64> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    let max = max.as_secs();
    Some(if secs >= max as f64 { max } else { secs.ceil() as u64 })
}

/// A duration such as `6m0s`, `1.5s`, `250ms`, `17s`, `1h2m3s` or `2h30m`, in seconds; `None`
/// for an empty string or an unknown unit.
pub(crate) fn parse_duration(s: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if n_end == 0 {
            return None;
        }
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

/// Unix seconds of a civil date and time, or `None` for one that does not exist.
fn unix(year: u64, month: u64, day: u64, h: u64, m: u64, sec: u64) -> Option<u64> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days_in = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in).contains(&day) || h > 23 || m > 59 || sec > 60 || year < 1970 {
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

fn digits(b: &[u8]) -> Option<u64> {
    (!b.is_empty() && b.iter().all(u8::is_ascii_digit)).then(|| b.iter().fold(0, |n, c| n * 10 + u64::from(c - b'0')))
}

fn month(b: &[u8]) -> Option<u64> {
    const MONTHS: [&[u8]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    MONTHS.iter().position(|m| *m == b).map(|i| i as u64 + 1)
}

/// `HH:MM:SS` as (h, m, s).
fn clock_time(b: &[u8]) -> Option<(u64, u64, u64)> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    Some((digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?))
}

/// An HTTP-date in any of RFC 9110's three forms, as Unix seconds: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
/// (`Sun Nov  6 08:49:37 1994`). A date that does not exist (31 February) is rejected.
pub(crate) fn parse_http_date(s: &str) -> Option<u64> {
    let s = s.trim();
    let parts: Vec<&str> = s.split_ascii_whitespace().collect();
    match parts.as_slice() {
        // IMF-fixdate.
        [wd, d, mon, y, t, "GMT"] if wd.len() == 4 && wd.ends_with(',') && d.len() == 2 && y.len() == 4 => {
            let (h, m, sec) = clock_time(t.as_bytes())?;
            unix(digits(y.as_bytes())?, month(mon.as_bytes())?, digits(d.as_bytes())?, h, m, sec)
        }
        // RFC 850: a two-digit year below 70 is 20yy, else 19yy. (RFC 9110's rule, the most
        // recent year with those digits when more than 50 years ahead, differs only for dates
        // decades away, which no retry delay is.)
        [wd, date, t, "GMT"] if wd.ends_with(',') && date.len() == 9 => {
            let b = date.as_bytes();
            if b[2] != b'-' || b[6] != b'-' {
                return None;
            }
            let yy = digits(&b[7..9])?;
            let year = if yy < 70 { 2000 + yy } else { 1900 + yy };
            let (h, m, sec) = clock_time(t.as_bytes())?;
            unix(year, month(&b[3..6])?, digits(&b[0..2])?, h, m, sec)
        }
        // asctime.
        [wd, mon, d, t, y] if wd.len() == 3 && y.len() == 4 && (1..=2).contains(&d.len()) => {
            let (h, m, sec) = clock_time(t.as_bytes())?;
            unix(digits(y.as_bytes())?, month(mon.as_bytes())?, digits(d.as_bytes())?, h, m, sec)
        }
        _ => None,
    }
}

/// An RFC 3339 time (`2026-12-01T22:30:05Z`, fractions and offsets allowed), as Unix seconds.
pub(crate) fn parse_rfc3339(s: &str) -> Option<f64> {
    let b = s.trim().as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (h, m, sec) = clock_time(&b[11..19])?;
    let base = unix(digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?, h, m, sec)? as f64;
    let mut rest = &b[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix(b".") {
        let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        frac = std::str::from_utf8(&rest[..=n]).ok()?.parse::<f64>().ok()?;
        rest = &r[n..];
    }
    let offset = match rest {
        b"Z" | b"z" => 0.0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let mins = (digits(&[*h1, *h2])? * 60 + digits(&[*m1, *m2])?) as f64 * 60.0;
            if *sign == b'+' { -mins } else { mins }
        }
        _ => return None,
    };
    Some(base + frac + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_in_all_three_forms() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(784_111_777));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Sat, 29 Feb 2020 12:00:00 GMT"), Some(1_582_977_600));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
        assert_eq!(parse_http_date("Sat, 31 Feb 2026 12:00:00 GMT"), None);
        assert_eq!(parse_http_date("Sun, 29 Feb 2026 12:00:00 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 24:00:00 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:60:00 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:61 GMT"), None);
        assert_eq!(parse_http_date("Sun, 00 Nov 1994 08:49:37 GMT"), None);
        // A digit that is not one ("1a" would read as 59).
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:1a:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 0! Nov 1994 08:49:37 GMT"), None);
        // The last day of February in a common year, and a leap second.
        assert_eq!(parse_http_date("Sat, 28 Feb 2026 12:00:00 GMT"), Some(1_772_280_000));
        assert_eq!(parse_http_date("Wed, 31 Dec 2025 23:59:60 GMT"), Some(1_767_225_600));
    }

    /// Each part of each form is checked on its own: one wrong part rejects the date.
    #[test]
    fn http_dates_with_one_part_wrong() {
        let rejected = [
            // IMF-fixdate: a three-letter day name and a comma, a two-digit day, a four-digit year.
            "Sunday, 06 Nov 1994 08:49:37 GMT",
            "Sun 06 Nov 1994 08:49:37 GMT",
            "Sun., 06 Nov 1994 08:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov 01994 08:49:37 GMT",
            // The time: two digits each, colons between, eight bytes.
            "Sun, 06 Nov 1994 08-49:37 GMT",
            "Sun, 06 Nov 1994 08:49-37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:370 GMT",
            // RFC 850: a comma after the day name, `dd-Mon-yy`.
            "Sunday 06-Nov-94 08:49:37 GMT",
            "Sunday, 06/Nov-94 08:49:37 GMT",
            "Sunday, 06-Nov/94 08:49:37 GMT",
            "Sunday, 6-Nov-94 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49-37 GMT",
            // asctime: a three-letter day name, a one- or two-digit day, a four-digit year.
            "Sunday Nov  6 08:49:37 1994",
            "Sun Nov 006 08:49:37 1994",
            "Sun Nov  6 08:49:37 94",
            "Sun Nov  6 08-49:37 1994",
        ];
        for date in rejected {
            assert_eq!(parse_http_date(date), None, "{date}");
        }
        assert_eq!(parse_http_date("Sun Nov 06 08:49:37 1994"), Some(784_111_777), "a two-digit asctime day");
        // The two-digit year's pivot: 69 is 2069, 70 is 1970.
        assert_eq!(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Tuesday, 01-Jan-69 00:00:00 GMT"), Some(3_124_224_000));
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339("1994-11-06T08:49:37Z"), Some(784_111_777.0));
        assert_eq!(parse_rfc3339("1994-11-06T09:49:37+01:00"), Some(784_111_777.0));
        assert_eq!(parse_rfc3339("1994-11-06T08:49:37.5Z"), Some(784_111_777.5));
        assert_eq!(parse_rfc3339("1994-02-30T08:49:37Z"), None);
        assert_eq!(parse_rfc3339("soon"), None);
        // A fraction adds to the second, before the offset applies.
        assert_eq!(parse_rfc3339("1994-11-06T09:49:37.25+01:00"), Some(784_111_777.25));
        assert_eq!(parse_rfc3339("1994-11-06 08:49:37z"), Some(784_111_777.0));
        assert_eq!(parse_rfc3339("1994-11-06T14:19:37+05:30"), Some(784_111_777.0), "minutes of an offset");
        assert_eq!(parse_rfc3339("1994-11-06T03:19:37-05:30"), Some(784_111_777.0));
        for wrong in [
            "1994-11-06T08:49:37",
            "1994/11-06T08:49:37Z",
            "1994-11/06T08:49:37Z",
            "1994-11-06X08:49:37Z",
            "1994-11-06T08-49:37Z",
            "1994-11-06T08:49:37.Z",
            "1994-11-06T08:49:37+0100",
            "1994-11-06T08:49:37+01:0x",
        ] {
            assert_eq!(parse_rfc3339(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("6m0s"), Some(360.0));
        assert_eq!(parse_duration("1h2m3s"), Some(3723.0));
        assert_eq!(parse_duration("2h30m"), Some(9000.0));
        assert_eq!(parse_duration("20ms"), Some(0.02));
        assert_eq!(parse_duration("17s"), Some(17.0));
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("5d"), None);
        assert_eq!(parse_duration("s"), None);
    }

    #[test]
    fn resets() {
        assert_eq!(reset(20.0, 1e9), Some(20.0));
        assert_eq!(reset(1_000_000_020.0, 1e9), Some(20.0));
        assert_eq!(reset(1_000_000_020_000.0, 1e9), Some(20.0));
        assert_eq!(reset(-1.0, 1e9), None);
        assert_eq!(reset(0.0, 1e9), Some(0.0), "no wait is a delay of its own");
        assert_eq!(reset(f64::INFINITY, 1e9), None);
    }

    #[test]
    fn message_phrases() {
        assert_eq!(from_message("Rate limit exceeded: 60 requests per minute. Retry after 12 seconds."), Some(12.0));
        assert_eq!(from_message("Please try again in 1.5s"), Some(1.5));
        assert_eq!(from_message("try again in 250ms"), Some(0.25));
        assert_eq!(from_message("retry after 2 minutes"), Some(120.0));
        assert_eq!(from_message("Please try again in 1m30s."), Some(90.0));
        assert_eq!(from_message("Please try again in 6m12.48s."), Some(372.48));
        assert_eq!(from_message("try again in 2h30m"), Some(9000.0));
        assert_eq!(from_message("Please try again in 2 hours"), Some(7200.0));
        assert_eq!(from_message("try again in 5 days"), Some(432_000.0));
        assert_eq!(from_message("Please retry in 47.434392449s."), Some(47.434392449));
        assert_eq!(from_message("retry after 7."), Some(7.0));
        assert_eq!(from_message("Request was throttled. Your rate limit resets in ~30s."), Some(30.0));
        assert_eq!(from_message("try again in 1e3 seconds"), None);
        assert_eq!(from_message("try again in 5 requests"), None);
        assert_eq!(from_message("please retry later"), None);
        assert_eq!(from_message("entry after 5 seconds"), None);
        // Every unit word, and none.
        assert_eq!(from_message("retry after 500 ms"), Some(0.5));
        assert_eq!(from_message("retry after 250 milliseconds"), Some(0.25));
        assert_eq!(from_message("retry after 3 secs"), Some(3.0));
        assert_eq!(from_message("retry after 2 min"), Some(120.0));
        assert_eq!(from_message("retry after 1 hr"), Some(3600.0));
        assert_eq!(from_message("retry after 1 day"), Some(86_400.0));
        assert_eq!(from_message("retry after 0 seconds"), Some(0.0));
        assert_eq!(from_message("retry after 8, please"), Some(8.0));
        // A phrase inside a word is not the phrase; one after punctuation is.
        assert_eq!(from_message("autoretry after 5 seconds"), None);
        assert_eq!(from_message("(retry after 5 seconds)"), Some(5.0));
        assert_eq!(from_message("x-retry after 5s"), Some(5.0));
        assert_eq!(from_message("RETRY AFTER 5"), Some(5.0));
        // A phrase with no delay after it does not end the search.
        assert_eq!(from_message("Retry after a while, or try again in 3s"), Some(3.0));
        assert_eq!(from_message("tr"), None);
        assert_eq!(from_message(&format!("retry after {}", "9".repeat(400))), None, "an infinite number");
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
