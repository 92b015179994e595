//! SHA-256 of many inputs, two at a time with the x86 SHA extensions.
//!
//! The SHA extensions compute two rounds per instruction, but each instruction
//! waits for the one before it, so hashing one input leaves the unit idle much
//! of the time. Here two inputs are hashed in the same loop, their rounds
//! interleaved, which keeps the unit busy. Processors without the SHA
//! extensions (or SSE4.1) use the `sha2` crate. The result is plain SHA-256
//! (FIPS 180-4); tests compare it with the crate.

#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

use sha2::{Digest, Sha256};

/// One input: a short prefix (such as the Merkle leaf byte `0x00`) and the data
/// after it, hashed as their concatenation.
pub type Input<'a> = (&'a [u8], &'a [u8]);

/// Appends SHA-256 of each input to `out`, in order.
pub fn hash_many(inputs: &[Input<'_>], out: &mut Vec<[u8; 32]>) {
    out.reserve(inputs.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sha")
        && std::arch::is_x86_feature_detected!("ssse3")
        && std::arch::is_x86_feature_detected!("sse4.1")
    {
        let mut pairs = inputs.chunks_exact(2);
        for pair in pairs.by_ref() {
            // SAFETY: the SHA extensions, SSSE3 and SSE4.1 are available, as
            // checked above (SSE2 is part of x86_64).
            let (a, b) = unsafe { hash_two(pair[0], pair[1]) };
            out.push(a);
            out.push(b);
        }
        for &one in pairs.remainder() {
            // SAFETY: as above.
            out.push(unsafe { hash_two(one, (&[], &[])) }.0);
        }
        return;
    }
    out.extend(inputs.iter().map(|(prefix, data)| {
        let mut h = Sha256::new();
        h.update(prefix);
        h.update(data);
        <[u8; 32]>::from(h.finalize())
    }));
}

/// The SHA-256 initial hash value.
const H0: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The SHA-256 round constants.
const K: [u32; 64] = [
    0x428a_2f98,
    0x7137_4491,
    0xb5c0_fbcf,
    0xe9b5_dba5,
    0x3956_c25b,
    0x59f1_11f1,
    0x923f_82a4,
    0xab1c_5ed5,
    0xd807_aa98,
    0x1283_5b01,
    0x2431_85be,
    0x550c_7dc3,
    0x72be_5d74,
    0x80de_b1fe,
    0x9bdc_06a7,
    0xc19b_f174,
    0xe49b_69c1,
    0xefbe_4786,
    0x0fc1_9dc6,
    0x240c_a1cc,
    0x2de9_2c6f,
    0x4a74_84aa,
    0x5cb0_a9dc,
    0x76f9_88da,
    0x983e_5152,
    0xa831_c66d,
    0xb003_27c8,
    0xbf59_7fc7,
    0xc6e0_0bf3,
    0xd5a7_9147,
    0x06ca_6351,
    0x1429_2967,
    0x27b7_0a85,
    0x2e1b_2138,
    0x4d2c_6dfc,
    0x5338_0d13,
    0x650a_7354,
    0x766a_0abb,
    0x81c2_c92e,
    0x9272_2c85,
    0xa2bf_e8a1,
    0xa81a_664b,
    0xc24b_8b70,
    0xc76c_51a3,
    0xd192_e819,
    0xd699_0624,
    0xf40e_3585,
    0x106a_a070,
    0x19a4_c116,
    0x1e37_6c08,
    0x2748_774c,
    0x34b0_bcb5,
    0x391c_0cb3,
    0x4ed8_aa4a,
    0x5b9c_ca4f,
    0x682e_6ff3,
    0x748f_82ee,
    0x78a5_636f,
    0x84c8_7814,
    0x8cc7_0208,
    0x90be_fffa,
    0xa450_6ceb,
    0xbef9_a3f7,
    0xc671_78f2,
];

/// Number of 64-byte blocks of the padded message of `len` bytes.
fn block_count(len: usize) -> usize {
    (len + 9).div_ceil(64)
}

/// Block `i` of the padded message `prefix || data` (FIPS 180-4 §5.1.1: a
/// `0x80` byte, zeros, and the bit length as a big-endian 64-bit number).
#[inline]
fn block(input: Input<'_>, i: usize, out: &mut [u8; 64]) {
    let (prefix, data) = input;
    let len = prefix.len() + data.len();
    let start = 64 * i;
    // Most blocks lie wholly inside the data: one fixed-size copy.
    if let Some(whole) = start
        .checked_sub(prefix.len())
        .and_then(|at| data.get(at..at + 64))
    {
        out.copy_from_slice(whole);
        return;
    }
    *out = [0; 64];
    // The prefix's bytes in this block, then the data's.
    if start < prefix.len() {
        let n = (prefix.len() - start).min(64);
        out[..n].copy_from_slice(&prefix[start..start + n]);
    }
    let data_start = start.saturating_sub(prefix.len());
    let at = prefix.len().saturating_sub(start).min(64);
    if data_start < data.len() && at < 64 {
        let n = (data.len() - data_start).min(64 - at);
        out[at..at + n].copy_from_slice(&data[data_start..data_start + n]);
    }
    if (start..start + 64).contains(&len) {
        out[len - start] = 0x80;
    }
    if i + 1 == block_count(len) {
        out[56..].copy_from_slice(&((len as u64) * 8).to_be_bytes());
    }
}

/// SHA-256 of two inputs with their blocks compressed side by side. The
/// second may be empty `(&[], &[])`, whose hash is computed too.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn hash_two(a: Input<'_>, b: Input<'_>) -> ([u8; 32], [u8; 32]) {
    let blocks_a = block_count(a.0.len() + a.1.len());
    let blocks_b = block_count(b.0.len() + b.1.len());
    let mut state_a = start_state();
    let mut state_b = start_state();
    let mut block_a = [0u8; 64];
    let mut block_b = [0u8; 64];
    for i in 0..blocks_a.max(blocks_b) {
        match (i < blocks_a, i < blocks_b) {
            (true, true) => {
                block(a, i, &mut block_a);
                block(b, i, &mut block_b);
                compress_two(&mut state_a, &block_a, &mut state_b, &block_b);
            }
            (true, false) => {
                block(a, i, &mut block_a);
                compress_one(&mut state_a, &block_a);
            }
            _ => {
                block(b, i, &mut block_b);
                compress_one(&mut state_b, &block_b);
            }
        }
    }
    (digest(state_a), digest(state_b))
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::__m128i;

/// The working state as the SHA instructions want it: (ABEF, CDGH), with A in
/// the highest 32-bit lane of the first register.
#[cfg(target_arch = "x86_64")]
type State = (__m128i, __m128i);

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn start_state() -> State {
    use std::arch::x86_64::_mm_set_epi32;
    let h = H0.map(|w| w as i32);
    (
        _mm_set_epi32(h[0], h[1], h[4], h[5]),
        _mm_set_epi32(h[2], h[3], h[6], h[7]),
    )
}

/// The big-endian bytes of the final state.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn digest(state: State) -> [u8; 32] {
    use std::arch::x86_64::_mm_extract_epi32;
    let (abef, cdgh) = state;
    let words = [
        _mm_extract_epi32::<3>(abef),
        _mm_extract_epi32::<2>(abef),
        _mm_extract_epi32::<3>(cdgh),
        _mm_extract_epi32::<2>(cdgh),
        _mm_extract_epi32::<1>(abef),
        _mm_extract_epi32::<0>(abef),
        _mm_extract_epi32::<1>(cdgh),
        _mm_extract_epi32::<0>(cdgh),
    ];
    let mut out = [0u8; 32];
    for (bytes, word) in out.chunks_exact_mut(4).zip(words) {
        bytes.copy_from_slice(&(word as u32).to_be_bytes());
    }
    out
}

/// The 16 message words of a block, four per register, first word lowest.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn load(block: &[u8; 64]) -> [__m128i; 4] {
    use std::arch::x86_64::{_mm_loadu_si128, _mm_set_epi64x, _mm_shuffle_epi8};
    // Reverses the bytes of each 32-bit word (the words are big-endian).
    let swap = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
    // SAFETY: each load reads 16 of the 64 bytes of `block`.
    std::array::from_fn(|i| unsafe {
        _mm_shuffle_epi8(_mm_loadu_si128(block.as_ptr().add(16 * i).cast()), swap)
    })
}

/// Message words `4g..4g+4` from the four groups before them.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn schedule(w: &[__m128i; 4]) -> __m128i {
    use std::arch::x86_64::{
        _mm_add_epi32, _mm_alignr_epi8, _mm_sha256msg1_epu32, _mm_sha256msg2_epu32,
    };
    // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]: msg1 adds the s0
    // terms, alignr supplies W[t-7], msg2 adds the s1 terms.
    let partial = _mm_add_epi32(
        _mm_sha256msg1_epu32(w[0], w[1]),
        _mm_alignr_epi8::<4>(w[3], w[2]),
    );
    _mm_sha256msg2_epu32(partial, w[3])
}

/// Four rounds with `wk`: four message words plus their round constants.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
#[inline]
fn rounds(state: &mut State, wk: __m128i) {
    use std::arch::x86_64::{_mm_sha256rnds2_epu32, _mm_shuffle_epi32};
    let (abef, cdgh) = *state;
    let cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
    let abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32::<0x0e>(wk));
    *state = (abef, cdgh);
}

/// The round constants `4g..4g+4` in one register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
#[inline]
fn constants(g: usize) -> __m128i {
    use std::arch::x86_64::_mm_set_epi32;
    _mm_set_epi32(
        K[4 * g + 3] as i32,
        K[4 * g + 2] as i32,
        K[4 * g + 1] as i32,
        K[4 * g] as i32,
    )
}

/// Compresses one block into each of two states, interleaving their rounds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn compress_two(sa: &mut State, ba: &[u8; 64], sb: &mut State, bb: &[u8; 64]) {
    use std::arch::x86_64::_mm_add_epi32;
    let (saved_a, saved_b) = (*sa, *sb);
    let mut wa = load(ba);
    let mut wb = load(bb);
    for g in 0..16 {
        let k = constants(g);
        if g >= 4 {
            let na = schedule(&wa);
            let nb = schedule(&wb);
            wa = [wa[1], wa[2], wa[3], na];
            wb = [wb[1], wb[2], wb[3], nb];
        }
        let i = g.min(3);
        rounds(sa, _mm_add_epi32(wa[i], k));
        rounds(sb, _mm_add_epi32(wb[i], k));
    }
    *sa = (
        _mm_add_epi32(sa.0, saved_a.0),
        _mm_add_epi32(sa.1, saved_a.1),
    );
    *sb = (
        _mm_add_epi32(sb.0, saved_b.0),
        _mm_add_epi32(sb.1, saved_b.1),
    );
}

/// Compresses one block into one state.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn compress_one(s: &mut State, block: &[u8; 64]) {
    use std::arch::x86_64::_mm_add_epi32;
    let saved = *s;
    let mut w = load(block);
    for g in 0..16 {
        if g >= 4 {
            let n = schedule(&w);
            w = [w[1], w[2], w[3], n];
        }
        rounds(s, _mm_add_epi32(w[g.min(3)], constants(g)));
    }
    *s = (_mm_add_epi32(s.0, saved.0), _mm_add_epi32(s.1, saved.1));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn expected(inputs: &[(Vec<u8>, Vec<u8>)]) -> Vec<[u8; 32]> {
        inputs
            .iter()
            .map(|(p, d)| {
                let mut h = Sha256::new();
                h.update(p);
                h.update(d);
                h.finalize().into()
            })
            .collect()
    }

    fn ours(inputs: &[(Vec<u8>, Vec<u8>)]) -> Vec<[u8; 32]> {
        let refs: Vec<Input<'_>> = inputs.iter().map(|(p, d)| (&p[..], &d[..])).collect();
        let mut out = Vec::new();
        hash_many(&refs, &mut out);
        out
    }

    #[test]
    fn every_length_and_split_up_to_four_blocks_matches_the_crate() {
        // Neighbouring lengths pair up with different block counts, and the
        // prefix (0 to 2 bytes) moves every block boundary.
        let inputs: Vec<(Vec<u8>, Vec<u8>)> = (0..=260usize)
            .flat_map(|n| {
                (0..3usize).map(move |p| {
                    let bytes: Vec<u8> = (0..n).map(|i| (i * 13 + n) as u8).collect();
                    let p = p.min(n);
                    (bytes[..p].to_vec(), bytes[p..].to_vec())
                })
            })
            .collect();
        assert_eq!(ours(&inputs), expected(&inputs));
        assert_eq!(
            hex::encode(ours(&[(vec![], b"abc".to_vec())])[0]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(ours(&[]).is_empty());
    }

    proptest! {
        #[test]
        fn random_inputs_match_the_crate(
            inputs in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..3), proptest::collection::vec(any::<u8>(), 0..2000)),
                0..7,
            )
        ) {
            prop_assert_eq!(ours(&inputs), expected(&inputs));
        }
    }
}
