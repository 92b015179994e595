//! BLAKE3 of many short inputs at once: eight inputs side by side per pass.
//!
//! An input of at most one chunk (1024 bytes) is hashed by compressing its blocks
//! one after another, so one input alone leaves most of a vector unit idle. Here
//! eight inputs are compressed together, word `i` of each input in lane `i` of
//! one 256-bit AVX2 vector (used when the processor has AVX2, checked at run
//! time). Inputs longer than a chunk, and machines without AVX2, use the
//! `blake3` crate. The result is plain BLAKE3 (32-byte output, unkeyed); tests
//! compare it with the crate for every length up to two chunks.

#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

/// Eight 32-bit lanes.
type Lanes = [u32; 8];

/// The BLAKE3 initialization vector (the SHA-256 one).
const IV: [u32; 8] = [
    0x6A09_E667,
    0xBB67_AE85,
    0x3C6E_F372,
    0xA54F_F53A,
    0x510E_527F,
    0x9B05_688C,
    0x1F83_D9AB,
    0x5BE0_CD19,
];

/// Message word order of round `r + 1` given the order of round `r`.
const PERMUTATION: [usize; 16] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];

/// Message word schedule of each of the seven rounds.
const SCHEDULE: [[usize; 16]; 7] = {
    let mut s = [[0usize; 16]; 7];
    let mut i = 0;
    while i < 16 {
        s[0][i] = i;
        i += 1;
    }
    let mut r = 1;
    while r < 7 {
        let mut i = 0;
        while i < 16 {
            s[r][i] = s[r - 1][PERMUTATION[i]];
            i += 1;
        }
        r += 1;
    }
    s
};

const CHUNK_START: u32 = 1;
const CHUNK_END: u32 = 2;
const ROOT: u32 = 8;

/// Bytes per block.
const BLOCK: usize = 64;
/// Longest input hashed in lanes: one chunk.
pub const MAX_LANE_INPUT: usize = 1024;

/// Appends the BLAKE3 hash of each input to `out`, in order.
pub fn hash_many(inputs: &[&[u8]], out: &mut Vec<[u8; 32]>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        out.reserve(inputs.len());
        for group in inputs.chunks(8) {
            // SAFETY: AVX2 is available, as checked just above.
            unsafe { hash_group(group, out) };
        }
        return;
    }
    out.extend(inputs.iter().map(|i| *blake3::hash(i).as_bytes()));
}

/// Hashes up to eight inputs, those of at most one chunk side by side.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn hash_group(group: &[&[u8]], out: &mut Vec<[u8; 32]>) {
    use std::arch::x86_64::{__m256i, _mm256_set1_epi32, _mm256_setr_epi32};

    let lanes = |a: &Lanes| {
        _mm256_setr_epi32(
            a[0] as i32,
            a[1] as i32,
            a[2] as i32,
            a[3] as i32,
            a[4] as i32,
            a[5] as i32,
            a[6] as i32,
            a[7] as i32,
        )
    };
    // Blocks per lane (0 for an unused lane); an empty input is one empty block.
    let mut blocks = [0usize; 8];
    for (lane, input) in group.iter().enumerate() {
        if input.len() <= MAX_LANE_INPUT {
            blocks[lane] = input.len().div_ceil(BLOCK).max(1);
        }
    }
    let steps = blocks.iter().copied().max().unwrap_or(0);
    let mut cv: [__m256i; 8] = IV.map(|w| _mm256_set1_epi32(w as i32));
    let mut done: [[u32; 8]; 8] = [[0; 8]; 8];
    for step in 0..steps {
        let mut m: [Lanes; 16] = [[0; 8]; 16];
        let mut block_len: Lanes = [0; 8];
        let mut flags: Lanes = [0; 8];
        for lane in 0..group.len() {
            if step >= blocks[lane] {
                continue;
            }
            let input = group[lane];
            let start = step * BLOCK;
            let end = (start + BLOCK).min(input.len());
            let mut block = [0u8; BLOCK];
            match input.get(start..start + BLOCK) {
                Some(whole) => block.copy_from_slice(whole),
                None => block[..end - start].copy_from_slice(&input[start..end]),
            }
            for (w, word) in m.iter_mut().enumerate() {
                word[lane] = u32::from_le_bytes([
                    block[4 * w],
                    block[4 * w + 1],
                    block[4 * w + 2],
                    block[4 * w + 3],
                ]);
            }
            block_len[lane] = (end - start) as u32;
            flags[lane] = if step == 0 { CHUNK_START } else { 0 }
                | if step + 1 == blocks[lane] {
                    CHUNK_END | ROOT
                } else {
                    0
                };
        }
        let words: [__m256i; 16] = std::array::from_fn(|w| lanes(&m[w]));
        let next = compress(&cv, &words, lanes(&block_len), lanes(&flags));
        // Lanes past their last block keep a stale value that is never read.
        cv = next;
        let next: [Lanes; 8] = next.map(|v| to_lanes(v));
        for lane in 0..group.len() {
            if step + 1 == blocks[lane] {
                for w in 0..8 {
                    done[lane][w] = next[w][lane];
                }
            }
        }
    }
    for (lane, input) in group.iter().enumerate() {
        if blocks[lane] == 0 {
            out.push(*blake3::hash(input).as_bytes());
            continue;
        }
        let mut digest = [0u8; 32];
        for (bytes, word) in digest.chunks_exact_mut(4).zip(done[lane]) {
            bytes.copy_from_slice(&word.to_le_bytes());
        }
        out.push(digest);
    }
}

/// The eight lanes of a vector.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn to_lanes(v: std::arch::x86_64::__m256i) -> Lanes {
    use std::arch::x86_64::_mm256_extract_epi32;
    [
        _mm256_extract_epi32::<0>(v) as u32,
        _mm256_extract_epi32::<1>(v) as u32,
        _mm256_extract_epi32::<2>(v) as u32,
        _mm256_extract_epi32::<3>(v) as u32,
        _mm256_extract_epi32::<4>(v) as u32,
        _mm256_extract_epi32::<5>(v) as u32,
        _mm256_extract_epi32::<6>(v) as u32,
        _mm256_extract_epi32::<7>(v) as u32,
    ]
}

/// The BLAKE3 compression function on eight lanes, with block counter 0 (every
/// input here is the first chunk). Returns the new chaining values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn compress(
    cv: &[std::arch::x86_64::__m256i; 8],
    m: &[std::arch::x86_64::__m256i; 16],
    block_len: std::arch::x86_64::__m256i,
    flags: std::arch::x86_64::__m256i,
) -> [std::arch::x86_64::__m256i; 8] {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi32, _mm256_or_si256, _mm256_set1_epi32, _mm256_setr_epi8,
        _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_slli_epi32, _mm256_srli_epi32,
        _mm256_xor_si256,
    };

    let rot16 = _mm256_setr_epi8(
        2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9,
        14, 15, 12, 13,
    );
    let rot8 = _mm256_setr_epi8(
        1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8,
        13, 14, 15, 12,
    );
    let iv = |i: usize| _mm256_set1_epi32(IV[i] as i32);
    let mut v: [__m256i; 16] = [
        cv[0],
        cv[1],
        cv[2],
        cv[3],
        cv[4],
        cv[5],
        cv[6],
        cv[7],
        iv(0),
        iv(1),
        iv(2),
        iv(3),
        _mm256_setzero_si256(),
        _mm256_setzero_si256(),
        block_len,
        flags,
    ];
    macro_rules! g {
        ($a:expr, $b:expr, $c:expr, $d:expr, $x:expr, $y:expr) => {
            v[$a] = _mm256_add_epi32(_mm256_add_epi32(v[$a], v[$b]), $x);
            v[$d] = _mm256_shuffle_epi8(_mm256_xor_si256(v[$d], v[$a]), rot16);
            v[$c] = _mm256_add_epi32(v[$c], v[$d]);
            let t = _mm256_xor_si256(v[$b], v[$c]);
            v[$b] = _mm256_or_si256(_mm256_srli_epi32::<12>(t), _mm256_slli_epi32::<20>(t));
            v[$a] = _mm256_add_epi32(_mm256_add_epi32(v[$a], v[$b]), $y);
            v[$d] = _mm256_shuffle_epi8(_mm256_xor_si256(v[$d], v[$a]), rot8);
            v[$c] = _mm256_add_epi32(v[$c], v[$d]);
            let t = _mm256_xor_si256(v[$b], v[$c]);
            v[$b] = _mm256_or_si256(_mm256_srli_epi32::<7>(t), _mm256_slli_epi32::<25>(t));
        };
    }
    for s in &SCHEDULE {
        g!(0, 4, 8, 12, m[s[0]], m[s[1]]);
        g!(1, 5, 9, 13, m[s[2]], m[s[3]]);
        g!(2, 6, 10, 14, m[s[4]], m[s[5]]);
        g!(3, 7, 11, 15, m[s[6]], m[s[7]]);
        g!(0, 5, 10, 15, m[s[8]], m[s[9]]);
        g!(1, 6, 11, 12, m[s[10]], m[s[11]]);
        g!(2, 7, 8, 13, m[s[12]], m[s[13]]);
        g!(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    std::array::from_fn(|i| _mm256_xor_si256(v[i], v[i + 8]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn expected(inputs: &[Vec<u8>]) -> Vec<[u8; 32]> {
        inputs.iter().map(|i| *blake3::hash(i).as_bytes()).collect()
    }

    fn ours(inputs: &[Vec<u8>]) -> Vec<[u8; 32]> {
        let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
        let mut out = Vec::new();
        hash_many(&refs, &mut out);
        out
    }

    #[test]
    fn every_length_up_to_two_chunks_matches_the_crate() {
        // Lengths 0..=2048 in groups of eight neighbours: every block count,
        // every partial block length, lanes of different lengths, and inputs
        // beyond one chunk (hashed by the crate) mixed into the same groups.
        let inputs: Vec<Vec<u8>> = (0..=2048usize)
            .map(|n| (0..n).map(|i| (i * 31 + n) as u8).collect())
            .collect();
        assert_eq!(ours(&inputs), expected(&inputs));
        // Known vector: BLAKE3("abc").
        assert_eq!(
            hex::encode(ours(&[b"abc".to_vec()])[0]),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
        assert!(ours(&[]).is_empty());
    }

    proptest! {
        #[test]
        fn random_groups_match_the_crate(
            inputs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..1100), 0..20)
        ) {
            prop_assert_eq!(ours(&inputs), expected(&inputs));
        }
    }
}
