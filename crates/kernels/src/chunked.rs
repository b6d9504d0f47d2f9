//! Fixed chunk plans over flat buffers, for kernels that update several
//! same-length slices at once (an optimizer's parameters and moments) or that
//! reduce while they write (a loss and its gradient).
//!
//! A buffer of `total` items is cut into consecutive chunks of `chunk_len`
//! items (`chunk_len` from `chunk_len()`, which depends on the sizes only,
//! never on the thread count), at most `MAX_CHUNKS` of them. Each chunk returns
//! a partial result; the caller combines the partials in chunk order, so
//! reductions are bit-identical whatever the number of threads.
//!
//! Nothing here allocates: the chunk table and the partials live on the stack
//! (`MAX_CHUNKS` entries). Parallelism goes through `par::for_each_chunk_mut`.

use core::ops::Range;

use crate::par;

/// Upper bound on the number of chunks of one call (size of the stack tables).
pub const MAX_CHUNKS: usize = 64;

/// Chunk length for `total` items: at least `min_len`, large enough that there
/// are at most `MAX_CHUNKS` chunks, and a multiple of `granule` (a row length,
/// or the SIMD width so that only the last chunk has a scalar tail).
pub fn chunk_len(total: usize, min_len: usize, granule: usize) -> usize {
    let granule = granule.max(1);
    let len = min_len.max(total.div_ceil(MAX_CHUNKS)).max(1);
    len.div_ceil(granule) * granule
}

/// Per-chunk results of one call, in chunk order.
#[derive(Clone, Copy)]
pub struct Partials<P: Copy> {
    vals: [P; MAX_CHUNKS],
    len: usize,
}

impl<P: Copy> Partials<P> {
    pub fn as_slice(&self) -> &[P] {
        &self.vals[..self.len]
    }
}

impl Partials<f64> {
    /// Sum of the partials, added in chunk order.
    pub fn sum_in_order(&self) -> f64 {
        self.as_slice().iter().fold(0.0, |acc, &p| acc + p)
    }
}

/// Calls `f(range)` for the item range of each chunk of `0..total` and returns
/// the results in chunk order (read-only reductions).
pub fn map_ranges<P, F>(total: usize, chunk_len: usize, parallel: bool, f: F) -> Partials<P>
where
    P: Copy + Default + Send,
    F: Fn(Range<usize>) -> P + Sync + Send,
{
    debug_assert!(chunk_len > 0 && total.div_ceil(chunk_len) <= MAX_CHUNKS);
    let len = total.div_ceil(chunk_len);
    let mut vals = [P::default(); MAX_CHUNKS];
    par::for_each_chunk_mut(&mut vals[..len], 1, parallel, |i, out| {
        let start = i * chunk_len;
        out[0] = f(start..(start + chunk_len).min(total));
    });
    Partials { vals, len }
}

/// Cuts `K` slices of equal length into the same chunks and calls
/// `f(offset, [chunk of each slice])` for each chunk, where `offset` is the
/// chunk's first index; returns the results in chunk order.
pub fn zip_chunks_mut<const K: usize, P, F>(slices: [&mut [f32]; K], chunk_len: usize, parallel: bool, f: F) -> Partials<P>
where
    P: Copy + Default + Send,
    F: Fn(usize, [&mut [f32]; K]) -> P + Sync + Send,
{
    let total = slices.first().map_or(0, |s| s.len());
    debug_assert!(slices.iter().all(|s| s.len() == total), "zip_chunks_mut: slice lengths differ");
    debug_assert!(chunk_len > 0 && total.div_ceil(chunk_len) <= MAX_CHUNKS);
    let len = total.div_ceil(chunk_len);
    let mut jobs: [([&mut [f32]; K], P); MAX_CHUNKS] =
        core::array::from_fn(|_| (core::array::from_fn(|_| <&mut [f32]>::default()), P::default()));
    for (k, s) in slices.into_iter().enumerate() {
        for (job, c) in jobs.iter_mut().zip(s.chunks_mut(chunk_len)) {
            job.0[k] = c;
        }
    }
    par::for_each_chunk_mut(&mut jobs[..len], 1, parallel, |i, job| {
        let (chunks, out) = &mut job[0];
        let chunks = core::mem::replace(chunks, core::array::from_fn(|_| <&mut [f32]>::default()));
        *out = f(i * chunk_len, chunks);
    });
    Partials { vals: core::array::from_fn(|i| jobs[i].1), len }
}

/// Sum of squares of `x` in f64 with four accumulators (lane `j % 4`),
/// combined as `(s0 + s1) + (s2 + s3)`: one fixed order for a given slice.
pub fn sum_squares_f64(x: &[f32]) -> f64 {
    let mut s = [0.0f64; 4];
    let mut quads = x.chunks_exact(4);
    for q in &mut quads {
        for j in 0..4 {
            let v = q[j] as f64;
            s[j] += v * v;
        }
    }
    for (j, &v) in quads.remainder().iter().enumerate() {
        s[j] += v as f64 * v as f64;
    }
    (s[0] + s[1]) + (s[2] + s[3])
}
