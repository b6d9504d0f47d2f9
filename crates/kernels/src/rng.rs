//! The library's one PRNG family: Philox4x32-10 (Salmon et al., "Parallel
//! random numbers: as easy as 1, 2, 3", SC'11), the generator of Random123,
//! cuRAND, PyTorch's CUDA backend and JAX.
//!
//! It is counter-based: value number `i` of stream `(seed, stream)` is a pure
//! function `philox(counter = (i / 4, stream), key = seed)[i % 4]`, not the
//! i-th step of a sequential state. So a parallel loop over fixed-size chunks
//! computes exactly the values a serial loop would, whatever the thread count
//! or chunking, and a backward pass can regenerate a forward pass's random
//! mask instead of storing it. Streams separate uses under one seed (e.g. one
//! per layer and step), each of 2^66 values.
//!
//! Conversions: `uniform_f32` takes the top 24 bits, `(u >> 8) · 2^-24`, in
//! `[0, 1)` with every value exactly representable; `normal_f32` is the
//! Box-Muller transform of lanes `(0, 1)` and `(2, 3)` of one block, computed
//! in f64 and rounded (bit-identical across thread counts on one platform;
//! the last bit may differ between native and wasm `ln`/`cos`).

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Philox4x32 with 10 rounds: one 128-bit block for `counter` under `key`.
#[inline]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let [mut k0, mut k1] = key;
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let p0 = M0 as u64 * c0 as u64;
        let p1 = M1 as u64 * c2 as u64;
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);
    }
    [c0, c1, c2, c3]
}

/// `(u >> 8) · 2^-24`: uniform in `[0, 1)`.
#[inline]
pub fn u32_to_uniform(u: u32) -> f32 {
    (u >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// One stream of the generator: `seed` is the Philox key, `stream` the high
/// half of the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterRng {
    key: [u32; 2],
    stream: [u32; 2],
}

impl CounterRng {
    pub fn new(seed: u64, stream: u64) -> Self {
        Self { key: [seed as u32, (seed >> 32) as u32], stream: [stream as u32, (stream >> 32) as u32] }
    }

    /// Block `b`: values `4b .. 4b + 4` of the stream.
    #[inline]
    pub fn block(&self, b: u64) -> [u32; 4] {
        philox4x32_10([b as u32, (b >> 32) as u32, self.stream[0], self.stream[1]], self.key)
    }

    /// Value `i` of the stream.
    #[inline]
    pub fn u32_at(&self, i: u64) -> u32 {
        self.block(i >> 2)[(i & 3) as usize]
    }

    /// Value `i` as a uniform in `[0, 1)`.
    #[inline]
    pub fn uniform_f32(&self, i: u64) -> f32 {
        u32_to_uniform(self.u32_at(i))
    }

    /// Value `i` as a standard normal.
    #[inline]
    pub fn normal_f32(&self, i: u64) -> f32 {
        normals(self.block(i >> 2))[(i & 3) as usize]
    }

    /// `out[j] = uniform_f32(start + j)`, one block per four values.
    pub fn fill_uniform(&self, start: u64, out: &mut [f32]) {
        self.fill_blocks(start, out, |w| w.map(u32_to_uniform));
    }

    /// `out[j] = mean + std · normal_f32(start + j)`.
    pub fn fill_normal(&self, start: u64, mean: f32, std: f32, out: &mut [f32]) {
        self.fill_blocks(start, out, |w| normals(w).map(|z| mean + std * z));
    }

    /// Calls `f` once per block covering `start .. start + out.len()`.
    #[inline]
    fn fill_blocks(&self, start: u64, out: &mut [f32], f: impl Fn([u32; 4]) -> [f32; 4]) {
        let mut j = 0;
        while j < out.len() {
            let i = start + j as u64;
            let vals = f(self.block(i >> 2));
            let lane = (i & 3) as usize;
            let take = (4 - lane).min(out.len() - j);
            out[j..j + take].copy_from_slice(&vals[lane..lane + take]);
            j += take;
        }
    }
}

/// Box-Muller on one block: `(w0, w1) -> (z0, z1)`, `(w2, w3) -> (z2, z3)`,
/// with `u1 = ((w >> 8) + 1) · 2^-24` in `(0, 1]` (so `ln u1` is finite).
#[inline]
fn normals(w: [u32; 4]) -> [f32; 4] {
    let pair = |a: u32, b: u32| {
        let u1 = ((a >> 8) + 1) as f64 * (1.0 / 16_777_216.0);
        let u2 = (b >> 8) as f64 * (1.0 / 16_777_216.0);
        let r = (-2.0 * u1.ln()).sqrt();
        let t = core::f64::consts::TAU * u2;
        ((r * t.cos()) as f32, (r * t.sin()) as f32)
    };
    let (z0, z1) = pair(w[0], w[1]);
    let (z2, z3) = pair(w[2], w[3]);
    [z0, z1, z2, z3]
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests {
    use super::*;

    crate::kernel_tests! {
        fn philox_known_answers() {
            // Random123's kat_vectors (counter, key -> output).
            let kat: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
                ([0; 4], [0; 2], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]),
                ([u32::MAX; 4], [u32::MAX; 2], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]),
                (
                    [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                    [0xa4093822, 0x299f31d0],
                    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
                ),
            ];
            for (ctr, key, want) in kat {
                assert_eq!(philox4x32_10(ctr, key), want, "philox4x32_10({ctr:08x?}, {key:08x?})");
            }
        }

        fn counter_rng_maps_seed_stream_and_index() {
            // seed -> key, (index / 4, stream) -> counter, index % 4 -> lane.
            let r = CounterRng::new(0x299f31d0_a4093822, 0x03707344_13198a2e);
            let b = 0x85a308d3_243f6a88u64;
            assert_eq!(r.block(b), [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
            let z = CounterRng::new(0, 0);
            assert_eq!(z.u32_at(1), 0xe169c58d);
            assert_eq!(z.uniform_f32(0), (0x6627e8d5u32 >> 8) as f32 / 16_777_216.0);
            assert_eq!(u32_to_uniform(u32::MAX), 1.0 - 1.0 / 16_777_216.0);
            assert_eq!(u32_to_uniform(0), 0.0);
            assert_ne!(CounterRng::new(1, 0).block(0), CounterRng::new(1, 1).block(0), "streams differ");
            assert_ne!(CounterRng::new(1, 0).block(0), CounterRng::new(2, 0).block(0), "seeds differ");
        }

        fn counter_rng_fill_matches_per_index_values() {
            let r = CounterRng::new(42, 7);
            for (start, len) in [(0u64, 1usize), (1, 3), (3, 9), (6, 17), (1 << 33, 5)] {
                let mut u = vec![f32::NAN; len];
                r.fill_uniform(start, &mut u);
                let mut z = vec![f32::NAN; len];
                r.fill_normal(start, 0.5, 2.0, &mut z);
                for j in 0..len {
                    let i = start + j as u64;
                    assert_eq!(u[j].to_bits(), r.uniform_f32(i).to_bits(), "uniform start={start} j={j}");
                    assert_eq!(z[j].to_bits(), (0.5 + 2.0 * r.normal_f32(i)).to_bits(), "normal start={start} j={j}");
                }
            }
        }

        fn counter_rng_distribution_stats() {
            // N values; each bound is about 5 standard errors.
            const N: usize = 1 << 16;
            let r = CounterRng::new(2024, 3);
            let mut u = vec![0.0f32; N];
            r.fill_uniform(0, &mut u);
            let mean = u.iter().map(|&v| v as f64).sum::<f64>() / N as f64;
            let var = u.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / N as f64;
            assert!((mean - 0.5).abs() < 5.0 * (1.0 / 12.0 / N as f64).sqrt(), "uniform mean {mean}");
            assert!((var - 1.0 / 12.0).abs() < 5.0 * (1.0 / 180.0 / N as f64).sqrt(), "uniform var {var}");
            assert!(u.iter().all(|&v| (0.0..1.0).contains(&v)), "uniform range");
            let below = u.iter().filter(|&&v| v < 0.25).count() as f64 / N as f64;
            assert!((below - 0.25).abs() < 5.0 * (0.25 * 0.75 / N as f64).sqrt(), "uniform P(u < 0.25) = {below}");

            let mut z = vec![0.0f32; N];
            r.fill_normal(N as u64, 0.0, 1.0, &mut z);
            let mean = z.iter().map(|&v| v as f64).sum::<f64>() / N as f64;
            let var = z.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / N as f64;
            assert!(mean.abs() < 5.0 / (N as f64).sqrt(), "normal mean {mean}");
            assert!((var - 1.0).abs() < 5.0 * (2.0 / N as f64).sqrt(), "normal var {var}");
            let within = z.iter().filter(|v| v.abs() < 1.0).count() as f64 / N as f64;
            assert!((within - 0.682_689).abs() < 5.0 * (0.2167 / N as f64).sqrt(), "normal P(|z| < 1) = {within}");
            assert!(z.iter().all(|v| v.is_finite()), "normal finite");
        }
    }
}
