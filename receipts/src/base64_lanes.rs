//! Decoding standard base64, 32 characters per step with AVX2.
//!
//! [`decode_into`] accepts exactly what the `base64` crate's `STANDARD` engine
//! accepts (padding required, canonical trailing bits) and yields the same
//! bytes: whole 32-character groups before the last quantum are checked and
//! decoded in vectors, and the rest (including any `=` padding and its checks)
//! by the crate. Without AVX2 the crate decodes everything.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// Appends the bytes `text` decodes to onto `out`, or returns `None` (with
/// `out` possibly grown) when `text` is not canonical padded standard base64.
pub fn decode_into(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is available, as checked just above.
        return unsafe { decode_avx2(text, out) };
    }
    STANDARD.decode_vec(text, out).ok()
}

/// [`decode_into`] for processors with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn decode_avx2(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    use std::arch::x86_64::{
        _mm256_add_epi8, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256,
        _mm256_madd_epi16, _mm256_maddubs_epi16, _mm256_permutevar8x32_epi32, _mm256_set1_epi32,
        _mm256_set1_epi8, _mm256_setr_epi32, _mm256_setr_epi8, _mm256_shuffle_epi8,
        _mm256_srli_epi32, _mm256_storeu_si256, _mm256_testz_si256,
    };

    if !text.len().is_multiple_of(4) {
        return None;
    }
    // Character classes by high nibble: 0x2_ (A), 0x3_ (B), 0x4_/0x6_ (C),
    // 0x5_/0x7_ (D), anything else (E, never valid).
    let class_of_high = _mm256_setr_epi8(
        0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
        0x10, 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
        0x10, 0x10,
    );
    // By low nibble: the classes in which that low nibble is not a base64
    // character (`+` is 0x2b, `/` 0x2f, digits 0x30-0x39, letters 0x41-0x5a and
    // 0x61-0x7a).
    let invalid_for_low = _mm256_setr_epi8(
        0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b,
        0x1a, 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1a, 0x1b, 0x1b,
        0x1b, 0x1a,
    );
    // What to add to a character to get its value, by high nibble (high
    // nibble - 1 for `/`): `/` +16, `+` +19, digits +4, upper -65, lower -71.
    let shift = _mm256_setr_epi8(
        0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 19, 4, -65, -65, -71, -71,
        0, 0, 0, 0, 0, 0, 0, 0,
    );
    let low_nibble = _mm256_set1_epi8(0x0f);
    let slash = _mm256_set1_epi8(b'/' as i8);
    // Four 6-bit values a b c d -> 24 bits, then the three bytes in order.
    let pairs = _mm256_set1_epi32(0x0140_0140);
    let quads = _mm256_set1_epi32(0x0001_1000);
    let order = _mm256_setr_epi8(
        2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13,
        12, -1, -1, -1, -1,
    );
    let gather = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);

    // Leave the last quantum (which may hold padding) to the crate.
    let vector_part = text.len().saturating_sub(4) / 32 * 32;
    out.reserve(text.len() / 4 * 3);
    let mut decoded = [0u8; 32];
    for group in text[..vector_part].chunks_exact(32) {
        // SAFETY: `group` is exactly 32 readable bytes.
        let chars = unsafe { _mm256_loadu_si256(group.as_ptr().cast()) };
        let high = _mm256_and_si256(_mm256_srli_epi32::<4>(chars), low_nibble);
        let low = _mm256_and_si256(chars, low_nibble);
        let class = _mm256_shuffle_epi8(class_of_high, high);
        let invalid = _mm256_shuffle_epi8(invalid_for_low, low);
        if _mm256_testz_si256(class, invalid) == 0 {
            return None;
        }
        // `cmpeq` gives -1 for `/`, which moves it to its own shift entry.
        let index = _mm256_add_epi8(high, _mm256_cmpeq_epi8(chars, slash));
        let values = _mm256_add_epi8(chars, _mm256_shuffle_epi8(shift, index));
        let packed = _mm256_madd_epi16(_mm256_maddubs_epi16(values, pairs), quads);
        let bytes = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(packed, order), gather);
        // SAFETY: `decoded` is exactly 32 writable bytes.
        unsafe { _mm256_storeu_si256(decoded.as_mut_ptr().cast(), bytes) };
        out.extend_from_slice(&decoded[..24]);
    }
    STANDARD.decode_vec(&text[vector_part..], out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours(text: &[u8]) -> Option<Vec<u8>> {
        let mut out = vec![7u8];
        decode_into(text, &mut out).map(|()| out.split_off(1))
    }

    fn crate_decode(text: &[u8]) -> Option<Vec<u8>> {
        STANDARD.decode(text).ok()
    }

    #[test]
    fn every_byte_in_every_position_of_a_vector_group() {
        let data: Vec<u8> = (0..200u8).map(|i| i.wrapping_mul(37)).collect();
        let text = STANDARD.encode(&data).into_bytes();
        assert_eq!(ours(&text), Some(data.clone()));
        // Every byte value at every position of the first group and of a
        // later one: accepted exactly when the crate accepts it.
        for pos in (0..32).chain(200..232) {
            for b in 0..=255u8 {
                let mut t = text.clone();
                t[pos] = b;
                assert_eq!(ours(&t), crate_decode(&t), "byte {b:#x} at {pos}");
            }
        }
    }

    #[test]
    fn lengths_padding_and_trailing_bits_follow_the_crate() {
        for n in 0..120usize {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            let text = STANDARD.encode(&data).into_bytes();
            assert_eq!(ours(&text), Some(data), "length {n}");
        }
        // Non-canonical trailing bits, padding in the middle, bad lengths.
        for bad in ["QR==", "QUI=QUJD", "QUJD=", "QUJ", "Q===", "QUJDRA=A"] {
            assert_eq!(ours(bad.as_bytes()), None, "{bad}");
        }
        let mut long = STANDARD.encode([0xabu8; 48]).into_bytes();
        long[10] = b'=';
        assert_eq!(ours(&long), None);
    }

    proptest! {
        #[test]
        fn random_text_matches_the_crate(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
        ) {
            let mut text = STANDARD.encode(&data).into_bytes();
            for (pos, b) in edits {
                if !text.is_empty() {
                    let i = pos % text.len();
                    text[i] = b;
                }
            }
            prop_assert_eq!(ours(&text), crate_decode(&text));
        }
    }
}
