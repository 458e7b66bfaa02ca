//! The raw input format: an upstream response written as text, close to an HTTP response.
//!
//! ```text
//! modelbridge                 <- the style's wire name; anything else (or nothing) means "detect"
//! 429                         <- the HTTP status; anything that is not a status in 100-999 means 200
//! retry-after: 12             <- headers, one per line, until the first empty line
//!
//! {"error": {"code": "..."}}  <- the body: every byte after that empty line, as it is
//! ```
//!
//! Every byte string parses: a line break is `\n` (a `\r` before it is dropped), a header line
//! that is not a valid name and value is skipped, and input that ends early has an empty body.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::Style;

/// An upstream response read from the raw format; the body borrows the input.
#[derive(Debug)]
pub struct Response<'a> {
    pub style: Option<Style>,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: &'a [u8],
}

/// The next line of `rest` (without its `\r\n` or `\n`), and what follows it.
fn line(rest: &[u8]) -> (&[u8], &[u8]) {
    let (line, rest) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &rest[rest.len()..]),
    };
    (line.strip_suffix(b"\r").unwrap_or(line), rest)
}

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

impl<'a> Response<'a> {
    /// Reads any byte string as a response.
    pub fn parse(data: &'a [u8]) -> Response<'a> {
        let (style_line, rest) = line(data);
        let (status_line, mut rest) = line(rest);
        let style = std::str::from_utf8(trim(style_line)).ok().and_then(|s| s.parse::<Style>().ok());
        let status = std::str::from_utf8(trim(status_line))
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
            .and_then(|n| StatusCode::from_u16(n).ok())
            .unwrap_or(StatusCode::OK);
        let mut headers = HeaderMap::new();
        while !rest.is_empty() {
            let (header, next) = line(rest);
            rest = next;
            if header.is_empty() {
                break;
            }
            let Some(colon) = header.iter().position(|&b| b == b':') else { continue };
            let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(trim(&header[..colon])), HeaderValue::from_bytes(trim(&header[colon + 1..])))
            else {
                continue;
            };
            headers.append(name, value);
        }
        Response { style, status, headers, body: rest }
    }
}

/// Writes a response in the raw format; [`Response::parse`] reads it back.
///
/// Header names and values are written as given: a value holding a line break would split
/// into lines that parse differently, so callers pass valid header text.
pub fn render(style: Option<Style>, status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64);
    out.extend_from_slice(style.map_or("", Style::as_str).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(status.to_string().as_bytes());
    out.push(b'\n');
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}
