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

/// The positions of the bytes of `hay` that are `a` or `b`, in order.
pub(crate) fn each2(hay: &[u8], a: u8, b: u8) -> Each2<'_> {
    Each2 { hay, a, b, at: 0, mask: 0 }
}

/// The iterator of [`each2`]: a word's matches as a mask, then the next word's.
pub(crate) struct Each2<'h> {
    hay: &'h [u8],
    a: u8,
    b: u8,
    /// Where the word after the one `mask` holds begins.
    at: usize,
    /// The matches of the word before `at`, not yet returned.
    mask: u64,
}

impl Iterator for Each2<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            let w = match self.hay.get(self.at..self.at + 8) {
                Some(word) => u64::from_le_bytes(word.try_into().unwrap_or_default()),
                None => {
                    // The last bytes, padded; the padding is no part of the haystack.
                    let rest = self.hay.get(self.at..).filter(|r| !r.is_empty())?;
                    let mut word = [0u8; 8];
                    word[..rest.len()].copy_from_slice(rest);
                    let keep = (1u64 << (8 * rest.len())) - 1;
                    let w = u64::from_le_bytes(word);
                    self.mask = (equal_exact(w, self.a) | equal_exact(w, self.b)) & keep;
                    self.at += 8;
                    continue;
                }
            };
            self.mask = equal_exact(w, self.a) | equal_exact(w, self.b);
            self.at += 8;
        }
        let i = self.at - 8 + (self.mask.trailing_zeros() / 8) as usize;
        self.mask &= self.mask - 1;
        Some(i)
    }
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

#[cfg(test)]
mod tests {
    use super::find2;

    /// The plain search, which `find2` must agree with.
    fn naive(hay: &[u8], a: u8, b: u8) -> Option<usize> {
        hay.iter().position(|&c| c == a || c == b)
    }

    fn all2(hay: &[u8], a: u8, b: u8) -> Vec<usize> {
        super::each2(hay, a, b).collect()
    }

    #[test]
    fn each2_finds_every_match() {
        let all: Vec<u8> = (0..=255).chain(0..=255).collect();
        for (a, b) in [(b'"', b'\\'), (0, 255), (0x7f, 0x80), (1, 0), (b'a', b'a')] {
            for start in 0..9 {
                let hay = &all[start..];
                let want: Vec<usize> =
                    hay.iter().enumerate().filter(|(_, c)| **c == a || **c == b).map(|(i, _)| i).collect();
                assert_eq!(all2(hay, a, b), want, "{a} {b} from {start}");
            }
        }
        for len in 0..20 {
            let hay = vec![0u8; len];
            assert_eq!(all2(&hay, 0, 0), (0..len).collect::<Vec<_>>(), "the padding is not matched");
        }
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
