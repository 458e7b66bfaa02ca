//! Finding bytes a word at a time, for the envelope writer and for the stream reader on a machine
//! without the vector search of `aho-corasick`; the table of word bytes the text scans share; and
//! integers written in decimal without the formatting machinery.

/// The ASCII letters and digits, by byte: the bytes of a word.
pub(crate) const ALNUM: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    table
};

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The bytes of `w` equal to `b`, exactly: the high bit of each such byte, and of no other.
#[inline]
fn equal_exact(w: u64, b: u8) -> u64 {
    let x = w ^ (LO * u64::from(b));
    // A byte of `x` is zero exactly when neither its low seven bits carry into its high bit nor
    // its high bit is set; no carry crosses into the next byte.
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Pairs of bytes as a set of 1,024 bits, each pair at [`pair_bit`]: pairs that share a bit
/// cannot be told apart, so a pair found in the set may still be none of those put in it.
pub(crate) type PairSet = [u64; 16];

/// The bit of the pair `a`, `b` in a [`PairSet`].
pub(crate) const fn pair_bit(a: u8, b: u8) -> usize {
    ((a as usize) << 5 ^ b as usize) & 1023
}

/// The pairs of bytes `words` begin with, as a [`PairSet`]: a word of one byte begins every pair
/// with its byte.
pub(crate) const fn pair_set(words: &[&str]) -> PairSet {
    let mut set = [0u64; 16];
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_bytes();
        let mut b = 0;
        while b < 256 && !w.is_empty() {
            if w.len() < 2 || w[1] as usize == b {
                let bit = pair_bit(w[0], b as u8);
                set[bit / 64] |= 1 << (bit % 64);
            }
            b += 1;
        }
        i += 1;
    }
    set
}

fn holds(set: &PairSet, a: u8, b: u8) -> bool {
    let bit = pair_bit(a, b);
    set[bit / 64] >> (bit % 64) & 1 == 1
}

/// The position of the first `"` of `hay` whose next two bytes (a missing byte counts as 0) are a
/// pair of `starts`, or `\` followed by `u`, at or after `from`: where a JSON string may begin with
/// a word that begins with such a pair, or a `\u` escape. Quotes and backslashes are found eight
/// bytes at a time.
pub(crate) fn find_opening(hay: &[u8], from: usize, starts: &PairSet) -> Option<usize> {
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
            let &n = hay.get(i + 1)?;
            let opens = if hay[i] == b'"' { holds(starts, n, hay.get(i + 2).copied().unwrap_or(0)) } else { n == b'u' };
            if opens {
                return Some(i);
            }
        }
        at += 8;
    }
}

/// The position of the first byte of `hay` at or after `from` that a JSON string escapes: `"`,
/// `\` or a control character below `0x20`.
pub(crate) fn find_escape(hay: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(w) = hay.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*w);
        // A byte below `0x20` has neither its high bit nor, once `0x60` is added to its low
        // seven bits, the high bit of the sum.
        let control = !(((w & LOW7) + LO * 0x60) | w) & HI;
        let m = control | equal_exact(w, b'"') | equal_exact(w, b'\\');
        if m != 0 {
            return Some(at + (m.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = hay.get(at..)?;
    rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|i| at + i)
}

/// `n` in decimal, preceded by `-` when `negative`, as `Display` writes it, at the end of `buf`.
pub(crate) fn decimal(n: u64, negative: bool, buf: &mut [u8; 21]) -> &str {
    std::str::from_utf8(digits(n, negative, buf)).unwrap_or_default()
}

/// [`decimal`]'s ASCII bytes.
pub(crate) fn digits(n: u64, negative: bool, buf: &mut [u8; 21]) -> &[u8] {
    let mut at = buf.len();
    let mut rest = n;
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if negative {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

#[cfg(test)]
mod tests {
    #[test]
    fn integers_are_written_as_display_writes_them() {
        let mut buf = [0; 21];
        for n in [0, 7, -7, 10, 429, -1000, 1_234_567_890, i64::MAX, i64::MIN, i64::MIN + 1] {
            assert_eq!(super::decimal(n.unsigned_abs(), n < 0, &mut buf), n.to_string());
        }
        for n in [0, 9, 10, 99, 100, u64::from(u32::MAX), u64::MAX - 1, u64::MAX] {
            assert_eq!(super::decimal(n, false, &mut buf), n.to_string());
        }
    }

    /// The set of every pair that begins with one of `bytes`.
    fn set(bytes: &[u8]) -> super::PairSet {
        let mut set = [0; 16];
        for &a in bytes {
            for b in 0..=255 {
                let bit = super::pair_bit(a, b);
                set[bit / 64] |= 1 << (bit % 64);
            }
        }
        set
    }

    /// The plain search, which `find_opening` must agree with: each position in turn. A pair
    /// that begins with one of `starts` is always found (other pairs may share its bit).
    fn naive_opening(hay: &[u8], from: usize, starts: &super::PairSet) -> Option<usize> {
        (from..hay.len().saturating_sub(1)).find(|&i| {
            (hay[i] == b'"' && super::holds(starts, hay[i + 1], hay.get(i + 2).copied().unwrap_or(0)))
                || (hay[i] == b'\\' && hay[i + 1] == b'u')
        })
    }

    #[test]
    fn pairs_are_found_by_both_bytes() {
        let mut set = [0; 16];
        for (a, b) in [(b'e', b'r'), (b'c', b'o'), (b's', b't')] {
            let bit = super::pair_bit(a, b);
            set[bit / 64] |= 1 << (bit % 64);
        }
        let text = br#"{"type":"text","x":"error","y":"stop"}"#;
        assert_eq!(super::find_opening(text, 0, &set), Some(19));
        assert_eq!(super::find_opening(text, 20, &set), Some(31));
        assert_eq!(super::find_opening(text, 32, &set), None);
        // The byte after the pair's first may be missing: it counts as 0.
        let bit = super::pair_bit(b'x', 0);
        set[bit / 64] |= 1 << (bit % 64);
        assert_eq!(super::find_opening(b"ab\"x", 0, &set), Some(2));
    }

    #[test]
    fn find_opening_agrees_with_the_plain_search() {
        let alphabet = [b'"', b'\\', b'u', b'e', b'c', b'x', 0x80, 0xff, 0, b'"' + 1, b'"' - 1];
        let mut sparse = [0; 16];
        for (a, b) in [(b'e', b'x'), (b'u', 0), (0xff, b'"')] {
            let bit = super::pair_bit(a, b);
            sparse[bit / 64] |= 1 << (bit % 64);
        }
        let sets = [set(b"ce"), set(b""), set(b"BILMNOPRSUe"), set(b"\""), set(b"u"), sparse];
        for starts in &sets {
            for len in 0..20 {
                for seed in 0..40usize {
                    let hay: Vec<u8> =
                        (0..len).map(|i| alphabet[(i * 7 + seed * 13 + i * i * seed) % alphabet.len()]).collect();
                    for from in 0..=len {
                        assert_eq!(
                            super::find_opening(&hay, from, starts),
                            naive_opening(&hay, from, starts),
                            "{hay:?} from {from} {starts:x?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn find_escape_finds_quotes_backslashes_and_control_characters() {
        let plain = |hay: &[u8], from: usize| {
            hay.iter().skip(from).position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|i| from + i)
        };
        let all: Vec<u8> = (0..=255).collect();
        for b in 0..=255u8 {
            for len in 1..20 {
                for pos in 0..len {
                    let mut hay = vec![b'a'; len];
                    hay[pos] = b;
                    for from in 0..=len {
                        assert_eq!(super::find_escape(&hay, from), plain(&hay, from), "{hay:?} from {from}");
                    }
                }
            }
        }
        for start in 0..40 {
            assert_eq!(super::find_escape(&all[start..], 0), plain(&all[start..], 0));
        }
        assert_eq!(super::find_escape(b"abc", 9), None);
    }
}
