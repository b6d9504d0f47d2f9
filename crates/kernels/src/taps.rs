//! Which kernel taps of a strided sliding window reach a given input
//! position: the inverse map that the input-gradient gathers of the
//! convolutions (`conv2d`, `depthwise`) walk instead of scattering.

/// The kernel taps along one axis that reach padded input position `i`:
/// `k = first_k + t·stride` with output position `o = first_o - t`, for
/// `t = 0..count`, i.e. every `k < kernel` with `o·stride + k = i` and
/// `0 <= o < out`, in increasing `k`. One division per position instead of
/// one per candidate tap.
#[derive(Clone, Copy)]
pub(crate) struct Taps {
    pub first_k: usize,
    pub first_o: usize,
    pub count: usize,
}

impl Taps {
    #[inline(always)]
    pub fn reaching(i: usize, kernel: usize, stride: usize, out: usize) -> Taps {
        let mut k = i % stride;
        let mut o = i / stride;
        // o decreases as k grows: skip the taps whose output lies past the end.
        if o >= out {
            let skip = o - (out - 1);
            k += skip * stride;
            o = out - 1;
        }
        // Taps with k > i would need o < 0: `o + 1` taps at most.
        let count = if k < kernel { ((kernel - 1 - k) / stride + 1).min(o + 1) } else { 0 };
        Taps { first_k: k, first_o: o, count }
    }
}

/// The taps of the window at output position `o` that fall inside the input:
/// the window starts at input position `start = o·stride - pad_before` and tap
/// `k` reads `start + k`, which lies in `0..input` exactly for `k` in the
/// returned range (empty when the window lies wholly in the padding).
#[inline(always)]
pub(crate) fn inside(o: usize, stride: usize, pad_before: usize, kernel: usize, input: usize) -> (isize, core::ops::Range<usize>) {
    let start = (o * stride) as isize - pad_before as isize;
    let lo = (-start).clamp(0, kernel as isize) as usize;
    let hi = (input as isize - start).clamp(lo as isize, kernel as isize) as usize;
    (start, lo..hi)
}

/// The output positions `o < out` whose tap `k` falls inside the input, i.e.
/// `0 <= o·stride + k - pad_before < input`: one contiguous range.
#[inline(always)]
pub(crate) fn outputs_reading(k: usize, stride: usize, pad_before: usize, input: usize, out: usize) -> core::ops::Range<usize> {
    // o·stride >= pad_before - k  and  o·stride <= input - 1 + pad_before - k.
    let lo = pad_before.saturating_sub(k).div_ceil(stride);
    let last = (input - 1 + pad_before).checked_sub(k).map_or(0, |span| span / stride + 1);
    lo.min(out)..last.min(out).max(lo.min(out))
}
