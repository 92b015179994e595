//! Decoding 64 lowercase hex characters into 32 bytes with AVX2.
//!
//! Digests and key ids are 64 hex characters, and a log line holds eight of
//! them. [`decode32`] checks and decodes all 64 characters in two vectors; it
//! accepts exactly what [`crate::digest::parse_hex32_bytes`] accepts (only
//! `0-9a-f`) and yields the same bytes. It returns `None` on processors without
//! AVX2, where the caller decodes byte by byte.

/// Decodes 64 lowercase hex characters, or `None` when one is not `0-9a-f`
/// (or AVX2 is not available). `text` must hold exactly 64 bytes.
pub fn decode32(text: &[u8; 64]) -> Option<Option<[u8; 32]>> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is available, as checked just above.
        return Some(unsafe { decode32_avx2(text) });
    }
    let _ = text;
    None
}

/// [`decode32`] for processors with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn decode32_avx2(text: &[u8; 64]) -> Option<[u8; 32]> {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi8, _mm256_and_si256, _mm256_cmpgt_epi8, _mm256_loadu_si256,
        _mm256_maddubs_epi16, _mm256_movemask_epi8, _mm256_or_si256, _mm256_packus_epi16,
        _mm256_permute4x64_epi64, _mm256_set1_epi16, _mm256_set1_epi8, _mm256_storeu_si256,
    };

    // Each character's value, and whether every character was a hex digit.
    let values = |chars: __m256i| {
        let digit = _mm256_and_si256(
            _mm256_cmpgt_epi8(chars, _mm256_set1_epi8(b'0' as i8 - 1)),
            _mm256_cmpgt_epi8(_mm256_set1_epi8(b'9' as i8 + 1), chars),
        );
        let letter = _mm256_and_si256(
            _mm256_cmpgt_epi8(chars, _mm256_set1_epi8(b'a' as i8 - 1)),
            _mm256_cmpgt_epi8(_mm256_set1_epi8(b'f' as i8 + 1), chars),
        );
        let ok = _mm256_movemask_epi8(_mm256_or_si256(digit, letter)) == -1;
        // '0'..'9' -> low nibble; 'a'..'f' -> low nibble (1..6) + 9.
        let value = _mm256_add_epi8(
            _mm256_and_si256(chars, _mm256_set1_epi8(0x0f)),
            _mm256_and_si256(letter, _mm256_set1_epi8(9)),
        );
        (value, ok)
    };
    // SAFETY: `text` is 64 readable bytes; each load reads 32 of them.
    let (low_half, high_half) = unsafe {
        (
            _mm256_loadu_si256(text.as_ptr().cast()),
            _mm256_loadu_si256(text.as_ptr().add(32).cast()),
        )
    };
    let (a, a_ok) = values(low_half);
    let (b, b_ok) = values(high_half);
    if !(a_ok && b_ok) {
        return None;
    }
    // Pairs (high nibble, low nibble) -> 16 * high + low, then to bytes;
    // `packus` interleaves 128-bit halves, which the permutation undoes.
    let weights = _mm256_set1_epi16(0x0110);
    let packed = _mm256_packus_epi16(
        _mm256_maddubs_epi16(a, weights),
        _mm256_maddubs_epi16(b, weights),
    );
    let bytes = _mm256_permute4x64_epi64::<0b11_01_10_00>(packed);
    let mut out = [0u8; 32];
    // SAFETY: `out` is exactly 32 writable bytes.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), bytes) };
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_byte_by_byte_decoder_for_every_byte_in_every_position() {
        let all: Vec<u8> = (0..=255u8).collect();
        let text: Vec<u8> = hex::encode(&all[..32]).into_bytes();
        let text: [u8; 64] = text.try_into().unwrap();
        if decode32(&text).is_none() {
            return; // No AVX2 here: nothing to compare.
        }
        for chunk in hex::encode(&all).as_bytes().chunks(64) {
            let t: [u8; 64] = chunk.try_into().unwrap();
            assert_eq!(
                decode32(&t),
                Some(Some(hex::decode(chunk).unwrap().try_into().unwrap()))
            );
        }
        for pos in 0..64 {
            for b in 0..=255u8 {
                let mut t = text;
                t[pos] = b;
                let expected = if b.is_ascii_digit() || (b'a'..=b'f').contains(&b) {
                    let mut e = text;
                    e[pos] = b;
                    Some(hex::decode(e).unwrap().try_into().unwrap())
                } else {
                    None
                };
                assert_eq!(decode32(&t), Some(expected), "byte {b:#x} at {pos}");
            }
        }
    }
}
