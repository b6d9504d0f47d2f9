//! The BatchNorm passes over one chunk of `[rows, c]` rows, a group of up to
//! four channel vectors at a time down all the chunk's rows (`crate::columns`
//! says why; the chunk's sums of `x` are `columns::add_column_sums`). Every
//! element gets exactly the operations it got a row at a time, and every sum
//! still adds the rows in row order, so the results are the same bits.

use crate::columns::{load, store, ColumnPass};
use crate::simd::F32x4;

/// `sums += Σ (x + neg_mean)²` per channel, in row order.
pub(super) struct SquaredDeviations<'a> {
    pub sums: &'a mut [f32],
    pub x: &'a [f32],
    pub neg_mean: &'a [f32],
}

impl ColumnPass for SquaredDeviations<'_> {
    #[inline(always)]
    fn run<const G: usize>(&mut self, j: usize) {
        let mut acc = load::<G>(self.sums, j);
        let nm = load::<G>(self.neg_mean, j);
        for row in self.x.chunks_exact(self.sums.len()) {
            let x = load::<G>(row, j);
            for g in 0..G {
                let d = x[g].add(nm[g]);
                acc[g] = acc[g].mul_add(d, d);
            }
        }
        store(acc, self.sums, j);
    }
    fn scalar(&mut self, k: usize) {
        let (mut s, nm) = (self.sums[k], self.neg_mean[k]);
        for row in self.x.chunks_exact(self.sums.len()) {
            let d = row[k] + nm;
            s += d * d;
        }
        self.sums[k] = s;
    }
}

/// The fused forward's `beta` and `save_scale` (each `[c]`), from which the
/// ReLU's mask `y > 0` is recomputed: `y = max(beta + (x + neg_mean)·scale, 0)`
/// is positive exactly where its argument is, computed with the same
/// operations as `Normalize` (NaN and -0 clamp to +0, so they mask too).
#[derive(Clone, Copy)]
pub(super) struct Mask<'a> {
    pub beta: &'a [f32],
    pub scale: &'a [f32],
}

/// The gradient arriving at the output: `dy`, or with `RELU` `dy` where the
/// fused forward's output was positive, else 0 (as `activation::relu_bwd`
/// writes it). Without `RELU`, `mask` is empty and never read.
#[derive(Clone, Copy)]
pub(super) struct OutGrad<'a, const RELU: bool> {
    pub dy: &'a [f32],
    pub mask: Mask<'a>,
}

/// A group's mask coefficients, loaded once (zeros, unused, without `RELU`).
struct MaskLanes<const G: usize> {
    beta: [F32x4; G],
    scale: [F32x4; G],
}

impl<const RELU: bool> OutGrad<'_, RELU> {
    #[inline(always)]
    fn mask_lanes<const G: usize>(&self, j: usize) -> MaskLanes<G> {
        if RELU {
            MaskLanes { beta: load::<G>(self.mask.beta, j), scale: load::<G>(self.mask.scale, j) }
        } else {
            MaskLanes { beta: [F32x4::zero(); G], scale: [F32x4::zero(); G] }
        }
    }
    /// The gradient lanes of one row, given that row's `x + neg_mean` lanes.
    #[inline(always)]
    fn lanes<const G: usize>(dy: &[f32], dev: &[F32x4; G], m: &MaskLanes<G>, j: usize) -> [F32x4; G] {
        let d = load::<G>(dy, j);
        if RELU {
            core::array::from_fn(|g| d[g].where_positive(m.beta[g].mul_add(dev[g], m.scale[g])))
        } else {
            d
        }
    }
    /// Channel `k`'s gradient in one row, given that row's `x + neg_mean`.
    #[inline(always)]
    fn at(&self, dy: &[f32], dev: f32, k: usize) -> f32 {
        if !RELU || self.mask.beta[k] + dev * self.mask.scale[k] > 0.0 { dy[k] } else { 0.0 }
    }
}

/// `s_dy += Σ g` and `s_dyx += Σ g·(x + neg_mean)` per channel, in row order,
/// with `g` the output gradient.
pub(super) struct GradientSums<'a, const RELU: bool> {
    pub s_dy: &'a mut [f32],
    pub s_dyx: &'a mut [f32],
    pub grad: OutGrad<'a, RELU>,
    pub x: &'a [f32],
    pub neg_mean: &'a [f32],
}

impl<const RELU: bool> ColumnPass for GradientSums<'_, RELU> {
    #[inline(always)]
    fn run<const G: usize>(&mut self, j: usize) {
        let c = self.s_dy.len();
        let (mut s_dy, mut s_dyx) = (load::<G>(self.s_dy, j), load::<G>(self.s_dyx, j));
        let nm = load::<G>(self.neg_mean, j);
        let m = self.grad.mask_lanes::<G>(j);
        for (dy, x) in self.grad.dy.chunks_exact(c).zip(self.x.chunks_exact(c)) {
            let x = load::<G>(x, j);
            let dev: [F32x4; G] = core::array::from_fn(|v| x[v].add(nm[v]));
            let g = OutGrad::<RELU>::lanes::<G>(dy, &dev, &m, j);
            for v in 0..G {
                s_dy[v] = s_dy[v].add(g[v]);
                s_dyx[v] = s_dyx[v].mul_add(g[v], dev[v]);
            }
        }
        store(s_dy, self.s_dy, j);
        store(s_dyx, self.s_dyx, j);
    }
    fn scalar(&mut self, k: usize) {
        let c = self.s_dy.len();
        let (mut s_dy, mut s_dyx, nm) = (self.s_dy[k], self.s_dyx[k], self.neg_mean[k]);
        for (dy, x) in self.grad.dy.chunks_exact(c).zip(self.x.chunks_exact(c)) {
            let dev = x[k] + nm;
            let g = self.grad.at(dy, dev, k);
            s_dy += g;
            s_dyx += g * dev;
        }
        self.s_dy[k] = s_dy;
        self.s_dyx[k] = s_dyx;
    }
}

/// `y = beta + (x + neg_mean)·scale` per channel, then `max(y, 0)` with `RELU`.
pub(super) struct Normalize<'a, const RELU: bool> {
    pub y: &'a mut [f32],
    pub x: &'a [f32],
    pub neg_mean: &'a [f32],
    pub scale: &'a [f32],
    pub beta: &'a [f32],
}

impl<const RELU: bool> ColumnPass for Normalize<'_, RELU> {
    #[inline(always)]
    fn run<const G: usize>(&mut self, j: usize) {
        let c = self.scale.len();
        let (nm, scale, beta) = (load::<G>(self.neg_mean, j), load::<G>(self.scale, j), load::<G>(self.beta, j));
        for (y, x) in self.y.chunks_exact_mut(c).zip(self.x.chunks_exact(c)) {
            let x = load::<G>(x, j);
            let out: [F32x4; G] = core::array::from_fn(|g| {
                let v = beta[g].mul_add(x[g].add(nm[g]), scale[g]);
                if RELU { v.relu() } else { v }
            });
            store(out, y, j);
        }
    }
    fn scalar(&mut self, k: usize) {
        let c = self.scale.len();
        let (nm, scale, beta) = (self.neg_mean[k], self.scale[k], self.beta[k]);
        for (y, x) in self.y.chunks_exact_mut(c).zip(self.x.chunks_exact(c)) {
            let v = beta + (x[k] + nm) * scale;
            // ReLU as `activation::relu_fwd` computes it (NaN and -0 give +0).
            y[k] = if !RELU || v > 0.0 { v } else { 0.0 };
        }
    }
}

/// `dx = c0 + g·a + (x + neg_mean)·b` per channel, with `g` the output gradient.
pub(super) struct InputGradient<'a, const RELU: bool> {
    pub dx: &'a mut [f32],
    pub grad: OutGrad<'a, RELU>,
    pub x: &'a [f32],
    pub neg_mean: &'a [f32],
    pub a: &'a [f32],
    pub b: &'a [f32],
    pub c0: &'a [f32],
}

impl<const RELU: bool> ColumnPass for InputGradient<'_, RELU> {
    #[inline(always)]
    fn run<const G: usize>(&mut self, j: usize) {
        let c = self.a.len();
        let (nm, a, b, c0) = (load::<G>(self.neg_mean, j), load::<G>(self.a, j), load::<G>(self.b, j), load::<G>(self.c0, j));
        let m = self.grad.mask_lanes::<G>(j);
        for ((dx, dy), x) in self.dx.chunks_exact_mut(c).zip(self.grad.dy.chunks_exact(c)).zip(self.x.chunks_exact(c)) {
            let x = load::<G>(x, j);
            let dev: [F32x4; G] = core::array::from_fn(|v| x[v].add(nm[v]));
            let g = OutGrad::<RELU>::lanes::<G>(dy, &dev, &m, j);
            let out: [F32x4; G] = core::array::from_fn(|v| c0[v].mul_add(g[v], a[v]).mul_add(dev[v], b[v]));
            store(out, dx, j);
        }
    }
    fn scalar(&mut self, k: usize) {
        let c = self.a.len();
        let (nm, a, b, c0) = (self.neg_mean[k], self.a[k], self.b[k], self.c0[k]);
        for ((dx, dy), x) in self.dx.chunks_exact_mut(c).zip(self.grad.dy.chunks_exact(c)).zip(self.x.chunks_exact(c)) {
            let dev = x[k] + nm;
            dx[k] = (c0 + self.grad.at(dy, dev, k) * a) + dev * b;
        }
    }
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests {
    //! Each pass against the same operations applied a row at a time, bit for
    //! bit: channel counts that leave every group size and scalar tail, and
    //! row counts from one.
    use super::*;
    use crate::columns::for_columns;
    use crate::selftest::util::{assert_bits_eq, nan_filled, TestRng};

    /// Channel `ch` of a row the way the row-at-a-time loops computed it:
    /// four-lane ops for the first `c / 4 · 4` channels, scalar ops after.
    fn per_element(c: usize, ch: usize, lanes: impl Fn(F32x4) -> F32x4, scalar: impl Fn(f32) -> f32, v: f32) -> f32 {
        if ch < c / 4 * 4 {
            let mut out = [0.0; 4];
            lanes(F32x4::load(&[v; 4])).store(&mut out);
            out[0]
        } else {
            scalar(v)
        }
    }

    crate::kernel_tests! {
        fn batchnorm_column_passes_equal_row_at_a_time_bit_for_bit() {
            let mut seed = 9100;
            for c in [1usize, 3, 4, 5, 8, 12, 16, 17, 20, 28, 33, 64] {
                for rows in [1usize, 2, 7] {
                    let mut rng = TestRng::new(seed);
                    seed += 1;
                    let len = rows * c;
                    let (x, dy) = (rng.vec(len), rng.vec(len));
                    let (nm, a, b, c0, start, start2) = (rng.vec(c), rng.vec(c), rng.vec(c), rng.vec(c), rng.vec(c), rng.vec(c));
                    // Mask coefficients centred on zero, so about half the outputs are masked.
                    let (mb, ms): (Vec<f32>, Vec<f32>) = (rng.vec(c).iter().map(|v| v - 0.5).collect(), rng.vec(c).iter().map(|v| v - 0.5).collect());
                    let mask = Mask { beta: &mb, scale: &ms };
                    let ctx = format!("c={c} rows={rows}");
                    let vec_ch = c / 4 * 4;
                    // Row at a time: a running value per channel, rows in order.
                    let fold = |init: &[f32], f: &dyn Fn(usize, usize, f32) -> f32| -> Vec<f32> {
                        let mut acc = init.to_vec();
                        for r in 0..rows {
                            for ch in 0..c {
                                acc[ch] = f(r, ch, acc[ch]);
                            }
                        }
                        acc
                    };
                    let lane = |f: &dyn Fn(F32x4) -> F32x4, v: f32| { let mut o = [0.0; 4]; f(F32x4::load(&[v; 4])).store(&mut o); o[0] };
                    let sv = |v: f32| F32x4::load(&[v; 4]);

                    let mut sums = start.clone();
                    for_columns(c, &mut SquaredDeviations { sums: &mut sums, x: &x, neg_mean: &nm });
                    let want = fold(&start, &|r, ch, s| {
                        let d = x[r * c + ch] + nm[ch];
                        if ch < vec_ch { lane(&|v| v.mul_add(sv(d), sv(d)), s) } else { s + d * d }
                    });
                    assert_bits_eq(&sums, &want, &format!("SquaredDeviations {ctx}"));

                    for relu in [false, true] {
                        let g = |r: usize, ch: usize| {
                            let d = x[r * c + ch] + nm[ch];
                            let v = per_element(c, ch, |bv| bv.mul_add(sv(d), sv(ms[ch])), |bs| bs + d * ms[ch], mb[ch]);
                            if !relu || v > 0.0 { dy[r * c + ch] } else { 0.0 }
                        };
                        let (mut s_dy, mut s_dyx) = (start.clone(), start2.clone());
                        if relu {
                            for_columns(c, &mut GradientSums::<true> { s_dy: &mut s_dy, s_dyx: &mut s_dyx, grad: OutGrad { dy: &dy, mask }, x: &x, neg_mean: &nm });
                        } else {
                            for_columns(c, &mut GradientSums::<false> { s_dy: &mut s_dy, s_dyx: &mut s_dyx, grad: OutGrad { dy: &dy, mask }, x: &x, neg_mean: &nm });
                        }
                        let want_dy = fold(&start, &|r, ch, s| if ch < vec_ch { lane(&|v| v.add(sv(g(r, ch))), s) } else { s + g(r, ch) });
                        let want_dyx = fold(&start2, &|r, ch, s| {
                            let d = x[r * c + ch] + nm[ch];
                            if ch < vec_ch { lane(&|v| v.mul_add(sv(g(r, ch)), sv(d)), s) } else { s + g(r, ch) * d }
                        });
                        assert_bits_eq(&s_dy, &want_dy, &format!("GradientSums dy relu={relu} {ctx}"));
                        assert_bits_eq(&s_dyx, &want_dyx, &format!("GradientSums dyx relu={relu} {ctx}"));

                        let mut out = nan_filled(len);
                        if relu {
                            for_columns(c, &mut Normalize::<true> { y: &mut out, x: &x, neg_mean: &nm, scale: &a, beta: &b });
                        } else {
                            for_columns(c, &mut Normalize::<false> { y: &mut out, x: &x, neg_mean: &nm, scale: &a, beta: &b });
                        }
                        let want: Vec<f32> = (0..len).map(|i| {
                            let ch = i % c;
                            let d = x[i] + nm[ch];
                            let v = per_element(c, ch, |bv| bv.mul_add(sv(d), sv(a[ch])), |bs| bs + d * a[ch], b[ch]);
                            if !relu || v > 0.0 { v } else { 0.0 }
                        }).collect();
                        assert_bits_eq(&out, &want, &format!("Normalize relu={relu} {ctx}"));

                        let mut dx = nan_filled(len);
                        if relu {
                            for_columns(c, &mut InputGradient::<true> { dx: &mut dx, grad: OutGrad { dy: &dy, mask }, x: &x, neg_mean: &nm, a: &a, b: &b, c0: &c0 });
                        } else {
                            for_columns(c, &mut InputGradient::<false> { dx: &mut dx, grad: OutGrad { dy: &dy, mask }, x: &x, neg_mean: &nm, a: &a, b: &b, c0: &c0 });
                        }
                        let want: Vec<f32> = (0..len).map(|i| {
                            let (r, ch) = (i / c, i % c);
                            let d = x[i] + nm[ch];
                            per_element(c, ch, |c0v| c0v.mul_add(sv(g(r, ch)), sv(a[ch])).mul_add(sv(d), sv(b[ch])), |c0s| (c0s + g(r, ch) * a[ch]) + d * b[ch], c0[ch])
                        }).collect();
                        assert_bits_eq(&dx, &want, &format!("InputGradient relu={relu} {ctx}"));
                    }
                }
            }
        }
    }
}
