//! Finding bytes a word at a time: the stream reader runs over every byte a gateway streams.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// A mask of the bytes of `w` equal to `b`, by the high bit of each. Its lowest set bit always
/// marks the first such byte; bits above it may be false (the borrow of a match reaches the bytes
/// above it), so only the lowest is read.
#[inline]
fn equal(w: u64, b: u8) -> u64 {
    let x = w ^ (LO * u64::from(b));
    x.wrapping_sub(LO) & !x & HI
}

/// The bytes of `w` equal to `b`, exactly: the high bit of each such byte, and of no other.
#[inline]
fn equal_exact(w: u64, b: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = w ^ (LO * u64::from(b));
    // A byte of `x` is zero exactly when neither its low seven bits carry into its high bit nor
    // its high bit is set; no carry crosses into the next byte.
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// The position of the first byte of `hay` that is `a` or `b`.
///
/// ```text
/// find2(b"data: x\r\n", b'\n', b'\r') == Some(7)
/// ```
#[inline]
pub(crate) fn find2(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    let mut words = hay.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let m = equal(w, a) | equal(w, b);
        if m != 0 {
            // The lowest set bit of either mask is a true match, and so is the lower of the two.
            return Some(at + (m.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words.remainder().iter().position(|&c| c == a || c == b).map(|i| at + i)
}

/// Bytes as a set: bit `b % 64` of word `b / 64` for the byte `b`.
pub(crate) type ByteSet = [u64; 4];

fn holds(set: &ByteSet, b: u8) -> bool {
    set[usize::from(b >> 6)] >> (b & 63) & 1 == 1
}

/// The position of the first `"` of `hay` followed by a byte of `starts`, or `\` followed by `u`,
/// at or after `from`: where a JSON string may begin with a word that begins with one of
/// `starts`, or a `\u` escape. Quotes and backslashes are found eight bytes at a time.
pub(crate) fn find_opening(hay: &[u8], from: usize, starts: &ByteSet) -> Option<usize> {
    let mut at = from;
    loop {
        let (w, keep) = match hay.get(at..).and_then(<[u8]>::first_chunk::<8>) {
            Some(w) => (u64::from_le_bytes(*w), u64::MAX),
            None => {
                // The last bytes, padded; the padding is no part of the haystack.
                let rest = hay.get(at..).filter(|r| !r.is_empty())?;
                let mut w = [0u8; 8];
                w[..rest.len()].copy_from_slice(rest);
                (u64::from_le_bytes(w), (1u64 << (8 * rest.len())) - 1)
            }
        };
        let mut m = (equal_exact(w, b'"') | equal_exact(w, b'\\')) & keep;
        while m != 0 {
            let i = at + (m.trailing_zeros() / 8) as usize;
            m &= m - 1;
            let opens = match (hay[i], hay.get(i + 1)) {
                (b'"', Some(&n)) => holds(starts, n),
                (_, Some(&n)) => n == b'u',
                (_, None) => false,
            };
            if opens {
                return Some(i);
            }
        }
        at += 8;
    }
}

#[cfg(test)]
mod tests {
    use super::find2;

    /// The plain search, which `find_opening` must agree with.
    fn set(bytes: &[u8]) -> super::ByteSet {
        let mut set = [0; 4];
        for &b in bytes {
            set[usize::from(b >> 6)] |= 1 << (b & 63);
        }
        set
    }

    fn naive_opening(hay: &[u8], from: usize, starts: &[u8]) -> Option<usize> {
        (from..hay.len().saturating_sub(1))
            .find(|&i| (hay[i] == b'"' && starts.contains(&hay[i + 1])) || (hay[i] == b'\\' && hay[i + 1] == b'u'))
    }

    #[test]
    fn find_opening_agrees_with_the_plain_search() {
        let alphabet = [b'"', b'\\', b'u', b'e', b'c', b'x', 0x80, 0xff, 0, b'"' + 1, b'"' - 1];
        for starts in [&b"ce"[..], b"", b"BILMNOPRSUe", b"\"", b"u"] {
            for len in 0..20 {
                for seed in 0..40usize {
                    let hay: Vec<u8> =
                        (0..len).map(|i| alphabet[(i * 7 + seed * 13 + i * i * seed) % alphabet.len()]).collect();
                    for from in 0..=len {
                        assert_eq!(
                            super::find_opening(&hay, from, &set(starts)),
                            naive_opening(&hay, from, starts),
                            "{hay:?} from {from} {starts:?}"
                        );
                    }
                }
            }
        }
        let text = br#"{"type":"content_block_delta","delta":{"text":" there"}}"#;
        assert_eq!(super::find_opening(text, 0, &set(b"e")), None);
        assert_eq!(super::find_opening(text, 0, &set(b"c")), Some(8));
        assert_eq!(super::find_opening(br#"{"a":"\u0065rror"}"#, 0, &set(b"e")), Some(6));
    }

    /// The plain search, which `find2` must agree with.
    fn naive(hay: &[u8], a: u8, b: u8) -> Option<usize> {
        hay.iter().position(|&c| c == a || c == b)
    }

    #[test]
    fn agrees_with_the_plain_search() {
        // Every pair of target bytes against haystacks holding each byte value at each offset,
        // next to bytes one above and below the targets (where a borrow could mislead).
        let pairs = [(b'\n', b'\r'), (b'"', b'\\'), (0, 255), (0x80, 0x7f), (1, 0)];
        for (a, b) in pairs {
            for len in 0..24 {
                for pos in 0..len {
                    for v in [0u8, 1, a, b, a.wrapping_add(1), a.wrapping_sub(1), b.wrapping_add(1), 0x80, 0xff] {
                        let mut hay = vec![b'x'; len];
                        hay[pos] = v;
                        if pos > 0 {
                            hay[pos - 1] = a.wrapping_sub(1);
                        }
                        assert_eq!(find2(&hay, a, b), naive(&hay, a, b), "{a} {b} {hay:?}");
                    }
                }
            }
        }
        let all: Vec<u8> = (0..=255).collect();
        for a in 0..=255u8 {
            assert_eq!(find2(&all, a, a), Some(a as usize));
            assert_eq!(find2(&all[1..], a, 0), naive(&all[1..], a, 0));
        }
    }
}
