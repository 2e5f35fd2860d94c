//! Byte classes eight bytes at a time (SWAR on a `u64`), for the word scans of the heuristic filters: each
//! function returns a word whose byte `j` has its high bit (`0x80`) set where byte `j` of the input word has
//! the class, and every other bit clear. Words are read little-endian, so byte `j` of the text is byte `j`
//! of the word and a shift left by 8 moves every flag to the next text byte.

/// The high bit of every byte.
pub const HIGH: u64 = 0x8080_8080_8080_8080;
const ONES: u64 = 0x0101_0101_0101_0101;

/// Eight bytes of `b` starting at `i` as a little-endian word (`b` must hold them).
#[inline]
pub fn load(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().expect("eight bytes"))
}

/// The whole eight-byte blocks of `b` as `(offset, word)`, in order; the bytes from [`tail`] on are left over.
#[inline]
pub fn blocks(b: &[u8]) -> impl Iterator<Item = (usize, u64)> + '_ {
    (0..b.len() / 8).map(move |k| (8 * k, load(b, 8 * k)))
}

/// Where the bytes after the last whole block of [`blocks`] start.
#[inline]
pub fn tail(b: &[u8]) -> usize {
    b.len() - b.len() % 8
}

/// Flags of the bytes at or above `0x80` (parts of non-ASCII characters).
#[inline]
pub fn non_ascii(w: u64) -> u64 {
    w & HIGH
}

/// Flags of the bytes equal to `c`.
#[inline]
pub fn eq(w: u64, c: u8) -> u64 {
    let t = w ^ (ONES * u64::from(c));
    // A byte's high bit is set after the add iff its low seven bits are not all zero; no carry leaves a byte.
    !(((t & !HIGH) + !HIGH) | t) & HIGH
}

/// Flags of the ASCII bytes in `lo..=hi` (`hi < 0x80`); bytes at or above `0x80` are never flagged.
#[inline]
pub fn in_range(w: u64, lo: u8, hi: u8) -> u64 {
    debug_assert!(lo <= hi && hi < 0x80);
    let a = w & !HIGH;
    // For a 7-bit byte `x`, `x + (0x80 - lo)` reaches 0x80 iff `x >= lo`, and `x + (0x7f - hi)` stays below
    // 0x80 iff `x <= hi`; neither sum passes 0xff, so bytes do not carry into each other.
    let ge = a + ONES * u64::from(0x80 - lo);
    let le = a + ONES * u64::from(0x7F - hi);
    ge & !le & !w & HIGH
}

/// Flags of the bytes that start a run of non-space bytes: not in `space`, and the byte before is in `space`
/// (for byte 0, when `prev_space` says the byte before the word was).
#[inline]
pub fn run_starts(space: u64, prev_space: bool) -> u64 {
    !space & ((space << 8) | if prev_space { 0x80 } else { 0 }) & HIGH
}

/// Whether the last byte of the word is flagged.
#[inline]
pub fn last_flagged(flags: u64) -> bool {
    flags >> 63 != 0
}

/// The flags as one bit per byte: bit `j` of the result is the flag of byte `j`.
#[inline]
pub fn pack(flags: u64) -> u8 {
    // Bit 8j + 7 moves to bit 56 + j under the multiply (each byte's term lands on its own bit, no carries).
    (((flags >> 7) & (HIGH >> 7)).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn flags(b: &[u8; 8], f: impl Fn(u8) -> bool) -> u64 {
        b.iter()
            .enumerate()
            .fold(0, |m, (j, &x)| m | (u64::from(f(x)) << (8 * j + 7)))
    }

    proptest! {
        #[test]
        fn classes_match_byte_by_byte(b in any::<[u8; 8]>(), c in any::<u8>(), lo in 0u8..0x80, span in 0u8..0x80) {
            let hi = lo.saturating_add(span).min(0x7F);
            let w = load(&b, 0);
            prop_assert_eq!(eq(w, c), flags(&b, |x| x == c));
            prop_assert_eq!(in_range(w, lo, hi), flags(&b, |x| (lo..=hi).contains(&x)));
            prop_assert_eq!(non_ascii(w), flags(&b, |x| x >= 0x80));
            let space = flags(&b, |x| x == b' ');
            for prev in [false, true] {
                let want = flags(&b, |_| false)
                    | (0..8).fold(0, |m, j| {
                        let before = if j == 0 { prev } else { b[j - 1] == b' ' };
                        m | (u64::from(b[j] != b' ' && before) << (8 * j + 7))
                    });
                prop_assert_eq!(run_starts(space, prev), want);
            }
            prop_assert_eq!(last_flagged(space), b[7] == b' ');
            let packed = (0..8).fold(0u8, |m, j| m | (u8::from(b[j] == b' ') << j));
            prop_assert_eq!(pack(space), packed);
        }
    }
}
