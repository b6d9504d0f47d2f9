//! Pooling against the f64 reference on awkward shapes, gradient checks, ties.

use crate::geom::{Padding, Pool2dGeom, PoolOptions};
use crate::reference;
use crate::selftest::gradcheck::{assert_grad_close, numeric_grad, project};
use crate::selftest::util::{assert_bits_eq, assert_dot_close, nan_filled, TestRng};

const HW: [(usize, usize); 7] = [(1, 1), (1, 3), (3, 5), (5, 7), (7, 3), (7, 7), (6, 4)];
const POOLS: [[usize; 2]; 3] = [[2, 2], [3, 3], [2, 3]];
const STRIDES: [[usize; 2]; 5] = [[1, 1], [2, 2], [3, 3], [1, 2], [3, 2]];
const CHANNELS: [usize; 6] = [1, 3, 4, 5, 8, 17];
const PADDINGS: [Padding; 4] = [
    Padding::Valid,
    Padding::Same,
    Padding::Explicit { top: 1, bottom: 1, left: 1, right: 1 },
    Padding::Explicit { top: 1, bottom: 0, left: 0, right: 1 },
];
/// Keras, PyTorch's defaults with padding (count_include_pad), ceil mode, both.
const OPTIONS: [PoolOptions; 4] = [
    PoolOptions { ceil_mode: false, count_include_pad: false },
    PoolOptions { ceil_mode: false, count_include_pad: true },
    PoolOptions { ceil_mode: true, count_include_pad: false },
    PoolOptions { ceil_mode: true, count_include_pad: true },
];

/// Padded extent of each axis, `(h, w)` (0 for Keras' modes: they only fail when the pool exceeds the input).
fn explicit_extra(padding: Padding) -> (usize, usize) {
    match padding {
        Padding::Explicit { top, bottom, left, right } => (top + bottom, left + right),
        _ => (0, 0),
    }
}

/// Every awkward geometry (valid ones only; invalid ones must be rejected).
fn each_geometry(mut f: impl FnMut(Pool2dGeom, u64)) {
    let mut seed = 1u64;
    for (i, &(h, w)) in HW.iter().enumerate() {
        for pool in POOLS {
            for strides in STRIDES {
                for padding in PADDINGS {
                    for &c in &CHANNELS {
                        seed += 1;
                        let n = if (seed + i as u64) % 2 == 0 { 1 } else { 3 };
                        let options = OPTIONS[(seed / 2) as usize % OPTIONS.len()];
                        let (extra_h, extra_w) = explicit_extra(padding);
                        match Pool2dGeom::with_options([n, h, w, c], pool, strides, padding, options) {
                            Ok(g) => f(g, seed),
                            Err(e) => assert!(
                                padding != Padding::Same && (pool[0] > h + extra_h || pool[1] > w + extra_w),
                                "unexpected rejection of {:?}: {}",
                                ([n, h, w, c], pool, strides, padding, options),
                                e.message
                            ),
                        }
                    }
                }
            }
        }
    }
}

/// `x` with all values distinct and at least 1/(len+1) apart, in shuffled order
/// (no max-pooling ties, so the gradient is well defined).
fn distinct_input(len: usize, rng: &mut TestRng) -> Vec<f32> {
    let mut x: Vec<f32> = (0..len).map(|i| (i as f32 + 0.5) / len as f32 * 2.0 - 1.0).collect();
    for i in (1..len).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        x.swap(i, j);
    }
    x
}

crate::kernel_tests! {
    fn pool2d_geometry_matches_keras() {
        // Keras: valid -> floor((in - k) / s) + 1; same -> ceil(in / s).
        let g = Pool2dGeom::new([1, 7, 6, 1], [3, 2], [2, 3], Padding::Valid).unwrap();
        assert_eq!((g.h_out, g.w_out, g.pad_top, g.pad_left), (3, 2, 0, 0));
        let g = Pool2dGeom::new([1, 7, 6, 1], [3, 2], [2, 3], Padding::Same).unwrap();
        // h: out 4, total (3·2 + 3 - 7) = 2, top 1; w: out 2, total max(3 + 2 - 6, 0) = 0.
        assert_eq!((g.h_out, g.w_out, g.pad_top, g.pad_left), (4, 2, 1, 0));
        let g = Pool2dGeom::new([1, 5, 5, 1], [2, 2], [1, 1], Padding::Same).unwrap();
        // total 1: top/left 0, the extra cell after (TensorFlow).
        assert_eq!((g.h_out, g.w_out, g.pad_top, g.pad_left), (5, 5, 0, 0));
        let g = Pool2dGeom::new([1, 2, 2, 1], [3, 3], [1, 1], Padding::Same).unwrap();
        assert_eq!((g.h_out, g.w_out, g.pad_top, g.pad_left), (2, 2, 1, 1));
        let g = Pool2dGeom::global([2, 5, 3, 4]).unwrap();
        assert_eq!((g.h_out, g.w_out, g.y_len()), (1, 1, 8));
    }

    fn pool2d_rejects_bad_geometry() {
        let msg = Pool2dGeom::new([1, 3, 3, 2], [2, 0], [1, 1], Padding::Valid).unwrap_err().message;
        assert!(msg.contains("k_w must be >= 1, got 0") && msg.contains("[1, 3, 3, 2]"), "{msg}");
        let msg = Pool2dGeom::new([1, 3, 3, 2], [2, 2], [0, 1], Padding::Same).unwrap_err().message;
        assert!(msg.contains("stride_h must be >= 1, got 0"), "{msg}");
        let msg = Pool2dGeom::new([1, 3, 5, 2], [4, 2], [1, 1], Padding::Valid).unwrap_err().message;
        assert!(msg.contains("pool2d: kernel height 4 is larger than the input height 3") && msg.contains("[1, 3, 5, 2]"), "{msg}");
        assert!(Pool2dGeom::new([1, 3, 5, 2], [4, 2], [1, 1], Padding::Same).is_ok());
        let msg = Pool2dGeom::new([1 << 16, 256, 256, 1], [2, 2], [2, 2], Padding::Valid).unwrap_err().message;
        assert!(msg.contains("input elements must be <= 4294967295"), "{msg}");
        assert!(Pool2dGeom::new([usize::MAX, 2, 2, 2], [1, 1], [1, 1], Padding::Valid).is_err());
        let msg = Pool2dGeom::new([1, 3, 3, 2], [2, 3], [1, 1], Padding::Explicit { top: 1, bottom: 2, left: 0, right: 0 }).unwrap_err().message;
        assert!(msg.contains("pool2d: padding bottom must be smaller than the pool size (2), got 2"), "{msg}");
        let msg = Pool2dGeom::new([1, 3, 1, 2], [2, 3], [1, 1], Padding::Explicit { top: 0, bottom: 0, left: 0, right: 1 }).unwrap_err().message;
        assert!(msg.contains("kernel width 3 is larger than the padded input width 2"), "{msg}");
    }

    fn maxpool2d_fwd_matches_reference_on_awkward_shapes() {
        each_geometry(|g, seed| {
            let mut rng = TestRng::new(seed);
            let x = rng.vec(g.x_len());
            let (want, want_arg) = reference::maxpool2d_with_argmax(&g, &reference::widen(&x));
            let want: Vec<f32> = want.iter().map(|&v| v as f32).collect();
            let mut y = nan_filled(g.y_len());
            super::maxpool2d_fwd(&g, &x, &mut y, None);
            assert_bits_eq(&y, &want, &format!("maxpool2d_fwd {g:?}"));
            let mut y2 = nan_filled(g.y_len());
            let mut arg = vec![u32::MAX; g.y_len()];
            super::maxpool2d_fwd(&g, &x, &mut y2, Some(&mut arg));
            assert_bits_eq(&y2, &want, &format!("maxpool2d_fwd with argmax {g:?}"));
            let want_arg: Vec<u32> = want_arg.iter().map(|&a| a as u32).collect();
            assert_eq!(arg, want_arg, "maxpool2d_fwd argmax {g:?}");
        });
    }

    fn avgpool2d_fwd_matches_reference_on_awkward_shapes() {
        each_geometry(|g, seed| {
            let mut rng = TestRng::new(seed);
            let x = rng.vec(g.x_len());
            let xd = reference::widen(&x);
            let want = reference::avgpool2d(&g, &xd);
            let scale = reference::avgpool2d(&g, &xd.iter().map(|v| v.abs()).collect::<Vec<_>>());
            let mut y = nan_filled(g.y_len());
            super::avgpool2d_fwd(&g, &x, &mut y);
            // k_h·k_w additions and one multiply by a rounded reciprocal.
            assert_dot_close(&y, &want, &scale, g.k_h * g.k_w + 2, &format!("avgpool2d_fwd {g:?}"));
        });
    }

    fn pool2d_bwd_matches_reference_on_awkward_shapes() {
        each_geometry(|g, seed| {
            let mut rng = TestRng::new(seed + 7);
            let x = rng.vec(g.x_len());
            let dy = rng.vec(g.y_len());
            let dyd = reference::widen(&dy);
            // Max: dy routed through the reference argmax, summed in output
            // order in f32 like the kernel, so the match is exact.
            let want_f32: Vec<f32> = {
                let (_, arg) = reference::maxpool2d_with_argmax(&g, &reference::widen(&x));
                let mut d = vec![0.0f32; g.x_len()];
                for (o, &a) in arg.iter().enumerate() {
                    d[a] += dy[o];
                }
                d
            };
            let mut dx = nan_filled(g.x_len());
            super::maxpool2d_bwd_from_input(&g, &x, &dy, &mut dx);
            assert_bits_eq(&dx, &want_f32, &format!("maxpool2d_bwd_from_input {g:?}"));
            let mut y = nan_filled(g.y_len());
            let mut argmax = vec![u32::MAX; g.y_len()];
            super::maxpool2d_fwd(&g, &x, &mut y, Some(&mut argmax));
            let mut dx = nan_filled(g.x_len());
            super::maxpool2d_bwd(&g, &argmax, &dy, &mut dx);
            assert_bits_eq(&dx, &want_f32, &format!("maxpool2d_bwd {g:?}"));

            // Average: up to ceil(k/s)² windows overlap a cell, each adding dy·(1/count).
            let wmax = g.k_h.div_ceil(g.stride_h) * g.k_w.div_ceil(g.stride_w);
            let want = reference::avgpool2d_bwd(&g, &dyd);
            let scale = reference::avgpool2d_bwd(&g, &dyd.iter().map(|v| v.abs()).collect::<Vec<_>>());
            let mut dx = nan_filled(g.x_len());
            super::avgpool2d_bwd(&g, &dy, &mut dx);
            assert_dot_close(&dx, &want, &scale, 2 * wmax + 1, &format!("avgpool2d_bwd {g:?}"));
        });
    }

    fn pool2d_bwd_gradcheck() {
        let keras = PoolOptions::default();
        for (shape, pool, strides, padding, options) in [
            ([2, 5, 4, 3], [2, 2], [2, 2], Padding::Same, keras),
            ([1, 6, 7, 5], [3, 3], [2, 1], Padding::Valid, keras),
            ([3, 4, 5, 2], [3, 2], [1, 3], Padding::Same, keras),
            ([1, 7, 5, 5], [3, 3], [3, 2], Padding::Same, keras),
            ([3, 4, 5, 2], [3, 2], [1, 3], Padding::Valid, keras),
            ([2, 5, 4, 3], [3, 3], [2, 2], Padding::Explicit { top: 1, bottom: 1, left: 1, right: 1 }, OPTIONS[3]),
            ([1, 6, 7, 5], [3, 2], [2, 3], Padding::Explicit { top: 0, bottom: 2, left: 1, right: 0 }, OPTIONS[1]),
            ([3, 5, 5, 2], [2, 2], [2, 2], Padding::Valid, OPTIONS[2]),
        ] {
            let g = Pool2dGeom::with_options(shape, pool, strides, padding, options).unwrap();
            // Distinct inputs: no max-pooling ties, so its gradient is defined.
            let mut rng = TestRng::new(11);
            let x = distinct_input(g.x_len(), &mut rng);
            let r = rng.vec(g.y_len());
            let num = numeric_grad(&x, 1e-4, |xd| project(&reference::maxpool2d(&g, xd), &r));
            let mut dx = nan_filled(g.x_len());
            super::maxpool2d_bwd_from_input(&g, &x, &r, &mut dx);
            assert_grad_close(&dx, &num, 1e-6, 1e-7, &format!("maxpool2d_bwd gradcheck {g:?}"));
            let num = numeric_grad(&x, 1e-3, |xd| project(&reference::avgpool2d(&g, xd), &r));
            let mut dx = nan_filled(g.x_len());
            super::avgpool2d_bwd(&g, &r, &mut dx);
            assert_grad_close(&dx, &num, 1e-5, 1e-6, &format!("avgpool2d_bwd gradcheck {g:?}"));
        }
    }

    fn pool2d_ceil_mode_and_explicit_padding_match_pytorch() {
        let out = |input: usize, k: usize, s: usize, pad: usize, ceil_mode: bool| {
            let padding = Padding::Explicit { top: pad, bottom: pad, left: 0, right: 0 };
            let options = PoolOptions { ceil_mode, count_include_pad: true };
            let g = Pool2dGeom::with_options([1, input, 3, 1], [k, 1], [s, 1], padding, options).unwrap();
            g.h_out
        };
        // torch.nn.MaxPool2d / AvgPool2d output sizes.
        assert_eq!(out(5, 2, 2, 0, false), 2);
        assert_eq!(out(5, 2, 2, 0, true), 3);
        assert_eq!(out(112, 3, 2, 1, false), 56); // ResNet's stem max pool
        assert_eq!(out(112, 3, 2, 0, true), 56); // GoogLeNet's pools
        assert_eq!(out(6, 3, 2, 1, true), 4);
        // ceil((5 + 2 - 2) / 2) + 1 = 4, but window 3 would start at 6 >= 5 + 1: dropped.
        assert_eq!(out(5, 2, 2, 1, true), 3);
        assert_eq!(out(5, 2, 2, 1, false), 3);
        // Asymmetric pads: the output size sees both; pad_top is the offset.
        let g = Pool2dGeom::new([1, 6, 7, 1], [3, 2], [2, 2], Padding::Explicit { top: 2, bottom: 0, left: 0, right: 1 }).unwrap();
        assert_eq!((g.h_out, g.w_out, g.pad_top, g.pad_left, g.pad_bottom, g.pad_right), (3, 4, 2, 0, 0, 1), "{g:?}");
        // Keras defaults are unchanged by `new`.
        assert_eq!(Pool2dGeom::new([1, 5, 5, 1], [2, 2], [2, 2], Padding::Valid).unwrap().options, PoolOptions::default());
    }

    fn avgpool2d_count_include_pad_matches_pytorch() {
        // One row [1, 2, 3, 4], pool 3, stride 2, pad 1 on each side, ceil mode:
        // windows [pad 1 2], [2 3 4], [4 pad | past the padding].
        let padding = Padding::Explicit { top: 0, bottom: 0, left: 1, right: 1 };
        let x = [1.0, 2.0, 3.0, 4.0];
        // Window 0 holds x0 and x1, window 1 x1..x3, window 2 (ceil mode only) x3.
        for (options, want, divisors) in [
            (PoolOptions { ceil_mode: true, count_include_pad: true }, vec![1.0, 3.0, 2.0], vec![3.0, 3.0, 2.0]),
            (PoolOptions { ceil_mode: true, count_include_pad: false }, vec![1.5, 3.0, 4.0], vec![2.0, 3.0, 1.0]),
            (PoolOptions { ceil_mode: false, count_include_pad: true }, vec![1.0, 3.0], vec![3.0, 3.0]),
        ] {
            let g = Pool2dGeom::with_options([1, 1, 4, 1], [1, 3], [1, 2], padding, options).unwrap();
            let mut y = nan_filled(g.y_len());
            super::avgpool2d_fwd(&g, &x, &mut y);
            assert_eq!(y, want, "{options:?}");
            // Backward: each input receives dy / divisor of every window holding it.
            let mut dx = nan_filled(4);
            super::avgpool2d_bwd(&g, &vec![6.0; g.y_len()], &mut dx);
            let share: Vec<f32> = divisors.iter().map(|d: &f32| 6.0 / d).collect();
            let last = share.get(2).copied().unwrap_or(0.0);
            assert_eq!(dx, vec![share[0], share[0] + share[1], share[1], share[1] + last], "{options:?}");
        }
        // Max pooling pads with -inf: an all-negative row still yields its own values.
        let g = Pool2dGeom::with_options([1, 1, 4, 1], [1, 3], [1, 2], padding, OPTIONS[3]).unwrap();
        let mut y = nan_filled(g.y_len());
        super::maxpool2d_fwd(&g, &[-4.0, -3.0, -2.0, -1.0], &mut y, None);
        assert_eq!(y, vec![-3.0, -1.0, -1.0]);
    }

    fn maxpool2d_fwd_keeps_first_maxima_on_ties_signed_zeros_and_nan() {
        // The vector paths (with and without indices) against each other and
        // the reference scan on equal values, signed zeros and NaN, 6 channels
        // (a vector and a tail), overlapping windows: the same strict
        // comparison must keep the same value, bit for bit, and index.
        let g = Pool2dGeom::new([2, 4, 5, 6], [3, 2], [1, 2], Padding::Same).unwrap();
        let pool = [1.5, -0.0, 0.0, f32::NAN, -1.0, 1.5, f32::INFINITY, -f32::NAN];
        let mut rng = TestRng::new(77);
        let x: Vec<f32> = (0..g.x_len()).map(|_| pool[(rng.next_u64() % pool.len() as u64) as usize]).collect();
        let mut y = nan_filled(g.y_len());
        super::maxpool2d_fwd(&g, &x, &mut y, None);
        let mut tracked = nan_filled(g.y_len());
        let mut arg = vec![u32::MAX; g.y_len()];
        super::maxpool2d_fwd(&g, &x, &mut tracked, Some(&mut arg));
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<u32>>();
        assert_eq!(bits(&y), bits(&tracked), "maxpool2d_fwd without indices {g:?}");
        for (j, (&a, &v)) in arg.iter().zip(&tracked).enumerate() {
            assert_eq!(x[a as usize].to_bits(), v.to_bits(), "output {j} and the input its index names");
        }
        // The indices are the reference scan's first maxima (strict `>`).
        let (_, want_arg) = reference::maxpool2d_with_argmax(&g, &reference::widen(&x));
        assert_eq!(arg, want_arg.iter().map(|&a| a as u32).collect::<Vec<u32>>(), "maxpool2d_fwd argmax on ties and NaN {g:?}");
    }

    fn maxpool2d_ties_route_to_first_maximum() {
        // One image 3×3, 2 channels, pool 2, stride 1 (windows overlap).
        // Channel 0 is all equal: every window's first cell wins. Channel 1 has
        // its maximum 5 twice in the top-right window, at (0,2) and (1,1):
        // the earlier in scan order, (0,2), wins there; (1,1) is also the
        // first maximum of the other windows that contain it and not (0,2).
        let g = Pool2dGeom::new([1, 3, 3, 2], [2, 2], [1, 1], Padding::Valid).unwrap();
        let ch1 = [1.0, 2.0, 5.0, 0.0, 5.0, 3.0, 4.0, 5.0, 1.0];
        let x: Vec<f32> = (0..9).flat_map(|p| [7.0, ch1[p]]).collect();
        let mut y = nan_filled(g.y_len());
        let mut arg = vec![u32::MAX; g.y_len()];
        super::maxpool2d_fwd(&g, &x, &mut y, Some(&mut arg));
        let idx = |h: usize, w: usize, ch: usize| ((h * 3 + w) * 2 + ch) as u32;
        assert_eq!(y, vec![7.0, 5.0, 7.0, 5.0, 7.0, 5.0, 7.0, 5.0]);
        assert_eq!(arg, vec![idx(0, 0, 0), idx(1, 1, 1), idx(0, 1, 0), idx(0, 2, 1), idx(1, 0, 0), idx(1, 1, 1), idx(1, 1, 0), idx(1, 1, 1)]);
        let dy = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0];
        let mut dx = nan_filled(g.x_len());
        super::maxpool2d_bwd(&g, &arg, &dy, &mut dx);
        let mut want = vec![0.0f32; 18];
        want[idx(0, 0, 0) as usize] = 1.0;
        want[idx(0, 1, 0) as usize] = 2.0;
        want[idx(1, 0, 0) as usize] = 3.0;
        want[idx(1, 1, 0) as usize] = 4.0;
        want[idx(1, 1, 1) as usize] = 10.0 + 30.0 + 40.0;
        want[idx(0, 2, 1) as usize] = 20.0;
        assert_eq!(dx, want);
        let mut dx2 = nan_filled(g.x_len());
        super::maxpool2d_bwd_from_input(&g, &x, &dy, &mut dx2);
        assert_eq!(dx2, want);
    }

    fn avgpool2d_same_padding_excludes_padded_cells() {
        // 1×2×2×1 input, pool 3, stride 1, same: each output's window covers
        // all four inputs (plus padding), so every output is their mean.
        let g = Pool2dGeom::new([1, 2, 2, 1], [3, 3], [1, 1], Padding::Same).unwrap();
        let mut y = nan_filled(4);
        super::avgpool2d_fwd(&g, &[1.0, 2.0, 3.0, 6.0], &mut y);
        assert_eq!(y, vec![3.0; 4]);
        // 1×1×3×1, pool 2, stride 2, same: windows {0,1} and {2} (+ pad).
        let g = Pool2dGeom::new([1, 1, 3, 1], [1, 2], [1, 2], Padding::Same).unwrap();
        let mut y = nan_filled(2);
        super::avgpool2d_fwd(&g, &[1.0, 3.0, 5.0], &mut y);
        assert_eq!(y, vec![2.0, 5.0]);
    }

    fn global_avgpool2d_matches_reference() {
        let mut seed = 300;
        for &(h, w) in &HW {
            for &c in &CHANNELS {
                for n in [1, 3] {
                    seed += 1;
                    let g = Pool2dGeom::global([n, h, w, c]).unwrap();
                    let mut rng = TestRng::new(seed);
                    let x = rng.vec(g.x_len());
                    let xd = reference::widen(&x);
                    let want = reference::global_avgpool2d(n, h, w, c, &xd);
                    let scale = reference::global_avgpool2d(n, h, w, c, &xd.iter().map(|v| v.abs()).collect::<Vec<_>>());
                    let mut y = nan_filled(n * c);
                    super::global_avgpool2d_fwd(&g, &x, &mut y);
                    let ctx = format!("global_avgpool2d_fwd [n, h, w, c] = {:?}", [n, h, w, c]);
                    assert_dot_close(&y, &want, &scale, h * w + 2, &ctx);
                    let r = rng.vec(n * c);
                    let num = numeric_grad(&x, 0.5, |xd| project(&reference::global_avgpool2d(n, h, w, c, xd), &r));
                    let mut dx = nan_filled(g.x_len());
                    super::global_avgpool2d_bwd(&g, &r, &mut dx);
                    assert_grad_close(&dx, &num, 1e-6, 1e-7, &format!("global_avgpool2d_bwd {ctx}"));
                }
            }
        }
    }

    fn pool2d_large_shapes_cross_parallel_threshold() {
        // Several chunks and the parallel path, against the reference.
        let g = Pool2dGeom::new([3, 37, 29, 17], [3, 3], [2, 2], Padding::Same).unwrap();
        let mut rng = TestRng::new(77);
        let x = rng.vec(g.x_len());
        let xd = reference::widen(&x);
        let mut y = nan_filled(g.y_len());
        super::maxpool2d_fwd(&g, &x, &mut y, None);
        let want: Vec<f32> = reference::maxpool2d(&g, &xd).iter().map(|&v| v as f32).collect();
        assert_bits_eq(&y, &want, &format!("maxpool2d_fwd {g:?}"));
        super::avgpool2d_fwd(&g, &x, &mut y);
        let scale = reference::avgpool2d(&g, &xd.iter().map(|v| v.abs()).collect::<Vec<_>>());
        assert_dot_close(&y, &reference::avgpool2d(&g, &xd), &scale, 11, &format!("avgpool2d_fwd {g:?}"));
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn pool2d_bit_identical_with_1_and_2_threads() {
    let g = Pool2dGeom::new([4, 33, 31, 17], [3, 3], [2, 2], Padding::Same).unwrap();
    let mut rng = TestRng::new(5);
    let x = rng.vec(g.x_len());
    let dy = rng.vec(g.y_len());
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut y_max = nan_filled(g.y_len());
            let mut arg = vec![u32::MAX; g.y_len()];
            super::maxpool2d_fwd(&g, &x, &mut y_max, Some(&mut arg));
            let mut dx_max = nan_filled(g.x_len());
            super::maxpool2d_bwd(&g, &arg, &dy, &mut dx_max);
            let mut y_avg = nan_filled(g.y_len());
            super::avgpool2d_fwd(&g, &x, &mut y_avg);
            let mut dx_avg = nan_filled(g.x_len());
            super::avgpool2d_bwd(&g, &dy, &mut dx_avg);
            (y_max, arg, dx_max, y_avg, dx_avg)
        })
    };
    let (a, b) = (run(1), run(2));
    let ctx = format!("{g:?}, 1 vs 2 threads");
    assert_bits_eq(&a.0, &b.0, &format!("maxpool2d_fwd {ctx}"));
    assert_eq!(a.1, b.1, "maxpool2d_fwd argmax {ctx}");
    assert_bits_eq(&a.2, &b.2, &format!("maxpool2d_bwd {ctx}"));
    assert_bits_eq(&a.3, &b.3, &format!("avgpool2d_fwd {ctx}"));
    assert_bits_eq(&a.4, &b.4, &format!("avgpool2d_bwd {ctx}"));
}
