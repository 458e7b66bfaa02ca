//! The binary `application/vnd.amazon.eventstream` framing of Amazon Bedrock's streaming
//! operations (InvokeModelWithResponseStream, ConverseStream).
//!
//! A message is a 12-byte prelude (total length and headers length, big-endian `u32`, then the
//! CRC32 of those 8 bytes), the headers, the payload, and the CRC32 of everything before it.
//! A header is a 1-byte name length, the name, a 1-byte type and a value; only what the stream
//! reader needs is read (string values), the other types are skipped by their sizes. Both CRCs
//! are checked: a frame that fails either is corrupt, never read as an event.
//!
//! Source: <https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-event-stream>
//! (the same framing, shared by every AWS event stream).

/// The prelude: total length, headers length, prelude CRC.
pub(crate) const PRELUDE: usize = 12;
/// The smallest message: a prelude and a message CRC.
const MIN_MESSAGE: usize = PRELUDE + 4;

/// The CRC-32 (IEEE 802.3) table, built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// The CRC-32 of `bytes`.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, &b| CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8))
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Whether `bytes` open with a valid prelude (its CRC checks out) of a message no larger than
/// `max`: the test for a body that is an event stream without saying so in a header.
pub(crate) fn opens_a_stream(bytes: &[u8], max: usize) -> bool {
    bytes.len() >= PRELUDE && frame_len(bytes, max).is_ok()
}

/// The total length of the message whose prelude `bytes` start with.
pub(crate) fn frame_len(bytes: &[u8], max: usize) -> Result<usize, Corrupt> {
    let total = be32(&bytes[0..4]) as usize;
    let headers = be32(&bytes[4..8]) as usize;
    if crc32(&bytes[0..8]) != be32(&bytes[8..12]) {
        return Err(Corrupt("the prelude's checksum does not match"));
    }
    if total < MIN_MESSAGE || headers > total - MIN_MESSAGE || total > max {
        return Err(Corrupt("the lengths in the prelude are impossible"));
    }
    Ok(total)
}

/// Why a frame cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Corrupt(pub &'static str);

/// One decoded message: the string headers the reader uses, and the payload.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Message<'a> {
    /// `:message-type`: `event`, `exception` or `error`.
    pub message_type: Option<&'a str>,
    /// `:event-type`, `:exception-type` or `:error-code`: what the message is.
    pub name: Option<&'a str>,
    /// `:error-message`, for an unmodeled `error` message.
    pub error_message: Option<&'a str>,
    pub payload: &'a [u8],
}

/// Decodes one whole message (`frame.len()` is its total length, from [`frame_len`]).
pub(crate) fn decode(frame: &[u8]) -> Result<Message<'_>, Corrupt> {
    let n = frame.len();
    if n < MIN_MESSAGE {
        return Err(Corrupt("a message is shorter than its prelude"));
    }
    if crc32(&frame[..n - 4]) != be32(&frame[n - 4..]) {
        return Err(Corrupt("the message's checksum does not match"));
    }
    let headers_len = be32(&frame[4..8]) as usize;
    let headers = frame.get(PRELUDE..PRELUDE + headers_len).ok_or(Corrupt("the headers overrun the message"))?;
    let mut msg = Message { payload: &frame[PRELUDE + headers_len..n - 4], ..Message::default() };
    let mut rest = headers;
    while let Some((&name_len, r)) = rest.split_first() {
        let name_len = usize::from(name_len);
        let name = r.get(..name_len).ok_or(Corrupt("a header name overruns the headers"))?;
        let (&kind, r) = r[name_len..].split_first().ok_or(Corrupt("a header has no type"))?;
        // Value sizes by type: bool true/false, byte, short, int, long, bytes, string,
        // timestamp, uuid.
        let (value, r): (Option<&[u8]>, &[u8]) = match kind {
            0 | 1 => (None, r),
            2 => (None, r.get(1..).ok_or(Corrupt("a header value overruns the headers"))?),
            3 => (None, r.get(2..).ok_or(Corrupt("a header value overruns the headers"))?),
            4 => (None, r.get(4..).ok_or(Corrupt("a header value overruns the headers"))?),
            5 | 8 => (None, r.get(8..).ok_or(Corrupt("a header value overruns the headers"))?),
            9 => (None, r.get(16..).ok_or(Corrupt("a header value overruns the headers"))?),
            6 | 7 => {
                let len = r.get(..2).ok_or(Corrupt("a header value overruns the headers"))?;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                let v = r.get(2..2 + len).ok_or(Corrupt("a header value overruns the headers"))?;
                (Some(v).filter(|_| kind == 7), &r[2 + len..])
            }
            _ => return Err(Corrupt("a header has an unknown type")),
        };
        rest = r;
        let text = value.and_then(|v| std::str::from_utf8(v).ok());
        match name {
            b":message-type" => msg.message_type = text,
            b":event-type" | b":exception-type" | b":error-code" => msg.name = msg.name.or(text),
            b":error-message" => msg.error_message = text,
            _ => {}
        }
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message with string headers, framed as AWS frames it.
    fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
        let mut h = Vec::new();
        for (name, value) in headers {
            h.push(name.len() as u8);
            h.extend_from_slice(name.as_bytes());
            h.push(7);
            h.extend_from_slice(&(value.len() as u16).to_be_bytes());
            h.extend_from_slice(value.as_bytes());
        }
        let total = (PRELUDE + h.len() + payload.len() + 4) as u32;
        let mut out = total.to_be_bytes().to_vec();
        out.extend_from_slice(&(h.len() as u32).to_be_bytes());
        let prelude_crc = crc32(&out);
        out.extend_from_slice(&prelude_crc.to_be_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(payload);
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn decodes_an_exception_frame() {
        let f = frame(
            &[
                (":message-type", "exception"),
                (":exception-type", "throttlingException"),
                (":content-type", "application/json"),
            ],
            br#"{"message":"Too many requests"}"#,
        );
        assert!(opens_a_stream(&f, 1 << 20));
        assert_eq!(frame_len(&f, 1 << 20), Ok(f.len()));
        let m = decode(&f).expect("a frame");
        assert_eq!(m.message_type, Some("exception"));
        assert_eq!(m.name, Some("throttlingException"));
        assert_eq!(m.payload, br#"{"message":"Too many requests"}"#);
    }

    #[test]
    fn rejects_corrupt_frames() {
        let mut f = frame(&[(":message-type", "event")], b"{}");
        let last = f.len() - 5;
        f[last] ^= 1;
        assert_eq!(decode(&f), Err(Corrupt("the message's checksum does not match")));
        let mut g = frame(&[(":message-type", "event")], b"{}");
        g[0] ^= 0x40;
        assert!(frame_len(&g, 1 << 20).is_err());
        assert!(!opens_a_stream(b"data: {}\n\n\n\n\n\n", 1 << 20));
        assert!(frame_len(&frame(&[], &[0; 64]), 32).is_err(), "over the size limit");
    }

    /// Headers of every type the framing defines are skipped by their sizes, and a string after
    /// them is still read; a type outside them is corrupt.
    #[test]
    fn every_header_type_is_skipped_by_its_size() {
        let sized: [(u8, usize); 9] = [(0, 0), (1, 0), (2, 1), (3, 2), (4, 4), (5, 8), (8, 8), (9, 16), (6, 2)];
        for (kind, size) in sized {
            let mut h = vec![1, b'x', kind];
            h.extend(std::iter::repeat_n(0u8, size));
            let name = b":event-type";
            h.push(name.len() as u8);
            h.extend_from_slice(name);
            h.extend_from_slice(&[7, 0, 5]);
            h.extend_from_slice(b"chunk");
            let total = (PRELUDE + h.len() + 4) as u32;
            let mut f = prelude(total, h.len() as u32);
            f.extend_from_slice(&h);
            let crc = crc32(&f);
            f.extend_from_slice(&crc.to_be_bytes());
            assert_eq!(decode(&f).map(|m| m.name), Ok(Some("chunk")), "type {kind}");
            if kind == 9 {
                let last = f.len() - 4;
                let mut g = f[..last].to_vec();
                g[PRELUDE + 2] = 10;
                let crc = crc32(&g);
                g.extend_from_slice(&crc.to_be_bytes());
                assert_eq!(decode(&g), Err(Corrupt("a header has an unknown type")));
            }
        }
        let error =
            frame(&[(":message-type", "error"), (":error-code", "InternalFailure"), (":error-message", "boom")], b"");
        let m = decode(&error).expect("a frame");
        assert_eq!((m.message_type, m.name, m.error_message), (Some("error"), Some("InternalFailure"), Some("boom")));
        // The smallest message is its prelude and its checksum; anything shorter is corrupt.
        assert_eq!(decode(&frame(&[], b"")).map(|m| m.payload.len()), Ok(0));
        assert_eq!(decode(&[0; 15]), Err(Corrupt("a message is shorter than its prelude")));
    }

    /// A prelude with the given lengths and a checksum that matches.
    fn prelude(total: u32, headers: u32) -> Vec<u8> {
        let mut p = [total.to_be_bytes(), headers.to_be_bytes()].concat();
        let crc = crc32(&p);
        p.extend_from_slice(&crc.to_be_bytes());
        p
    }

    /// The lengths at their edges: a message holds at least its prelude and its checksum, and
    /// its headers fit in what is left.
    #[test]
    fn prelude_lengths_at_their_edges() {
        let impossible = Err(Corrupt("the lengths in the prelude are impossible"));
        assert_eq!(frame_len(&prelude(15, 0), 1 << 20), impossible);
        assert_eq!(frame_len(&prelude(12, 0), 1 << 20), impossible);
        assert_eq!(frame_len(&prelude(16, 0), 1 << 20), Ok(16));
        assert_eq!(frame_len(&prelude(20, 4), 1 << 20), Ok(20));
        assert_eq!(frame_len(&prelude(20, 5), 1 << 20), impossible);
        assert_eq!(frame_len(&prelude(64, 0), 64), Ok(64), "exactly the limit");
        assert_eq!(frame_len(&prelude(65, 0), 64), impossible);
    }
}
