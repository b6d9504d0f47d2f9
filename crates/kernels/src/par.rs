//! The one place that decides whether a loop runs on the rayon pool.
//!
//! Work is always split into fixed-size chunks chosen from the geometry, never
//! from the thread count, and any reduction combines chunk results in chunk
//! order, so results are bit-identical whatever the number of threads.
//!
//! Under wasm, parallel loops run on the pool only when the caller already is a
//! pool thread (`ffi::pool::run` puts every exported call there): entering the
//! pool from outside blocks in rayon's own latch, which the runtime could not
//! wake if a worker trapped. Natively (tests), rayon's global pool is used.

/// Calls `f(chunk_index, chunk)` for consecutive `chunk_len`-sized chunks of
/// `data` (the last may be shorter), in parallel when `parallel` is true and a
/// pool is available.
pub fn for_each_chunk_mut<T, F>(data: &mut [T], chunk_len: usize, parallel: bool, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    debug_assert!(chunk_len > 0);
    #[cfg(feature = "threads")]
    if parallel && pool_available() {
        use rayon::prelude::*;
        data.par_chunks_mut(chunk_len).enumerate().for_each(|(i, c)| f(i, c));
        return;
    }
    let _ = parallel;
    for (i, c) in data.chunks_mut(chunk_len).enumerate() {
        f(i, c);
    }
}

/// Runs `a` and `b`, concurrently on the pool when one is available (`b`
/// may be stolen by an idle thread while `a` runs), else `a` then `b`. For
/// independent work only: each closure must produce the same bits whichever
/// thread runs it and whenever (e.g. a training step beside the preparation
/// of the next batch's inputs, ffi::model's `lc_model_train_step_prefetch`).
pub fn join<RA, RB>(a: impl FnOnce() -> RA + Send, b: impl FnOnce() -> RB + Send) -> (RA, RB)
where
    RA: Send,
    RB: Send,
{
    #[cfg(feature = "threads")]
    if pool_available() {
        return rayon::join(a, b);
    }
    let ra = a();
    (ra, b())
}

#[cfg(feature = "threads")]
fn pool_available() -> bool {
    let on_pool = if cfg!(target_arch = "wasm32") { rayon::current_thread_index().is_some() } else { true };
    // A pool of one thread runs the same chunks in the same order on the
    // calling thread, without rayon's splitting and job bookkeeping per chunk
    // (BatchNorm alone has hundreds of chunks per pass at batch 32).
    on_pool && rayon::current_num_threads() > 1
}

/// Like `for_each_chunk_mut` over two outputs split in step: chunk `i` is
/// `a[i·a_chunk..]` (length `a_chunk`, the last may be shorter) together with
/// `b[i·b_chunk..]`. Both slices must hold the same number of chunks (e.g. max
/// pooling's values and argmax indices).
pub fn for_each_chunk_pair_mut<A, B, F>(a: &mut [A], a_chunk: usize, b: &mut [B], b_chunk: usize, parallel: bool, f: F)
where
    A: Send,
    B: Send,
    F: Fn(usize, &mut [A], &mut [B]) + Sync + Send,
{
    debug_assert!(a_chunk > 0 && b_chunk > 0);
    debug_assert_eq!(a.len().div_ceil(a_chunk), b.len().div_ceil(b_chunk));
    #[cfg(feature = "threads")]
    if parallel && pool_available() {
        use rayon::prelude::*;
        a.par_chunks_mut(a_chunk).zip(b.par_chunks_mut(b_chunk)).enumerate().for_each(|(i, (x, y))| f(i, x, y));
        return;
    }
    let _ = parallel;
    for (i, (x, y)) in a.chunks_mut(a_chunk).zip(b.chunks_mut(b_chunk)).enumerate() {
        f(i, x, y);
    }
}

/// Like `for_each_chunk_pair_mut`, but chunk `u` of `a` is the span
/// `a[start(u)..start(u + 1)]` of any length (`start` nondecreasing, `start(0)
/// = 0`, `start(units) = a.len()`), for outputs whose units are not all the
/// same size (e.g. Winograd's tile rows over images of odd height); chunk `u`
/// of `b` is `b[u·b_chunk..][..b_chunk]`. On the pool the spans are split in
/// halves with `rayon::join`, so nothing allocates.
pub fn for_each_span_pair_mut<A, B, S, F>(a: &mut [A], start: S, units: usize, b: &mut [B], b_chunk: usize, parallel: bool, f: F)
where
    A: Send,
    B: Send,
    S: Fn(usize) -> usize + Sync,
    F: Fn(usize, &mut [A], &mut [B]) + Sync + Send,
{
    debug_assert!(start(0) == 0 && start(units) == a.len() && b.len() >= units * b_chunk);
    #[cfg(feature = "threads")]
    if parallel && pool_available() && units > 1 {
        halves(a, b, 0, units, &start, b_chunk, &f);
        return;
    }
    let _ = parallel;
    let (mut a, mut b) = (a, b);
    for u in 0..units {
        let (x, a_rest) = a.split_at_mut(start(u + 1) - start(u));
        let (y, b_rest) = b.split_at_mut(b_chunk);
        f(u, x, y);
        (a, b) = (a_rest, b_rest);
    }
}

/// `for_each_span_pair_mut` with no second output: `f(u, a[start(u)..start(u
/// + 1)])` for each unit (e.g. the output rows of Winograd's tile rows).
pub fn for_each_span_mut<A, S, F>(a: &mut [A], start: S, units: usize, parallel: bool, f: F)
where
    A: Send,
    S: Fn(usize) -> usize + Sync,
    F: Fn(usize, &mut [A]) + Sync + Send,
{
    for_each_span_pair_mut(a, start, units, &mut [(); 0], 0, parallel, |u, x, _| f(u, x));
}

/// Units `lo..hi` of `for_each_span_pair_mut` (`a`, `b`: their spans), split
/// in two halves run by `rayon::join`.
#[cfg(feature = "threads")]
fn halves<A, B, S, F>(a: &mut [A], b: &mut [B], lo: usize, hi: usize, start: &S, b_chunk: usize, f: &F)
where
    A: Send,
    B: Send,
    S: Fn(usize) -> usize + Sync,
    F: Fn(usize, &mut [A], &mut [B]) + Sync + Send,
{
    if hi - lo == 1 {
        f(lo, a, &mut b[..b_chunk]);
        return;
    }
    let mid = (lo + hi) / 2;
    let (a_lo, a_hi) = a.split_at_mut(start(mid) - start(lo));
    let (b_lo, b_hi) = b.split_at_mut((mid - lo) * b_chunk);
    rayon::join(|| halves(a_lo, b_lo, lo, mid, start, b_chunk, f), || halves(a_hi, b_hi, mid, hi, start, b_chunk, f));
}
