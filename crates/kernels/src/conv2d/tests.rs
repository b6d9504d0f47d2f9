//! Convolution kernels against the f64 reference on awkward shapes, gradient
//! checks against central differences, geometry validation, and determinism.

use super::{conv2d_bwd_input, conv2d_bwd_weight, conv2d_fwd, conv2d_fwd_with, dx_plan, fwd_plan, im2col_range, transposed, wgrad_plan, Split, WgradSplit};
use crate::gemm::{Clamp, Epilogue};
use crate::geom::{Conv2dGeom, Padding};
use crate::reference::{self, abs64};
use crate::selftest::gradcheck::{assert_grad_close, numeric_grad, project};
use crate::selftest::util::{assert_bits_eq, assert_dot_close, geometry_error, nan_filled, TestRng};

/// `(n, h_in, w_in, c_in, c_out, k_h, k_w, stride_h, stride_w, padding)`.
type Shape = (usize, usize, usize, usize, usize, usize, usize, usize, usize, Padding);

fn geom(s: Shape) -> Conv2dGeom {
    let (n, h, w, ci, co, kh, kw, sh, sw, pad) = s;
    Conv2dGeom::new(n, h, w, ci, co, kh, kw, sh, sw, pad).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// Test data for one geometry. Scratch is NaN-filled too: a kernel that read
/// scratch it had not written would show it.
struct Data {
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    dy: Vec<f32>,
    scratch: Vec<f32>,
}

fn data(g: &Conv2dGeom, seed: u64) -> Data {
    let mut rng = TestRng::new(seed);
    Data {
        x: rng.vec(g.x_len()),
        w: rng.vec(g.w_len()),
        b: rng.vec(g.c_out),
        dy: rng.vec(g.y_len()),
        scratch: nan_filled(g.im2col_scratch_len()),
    }
}

/// `y`, a forward of `g` on `d` with the epilogue `ep` (its bias `d.b` or
/// none, no clamp or ReLU), within the rounding bound of its dot products
/// (`patch_len` terms and the bias) of the reference.
fn assert_fwd_close(g: &Conv2dGeom, d: &Data, ep: Epilogue<'_>, y: &[f32], context: &str) {
    let reference = reference::conv2d_fwd(g, &d.x, &d.w, ep.bias);
    let abs_b = abs64(&d.b);
    let scale = reference::conv2d_fwd(g, &abs64(&d.x), &abs64(&d.w), ep.bias.map(|_| &abs_b[..]));
    let clamped: Vec<f64> = reference.iter().map(|&v| if ep.clamp == Clamp::Relu { v.max(0.0) } else { v }).collect();
    assert_dot_close(y, &clamped, &scale, g.patch_len() + 1, context);
}

/// Forward, input gradient and weight gradients of `g` against the reference,
/// each within the worst-case rounding bound of its dot products.
fn check_all(g: &Conv2dGeom, with_bias: bool, seed: u64) {
    let mut d = data(g, seed);
    let ctx = format!("{g:?} bias={with_bias} seed={seed}");
    let bias = with_bias.then_some(&d.b[..]);

    let mut y = nan_filled(g.y_len());
    conv2d_fwd(g, &d.x, &d.w, bias, &mut y, &mut d.scratch);
    let want = reference::conv2d_fwd(g, &d.x, &d.w, bias);
    let abs_b = abs64(&d.b);
    let scale = reference::conv2d_fwd(g, &abs64(&d.x), &abs64(&d.w), with_bias.then_some(&abs_b[..]));
    assert_dot_close(&y, &want, &scale, g.patch_len() + 1, &format!("conv2d_fwd {ctx}"));

    let mut dx = nan_filled(g.x_len());
    conv2d_bwd_input(g, &d.w, &d.dy, &mut dx, &mut d.scratch);
    let want = reference::conv2d_bwd_input(g, &d.w, &d.dy);
    let scale = reference::conv2d_bwd_input(g, &abs64(&d.w), &abs64(&d.dy));
    assert_dot_close(&dx, &want, &scale, g.k_h * g.k_w * g.c_out, &format!("conv2d_bwd_input {ctx}"));

    let mut dw = nan_filled(g.w_len());
    let mut db = nan_filled(g.c_out);
    conv2d_bwd_weight(g, &d.x, &d.dy, &mut dw, with_bias.then_some(&mut db[..]), &mut d.scratch);
    let (want_w, want_b) = reference::conv2d_bwd_weight(g, &d.x, &d.dy);
    let (scale_w, scale_b) = reference::conv2d_bwd_weight(g, &abs64(&d.x), &abs64(&d.dy));
    let terms = g.out_pixels();
    assert_dot_close(&dw, &want_w, &scale_w, terms, &format!("conv2d_bwd_weight dw {ctx}"));
    if with_bias {
        assert_dot_close(&db, &want_b, &scale_b, terms, &format!("conv2d_bwd_weight db {ctx}"));
    }
}

const SPATIAL: [(usize, usize); 6] = [(1, 1), (3, 5), (5, 3), (7, 7), (6, 9), (13, 4)];
const KERNELS: [(usize, usize); 5] = [(1, 1), (2, 2), (3, 3), (5, 5), (3, 2)];
const STRIDES: [(usize, usize); 5] = [(1, 1), (2, 2), (4, 4), (1, 2), (3, 1)];
const CHANNELS: [usize; 7] = [1, 3, 4, 5, 8, 16, 17];
/// Keras' two modes and PyTorch-style explicit pads, symmetric and not (the
/// last pads more than a kernel row/column, so some windows lie wholly in the
/// padding).
const PADDINGS: [Padding; 5] = [
    Padding::Valid,
    Padding::Same,
    Padding::Explicit { top: 1, bottom: 1, left: 1, right: 1 },
    Padding::Explicit { top: 0, bottom: 2, left: 1, right: 0 },
    Padding::Explicit { top: 3, bottom: 1, left: 0, right: 5 },
];

/// The reference nets' layers (BreakHis at a small batch).
const NET_SHAPES: [Shape; 5] = [
    (1, 224, 224, 3, 16, 3, 3, 4, 4, Padding::Valid),
    (2, 28, 28, 1, 8, 3, 3, 2, 2, Padding::Valid),
    (2, 13, 13, 8, 8, 3, 3, 2, 2, Padding::Valid),
    (1, 14, 14, 16, 32, 3, 3, 1, 1, Padding::Same),
    (1, 9, 9, 32, 64, 3, 3, 1, 1, Padding::Valid),
];

/// The forward gives the same bits as one unblocked `gemm` over the whole
/// im2col matrix: the blocking, the k-blocks and the split must not change a
/// single bit.
fn assert_fwd_matches_unblocked_gemm(g: &Conv2dGeom, seed: u64) {
    let mut d = data(g, seed);
    let mut y1 = nan_filled(g.y_len());
    conv2d_fwd(g, &d.x, &d.w, Some(&d.b), &mut y1, &mut d.scratch);
    let mut cols = nan_filled(g.out_pixels() * g.patch_len());
    im2col_range(g, &d.x, 0, 0, g.patch_len(), &mut cols);
    let mut y2 = nan_filled(g.y_len());
    let gg = crate::geom::GemmGeom::new(g.out_pixels(), g.patch_len(), g.c_out).unwrap();
    crate::gemm::gemm(&gg, &cols, &d.w, Some(&d.b), &mut y2);
    assert_bits_eq(&y1, &y2, &format!("conv2d_fwd vs one gemm {g:?} {:?}", fwd_plan(g)));
}

/// Shapes that take each blocked path (asserted in `conv2d_blocked_paths_*`):
/// several k-blocks, column and row splits, split weight gradients, the
/// transposed input gradient with asymmetric pads, and its strided fallback.
const BLOCKED_SHAPES: [Shape; 6] = [
    // 7x7x96 -> 80, batch 1: column split, 864-element patches (4 k-blocks), dw split by rows.
    (1, 7, 7, 96, 80, 3, 3, 1, 1, Padding::Same),
    // Few rows, many columns, explicit asymmetric pads.
    (1, 5, 6, 37, 131, 3, 3, 1, 1, Padding::Explicit { top: 0, bottom: 2, left: 2, right: 1 }),
    // Row split over several 64-row blocks with a 1x1 kernel and a big dw.
    (3, 17, 15, 300, 260, 1, 1, 1, 1, Padding::Valid),
    // ResNet's strided downsample 1x1 (patches read in place) and a strided 3x3 (direct dx gather).
    (2, 31, 31, 64, 72, 1, 1, 2, 2, Padding::Valid),
    (2, 9, 8, 40, 33, 3, 3, 2, 2, Padding::Explicit { top: 1, bottom: 1, left: 1, right: 1 }),
    // Even kernel with 'same' (padding after), stride 1, 2 k-blocks.
    (2, 6, 7, 70, 19, 2, 2, 1, 1, Padding::Same),
];

crate::kernel_tests! {
    fn conv2d_matches_reference_on_awkward_shapes() {
        // Every kernel × stride × padding × spatial size, with channel counts
        // and batch cycling through their lists so each value meets many shapes.
        let mut case = 0usize;
        for &(k_h, k_w) in &KERNELS {
            for &(s_h, s_w) in &STRIDES {
                for padding in PADDINGS {
                    for &(h, w) in &SPATIAL {
                        let c_in = CHANNELS[case % CHANNELS.len()];
                        let c_out = CHANNELS[(case * 3 + 1) % CHANNELS.len()];
                        let n = if case % 3 == 0 { 3 } else { 1 };
                        let Ok(g) = Conv2dGeom::new(n, h, w, c_in, c_out, k_h, k_w, s_h, s_w, padding) else {
                            // Rejected: the kernel does not fit the (padded) input.
                            let (top, bottom, left, right) = match padding {
                                Padding::Explicit { top, bottom, left, right } => (top, bottom, left, right),
                                _ => (0, 0, 0, 0),
                            };
                            assert!(k_h > h + top + bottom || k_w > w + left + right, "{:?} rejected", (h, w, k_h, k_w, padding));
                            continue;
                        };
                        check_all(&g, case % 2 == 0, 1000 + case as u64);
                        case += 1;
                    }
                }
            }
        }
        assert!(case > 500, "only {case} cases ran");
    }

    fn conv2d_matches_reference_at_every_channel_count() {
        // c_in and c_out at the SIMD width ±1 and beyond, both paths.
        let mut seed = 3000;
        for &c_in in &CHANNELS {
            for &c_out in &CHANNELS {
                check_all(&geom((1, 5, 4, c_in, c_out, 3, 3, 2, 1, Padding::Same)), true, seed);
                check_all(&geom((2, 3, 3, c_in, c_out, 1, 1, 1, 1, Padding::Valid)), seed % 2 == 0, seed + 1);
                seed += 2;
            }
        }
    }

    fn conv2d_matches_reference_on_reference_net_shapes() {
        for (i, &s) in NET_SHAPES.iter().enumerate() {
            check_all(&geom(s), true, 4000 + i as u64);
        }
    }

    fn conv2d_strided_input_gradient_matches_reference() {
        // Both strided paths, by phases (rows of at least PHASE_MIN_ROW_PIXELS
        // per phase) and the direct gather: strides 2-4 (also unequal),
        // kernels narrower than the stride (pixels no tap reaches: zeros),
        // pads before and after and at least a kernel wide at stride 1,
        // channels off the SIMD width, batches above 1, and BreakHis' second
        // layer (several parallel chunks); NaN-filled dx and scratch (check_all).
        let shapes: [Shape; 12] = [
            (2, 56, 56, 16, 32, 3, 3, 2, 2, Padding::Valid),
            (3, 17, 27, 5, 7, 5, 3, 3, 2, Padding::Explicit { top: 2, bottom: 1, left: 0, right: 3 }),
            (2, 11, 40, 6, 3, 2, 2, 3, 3, Padding::Valid),
            (1, 9, 50, 9, 4, 3, 3, 4, 1, Padding::Same),
            (2, 12, 37, 3, 9, 4, 4, 2, 3, Padding::Same),
            (1, 6, 26, 1, 1, 1, 1, 2, 2, Padding::Valid),
            (2, 5, 14, 7, 5, 2, 2, 1, 1, Padding::Explicit { top: 2, bottom: 2, left: 3, right: 0 }),
            (3, 17, 19, 5, 7, 5, 3, 3, 2, Padding::Explicit { top: 2, bottom: 1, left: 0, right: 3 }),
            (2, 11, 9, 6, 3, 2, 2, 3, 3, Padding::Valid),
            (1, 9, 10, 9, 4, 3, 3, 4, 1, Padding::Same),
            (2, 13, 13, 8, 8, 3, 3, 2, 2, Padding::Valid),
            (2, 5, 5, 7, 5, 2, 2, 1, 1, Padding::Explicit { top: 2, bottom: 2, left: 3, right: 0 }),
        ];
        let mut phases = 0;
        for (i, &s) in shapes.iter().enumerate() {
            let g = geom(s);
            assert!(transposed(&g).is_none(), "{g:?} takes the stride-1 path");
            phases += usize::from(dx_plan(&g).phases);
            check_all(&g, i % 2 == 0, 5500 + i as u64);
        }
        assert_eq!(phases, 7, "the first 7 shapes run by phases, the others by the direct gather");
        let g = geom(shapes[0]);
        let p = dx_plan(&g);
        assert!(g.n * g.h_in > p.chunk_rows && p.parallel, "{p:?}");
    }

    fn conv2d_multi_group_plans_match_reference() {
        // Big enough for several row blocks and groups, and for the pool.
        for (i, s) in [
            (3, 31, 29, 5, 17, 3, 3, 1, 1, Padding::Same),
            (8, 80, 80, 3, 16, 3, 3, 4, 4, Padding::Valid),
            (8, 31, 23, 24, 9, 1, 1, 1, 1, Padding::Valid),
        ].into_iter().enumerate() {
            let g = geom(s);
            let p = fwd_plan(&g);
            assert!(p.units > 1 && p.parallel, "{g:?}: expected a multi-unit plan, got {p:?}");
            check_all(&g, true, 5000 + i as u64);
        }
    }

    fn conv2d_same_padding_puts_the_odd_pixel_after() {
        // TF/Keras: total = max((out-1)·s + k - in, 0), pad_top = total / 2.
        for &((h, k, s), (out, pad)) in &[
            ((5, 2, 1), (5, 0)),   // total 1: all after
            ((5, 3, 1), (5, 1)),
            ((7, 3, 2), (4, 1)),   // total 2
            ((6, 3, 2), (3, 0)),   // total 1
            ((8, 4, 2), (4, 1)),   // total 2
            ((224, 3, 4), (56, 0)),// total -1 -> 0
            ((1, 5, 1), (1, 2)),   // total 4
            ((4, 5, 4), (1, 0)),   // total 1
        ] {
            let g = geom((1, h, h + 1, 1, 1, k, k, s, s, Padding::Same));
            assert_eq!((g.h_out, g.pad_top), (out, pad), "same: in={h} k={k} s={s}: {g:?}");
            let g = geom((1, 3, h, 1, 1, 1, k, 1, s, Padding::Same));
            assert_eq!((g.w_out, g.pad_left), (out, pad), "same (width): in={h} k={k} s={s}: {g:?}");
        }
        // Valid: floor((in - k) / s) + 1.
        let g = geom((1, 224, 223, 3, 16, 3, 3, 4, 4, Padding::Valid));
        assert_eq!((g.h_out, g.w_out, g.pad_top, g.pad_left), (56, 56, 0, 0), "{g:?}");
        let g = geom((1, 28, 13, 1, 8, 3, 3, 2, 2, Padding::Valid));
        assert_eq!((g.h_out, g.w_out), (13, 6), "{g:?}");
        // An even kernel with 'same' padding, end to end: the extra pad is at the bottom/right.
        let g = geom((1, 2, 2, 1, 1, 2, 2, 1, 1, Padding::Same));
        let mut y = nan_filled(g.y_len());
        let mut scratch = nan_filled(g.im2col_scratch_len());
        conv2d_fwd(&g, &[1.0, 2.0, 3.0, 4.0], &[1.0, 10.0, 100.0, 1000.0], None, &mut y, &mut scratch);
        assert_eq!(y, vec![4321.0, 402.0, 43.0, 4.0], "{g:?}");
    }

    fn conv2d_rejects_bad_geometry_with_messages() {
        let err = |s: Shape| {
            let (n, h, w, ci, co, kh, kw, sh, sw, pad) = s;
            geometry_error(Conv2dGeom::new(n, h, w, ci, co, kh, kw, sh, sw, pad), &s)
        };
        let fields = ["n", "h_in", "w_in", "c_in", "c_out", "k_h", "k_w", "stride_h", "stride_w"];
        for (i, name) in fields.iter().enumerate() {
            let mut v = [2usize, 5, 5, 3, 4, 3, 3, 1, 1];
            v[i] = 0;
            let msg = err((v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], Padding::Same));
            assert!(msg.contains(&format!("{name} must be >= 1, got 0")), "{name}: {msg}");
        }
        let msg = err((1, 4, 9, 1, 1, 5, 3, 1, 1, Padding::Valid));
        assert!(msg.contains("kernel height 5") && msg.contains("input height 4") && msg.contains("'valid'"), "{msg}");
        let msg = err((1, 9, 2, 1, 1, 3, 3, 1, 1, Padding::Valid));
        assert!(msg.contains("kernel width 3") && msg.contains("input width 2"), "{msg}");
        let msg = err((usize::MAX / 8, 4, 4, 4, 4, 3, 3, 1, 1, Padding::Same));
        assert!(msg.contains("x [") && msg.contains("too large"), "{msg}");
        let msg = err((1, 4, 4, 1 << 20, 1 << 20, 1 << 12, 1 << 12, 1, 1, Padding::Same));
        assert!(msg.contains("w [") && msg.contains("too large"), "{msg}");
        // 'same' never rejects a kernel larger than the input: the padding covers it.
        assert!(Conv2dGeom::new(1, 2, 2, 1, 1, 5, 5, 1, 1, Padding::Same).is_ok());
    }

    fn conv2d_gradients_match_central_differences() {
        // L = sum(y · r): dx, dw and db from the kernels fed dy = r, against
        // central differences of the f64 reference forward.
        for (i, s) in [
            (2, 5, 4, 3, 2, 3, 3, 2, 2, Padding::Same),
            (1, 4, 5, 2, 3, 2, 2, 1, 1, Padding::Same),
            (2, 3, 3, 5, 4, 1, 1, 1, 1, Padding::Valid),
            (1, 7, 6, 1, 5, 3, 2, 4, 3, Padding::Valid),
            (2, 5, 6, 3, 4, 3, 3, 2, 1, Padding::Explicit { top: 0, bottom: 2, left: 2, right: 1 }),
            // Strided input gradient: by phases (interior GEMM and edge
            // pixels), then the direct gather with a kernel narrower than its stride.
            (1, 5, 24, 3, 2, 3, 3, 2, 2, Padding::Valid),
            (1, 8, 9, 6, 3, 2, 3, 3, 2, Padding::Explicit { top: 1, bottom: 0, left: 0, right: 2 }),
        ].into_iter().enumerate() {
            let g = geom(s);
            let mut d = data(&g, 6000 + i as u64);
            let ctx = format!("{g:?}");
            let r = d.dy.clone();
            let to64 = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
            let (x64, w64, b64) = (to64(&d.x), to64(&d.w), to64(&d.b));
            let h = 1e-6;
            let (rtol, atol) = (1e-4, 1e-5);

            let mut dx = nan_filled(g.x_len());
            conv2d_bwd_input(&g, &d.w, &r, &mut dx, &mut d.scratch);
            let num = numeric_grad(&d.x, h, |xp| project(&reference::conv2d_fwd(&g, xp, &w64, Some(&b64)), &r));
            assert_grad_close(&dx, &num, rtol, atol, &format!("dx {ctx}"));

            let mut dw = nan_filled(g.w_len());
            let mut db = nan_filled(g.c_out);
            conv2d_bwd_weight(&g, &d.x, &r, &mut dw, Some(&mut db), &mut d.scratch);
            let num = numeric_grad(&d.w, h, |wp| project(&reference::conv2d_fwd(&g, &x64, wp, Some(&b64)), &r));
            assert_grad_close(&dw, &num, rtol, atol, &format!("dw {ctx}"));
            let num = numeric_grad(&d.b, h, |bp| project(&reference::conv2d_fwd(&g, &x64, &w64, Some(bp)), &r));
            assert_grad_close(&db, &num, rtol, atol, &format!("db {ctx}"));
        }
    }

    fn conv2d_forward_equals_one_unblocked_gemm() {
        for (i, s) in [
            (3, 7, 5, 17, 9, 1, 1, 1, 1, Padding::Valid),
            (2, 3, 5, 4, 6, 1, 1, 1, 1, Padding::Explicit { top: 0, bottom: 0, left: 0, right: 0 }),
            (3, 11, 9, 5, 17, 3, 3, 2, 2, Padding::Valid),
            (1, 29, 31, 3, 16, 3, 3, 4, 4, Padding::Valid),
            (2, 7, 6, 4, 9, 2, 3, 1, 3, Padding::Valid),
            (1, 6, 6, 1, 1, 1, 1, 2, 2, Padding::Valid),
            (2, 5, 7, 3, 4, 3, 3, 2, 2, Padding::Explicit { top: 0, bottom: 1, left: 0, right: 1 }),
            (3, 31, 29, 5, 17, 3, 3, 1, 1, Padding::Same),
        ]
        .into_iter()
        .chain(BLOCKED_SHAPES)
        .enumerate()
        {
            assert_fwd_matches_unblocked_gemm(&geom(s), 7100 + i as u64);
        }
    }

    fn conv2d_blocked_paths_match_reference() {
        let plans: Vec<_> = BLOCKED_SHAPES.iter().map(|&s| {
            let g = geom(s);
            (fwd_plan(&g), wgrad_plan(&g), transposed(&g).is_some(), g.patch_len())
        }).collect();
        // Every path is taken by some shape.
        assert!(plans.iter().any(|(f, ..)| matches!(f.split, Split::Cols { .. }) && f.units > 1), "{plans:?}");
        assert!(plans.iter().any(|(f, ..)| matches!(f.split, Split::Rows { .. }) && f.units > 1 && f.rows > 2 * f.mc), "{plans:?}");
        assert!(plans.iter().any(|(f, _, _, patch)| *patch > f.kc), "{plans:?}");
        assert!(plans.iter().any(|(f, ..)| f.in_place) && plans.iter().any(|(f, ..)| !f.in_place && matches!(f.split, Split::Rows { .. })), "{plans:?}");
        assert!(plans.iter().any(|(_, w, ..)| matches!(w.split, WgradSplit::DwRows { units, .. } if units > 1)), "{plans:?}");
        assert!(plans.iter().any(|(_, w, ..)| matches!(w.split, WgradSplit::Partials { .. })), "{plans:?}");
        assert!(plans.iter().any(|(_, _, t, _)| *t) && plans.iter().any(|(_, _, t, _)| !*t), "{plans:?}");
        for (i, &s) in BLOCKED_SHAPES.iter().enumerate() {
            check_all(&geom(s), i % 2 == 0, 7200 + i as u64);
        }
    }

    fn conv2d_results_do_not_depend_on_parallelism() {
        // The same plans run serially and on the pool: bit-identical.
        for s in [(3, 31, 29, 5, 17, 3, 3, 1, 1, Padding::Same), (3, 40, 56, 16, 32, 3, 3, 2, 2, Padding::Valid), BLOCKED_SHAPES[0], BLOCKED_SHAPES[2], BLOCKED_SHAPES[4]] {
            let g = geom(s);
            let mut d = data(&g, 8000);
            let run = |parallel: bool, scratch: &mut [f32]| {
                let mut y = nan_filled(g.y_len());
                let fp = super::FwdPlan { parallel, ..fwd_plan(&g) };
                super::fwd::blocked(&g, &fp, &d.x, &d.w, Some(d.b.as_slice()).into(), &mut y, scratch);
                let mut dx = nan_filled(g.x_len());
                match transposed(&g) {
                    Some(t) => {
                        use super::bwd_input::TransposedPlan;
                        let tp = match TransposedPlan::of(&t) {
                            TransposedPlan::Winograd(p) => TransposedPlan::Winograd(super::winograd::WinoPlan { parallel, ..p }),
                            TransposedPlan::Blocked(p) => TransposedPlan::Blocked(super::FwdPlan { parallel, ..p }),
                        };
                        super::bwd_input::transposed_fwd(&g, &t, &tp, &d.w, &d.dy, &mut dx, scratch);
                    }
                    None => super::strided_dx(&g, &super::DxPlan { parallel, ..dx_plan(&g) }, &d.w, &d.dy, &mut dx, scratch),
                }
                let mut dw = nan_filled(g.w_len());
                let mut db = nan_filled(g.c_out);
                let wp = super::WgradPlan { parallel, ..wgrad_plan(&g) };
                super::bwd_weight::run(&g, &wp, &d.x, &d.dy, &mut dw, Some(&mut db), scratch);
                [y, dx, dw, db]
            };
            let a = run(true, &mut d.scratch);
            let b = run(false, &mut d.scratch);
            for (name, (a, b)) in ["y", "dx", "dw", "db"].iter().zip(a.iter().zip(&b)) {
                assert_bits_eq(a, b, &format!("{name} pool vs serial {g:?}"));
            }
        }
    }

    fn conv2d_wgrad_sub_blocks_change_no_bit() {
        // Sub-blocks only schedule the im2col and the GEMM within a block:
        // any size, down to one register tile's rows or with a ragged last
        // sub-block, gives the bits of whole blocks.
        for (i, s) in [(8, 80, 80, 3, 16, 3, 3, 4, 4, Padding::Valid), (3, 17, 19, 5, 7, 3, 3, 1, 1, Padding::Same)].into_iter().enumerate() {
            let g = geom(s);
            let d = data(&g, 8100 + i as u64);
            let planned = wgrad_plan(&g);
            assert!(matches!(planned.split, WgradSplit::Partials { .. }), "{g:?}");
            if i == 0 {
                assert!(planned.sub_rows < planned.block_rows, "{g:?}: a 27-element patch takes sub-blocks");
            }
            let run = |sub_rows: usize| {
                let p = super::WgradPlan { sub_rows, ..wgrad_plan(&g) };
                let mut scratch = nan_filled(super::bwd_weight::scratch_len(&g, &p));
                let (mut dw, mut db) = (nan_filled(g.w_len()), nan_filled(g.c_out));
                super::bwd_weight::run(&g, &p, &d.x, &d.dy, &mut dw, Some(&mut db), &mut scratch);
                [dw, db]
            };
            let whole = run(planned.block_rows);
            for sub_rows in [planned.sub_rows, 4, 12, 36] {
                for (name, (a, b)) in ["dw", "db"].iter().zip(run(sub_rows.min(planned.block_rows)).iter().zip(&whole)) {
                    assert_bits_eq(a, b, &format!("{name}: sub-blocks of {sub_rows} rows vs whole blocks {g:?}"));
                }
            }
        }
    }

    fn im2col_range_copies_the_patches_exactly() {
        // Against the patch formula, element by element: whole rows (valid
        // geometries take the unclipped whole-row path) and k-ranges, from
        // row offsets that start mid-image, padded and not.
        let shapes = [
            (2, 13, 17, 3, 1, 3, 3, 4, 4, Padding::Valid),
            (2, 11, 11, 16, 1, 3, 3, 2, 2, Padding::Valid),
            (1, 9, 10, 5, 1, 2, 3, 1, 2, Padding::Valid),
            (3, 6, 5, 1, 1, 1, 1, 1, 1, Padding::Valid),
            (2, 7, 9, 6, 1, 3, 3, 1, 1, Padding::Same),
            (1, 8, 8, 3, 1, 7, 7, 2, 2, Padding::Explicit { top: 3, bottom: 3, left: 3, right: 3 }),
        ];
        for (i, &s) in shapes.iter().enumerate() {
            let g = geom(s);
            let x = TestRng::new(9100 + i as u64).vec(g.x_len());
            let patch = g.patch_len();
            let want = |row: usize, p: usize| {
                let (n, oh, ow) = (row / (g.h_out * g.w_out), (row / g.w_out) % g.h_out, row % g.w_out);
                let (kh, kw, ci) = (p / (g.k_w * g.c_in), (p / g.c_in) % g.k_w, p % g.c_in);
                let ih = (oh * g.stride_h + kh) as isize - g.pad_top as isize;
                let iw = (ow * g.stride_w + kw) as isize - g.pad_left as isize;
                let inside = (0..g.h_in as isize).contains(&ih) && (0..g.w_in as isize).contains(&iw);
                if inside { x[((n * g.h_in + ih as usize) * g.w_in + iw as usize) * g.c_in + ci] } else { 0.0 }
            };
            for (row0, p0, kc) in [(0, 0, patch), (3, 0, patch), (g.w_out + 1, 1, patch - 1), (2, patch / 2, patch - patch / 2)] {
                if kc == 0 {
                    continue; // a 1-element patch has no proper sub-range
                }
                let rows = g.out_pixels() - row0;
                let mut cols = nan_filled(rows * kc);
                im2col_range(&g, &x, row0, p0, kc, &mut cols);
                for (r, got) in cols.chunks_exact(kc).enumerate() {
                    for (q, &v) in got.iter().enumerate() {
                        assert_eq!(v.to_bits(), want(row0 + r, p0 + q).to_bits(), "{g:?} row {} element {}", row0 + r, p0 + q);
                    }
                }
            }
        }
    }

    fn conv2d_padded_narrow_patches_read_slabs_with_im2col_bits() {
        // Padded geometries with short patch rows (stems: k_w·c_in <= 32)
        // read their patches in place from zero-padded slabs. Several bands
        // per image, units that start and end mid-image, asymmetric pads,
        // windows wholly in the padding, strides 1-3, 1-3 images: each must
        // give im2col's bits and match the reference, with NaN-filled
        // output and scratch, with bias and ReLU and without. Such geometries
        // keep no kernel (the in-place GEMM reads the weights as given).
        let shapes: [Shape; 6] = [
            (1, 224, 224, 3, 64, 7, 7, 2, 2, Padding::Explicit { top: 3, bottom: 3, left: 3, right: 3 }),
            (3, 37, 41, 3, 16, 3, 3, 2, 2, Padding::Same),
            (2, 19, 23, 8, 13, 3, 3, 1, 1, Padding::Same),
            (2, 11, 9, 5, 7, 5, 3, 3, 2, Padding::Explicit { top: 0, bottom: 4, left: 2, right: 0 }),
            (1, 6, 7, 2, 9, 3, 3, 1, 1, Padding::Explicit { top: 4, bottom: 0, left: 0, right: 3 }),
            (2, 64, 60, 1, 8, 4, 4, 2, 2, Padding::Same),
        ];
        let (mut bands, mut straddles) = (false, false);
        for (i, s) in shapes.into_iter().enumerate() {
            let g = geom(s);
            let p = fwd_plan(&g);
            let slab = p.padded.unwrap_or_else(|| panic!("{g:?} reads no slabs: {p:?}"));
            assert!(p.in_place && super::prepared_kernel_len(&g).is_none(), "{g:?} {p:?}");
            bands |= slab.band_rows < g.h_out;
            if let Split::Rows { group_rows } = p.split {
                straddles |= p.units > 1 && group_rows % (g.h_out * g.w_out) != 0;
            }
            let mut d = data(&g, 9400 + i as u64);
            let len = super::fwd_by_scratch_len(&g, super::FwdPath::Im2col).unwrap();
            for ep in [Epilogue { bias: Some(&d.b), clamp: Clamp::Relu }, Epilogue::default()] {
                let ctx = format!("{g:?} {p:?} {ep:?}");
                let mut y = nan_filled(g.y_len());
                conv2d_fwd_with(&g, &d.x, &d.w, ep, &mut y, &mut d.scratch);
                d.scratch.fill(f32::NAN);
                let mut want = nan_filled(g.y_len());
                let mut scratch = nan_filled(len);
                assert!(super::conv2d_fwd_by(&g, super::FwdPath::Im2col, &d.x, &d.w, ep.bias, &mut want, &mut scratch));
                ep.clamp.apply_slice(&mut want);
                assert_bits_eq(&y, &want, &format!("slabs vs im2col {ctx}"));
                assert_fwd_close(&g, &d, ep, &y, &format!("slabs vs reference {ctx}"));
            }
        }
        assert!(bands && straddles, "some shape has several bands per image and units that straddle images");
    }

    fn conv2d_kept_panels_give_the_per_call_bits() {
        // Geometries that keep packed weight panels (padded with patch rows
        // over 32 floats, or large kernels; not Winograd): column tails of 0-11 past the 12-wide panels, one and
        // several k-blocks, row and column splits, with bias and ReLU and
        // without. The kept forward must give conv2d_fwd_with's bits, which
        // the tests above hold to the reference; it is checked against the
        // reference here too, with NaN-filled kept panels, output and scratch.
        let shapes: [Shape; 7] = [
            (1, 64, 64, 8, 64, 5, 5, 2, 2, Padding::Explicit { top: 2, bottom: 2, left: 2, right: 2 }),
            (2, 15, 13, 11, 13, 3, 3, 2, 2, Padding::Same),
            (1, 14, 14, 40, 36, 3, 3, 2, 2, Padding::Explicit { top: 1, bottom: 1, left: 1, right: 1 }),
            (3, 9, 11, 37, 21, 3, 3, 2, 1, Padding::Same),
            (1, 14, 14, 256, 301, 1, 1, 2, 2, Padding::Valid),
            // Few rows, many columns: column splits over several k-blocks.
            (1, 14, 14, 96, 80, 3, 3, 2, 2, Padding::Explicit { top: 1, bottom: 1, left: 1, right: 1 }),
            (1, 5, 6, 37, 131, 3, 2, 1, 1, Padding::Explicit { top: 0, bottom: 2, left: 1, right: 1 }),
        ];
        let mut splits = (false, false, false);
        for (i, s) in shapes.into_iter().enumerate() {
            let g = geom(s);
            let p = fwd_plan(&g);
            let len = super::prepared_kernel_len(&g).unwrap_or_else(|| panic!("{g:?} keeps no kernel"));
            assert_eq!(len, g.w_len(), "{g:?}: kept panels are as long as the weights");
            assert!(!p.in_place, "{g:?} {p:?}");
            splits.0 |= matches!(p.split, Split::Cols { .. }) && p.units > 1;
            splits.1 |= matches!(p.split, Split::Rows { .. }) && p.units > 1;
            splits.2 |= p.patch > p.kc;
            let mut d = data(&g, 9500 + i as u64);
            let mut u = nan_filled(len);
            super::conv2d_prepare(&g, &d.w, &mut u);
            for ep in [Epilogue { bias: Some(&d.b), clamp: Clamp::Relu }, Epilogue::default()] {
                let ctx = format!("{g:?} {p:?} {ep:?}");
                let mut want = nan_filled(g.y_len());
                conv2d_fwd_with(&g, &d.x, &d.w, ep, &mut want, &mut d.scratch);
                d.scratch.fill(f32::NAN);
                let mut y = nan_filled(g.y_len());
                super::conv2d_fwd_prepared(&g, &d.x, &u, ep, &mut y, &mut d.scratch);
                assert_bits_eq(&y, &want, &format!("kept panels vs per call {ctx}"));
                assert_fwd_close(&g, &d, ep, &y, &format!("kept panels vs reference {ctx}"));
            }
        }
        assert_eq!(splits, (true, true, true), "every blocked split and several k-blocks are covered");
        // Winograd keeps its transformed kernel, in-place geometries nothing.
        assert_ne!(super::prepared_kernel_len(&geom((1, 7, 7, 32, 32, 3, 3, 1, 1, Padding::Same))), Some(7 * 7 * 32 * 32));
        assert_eq!(super::prepared_kernel_len(&geom((1, 56, 56, 64, 128, 1, 1, 2, 2, Padding::Valid))), None);
    }

    fn conv2d_scratch_stays_bounded() {
        // BreakHis first layer at batch 32: scratch is a few blocks, not the
        // whole im2col matrix (32·56·56 × 27 floats).
        let g = geom((32, 224, 224, 3, 16, 3, 3, 4, 4, Padding::Valid));
        let full = g.out_pixels() * g.patch_len();
        assert!(g.im2col_scratch_len() * 8 < full, "{g:?}: scratch {} vs im2col {full}", g.im2col_scratch_len());
        let g = geom((32, 28, 28, 64, 64, 3, 3, 1, 1, Padding::Same));
        let full = g.out_pixels() * g.patch_len();
        assert!(g.im2col_scratch_len() * 8 < full, "{g:?}: scratch {} vs im2col {full}", g.im2col_scratch_len());
        // ResNet-18's last stage at batch 32: not 16 weight-gradient partials
        // (16·w) but, for the Winograd forward, its F(4,3) transformed kernel
        // (36/9·w) plus one span of transformed tiles (16 MiB at most), and
        // for the input gradient (the Winograd forward of the transposed
        // convolution) the flipped weights (w) before that.
        let g = geom((32, 7, 7, 512, 512, 3, 3, 1, 1, Padding::Same));
        let wino = g.w_len() * 36 / 9 + (1 << 22);
        assert!(g.im2col_scratch_len() <= g.w_len() + wino, "{g:?}: scratch {} vs w {}", g.im2col_scratch_len(), g.w_len());
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn conv2d_bit_identical_with_1_and_2_threads() {
    // The last two are Winograd's orders: by position in one span of several
    // blocks, and blocked in tile-row units (too many tiles for one span).
    let shapes = [
        (4, 56, 56, 3, 16, 3, 3, 4, 4, Padding::Valid),
        (2, 13, 13, 8, 8, 3, 3, 2, 2, Padding::Valid),
        (3, 56, 56, 16, 32, 3, 3, 2, 2, Padding::Valid),
        (3, 20, 20, 16, 32, 3, 3, 1, 1, Padding::Same),
        (8, 64, 60, 24, 20, 3, 3, 1, 1, Padding::Same),
    ];
    let order = |s| super::winograd::plan(&geom(s)).map(|p| p.order);
    assert!(matches!(order(shapes[3]), Some(super::winograd::Order::ByPosition { .. })));
    assert_eq!(order(shapes[4]), Some(super::winograd::Order::Blocked));
    for s in shapes.into_iter().chain(BLOCKED_SHAPES) {
        let g = geom(s);
        let d = data(&g, 9000);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut scratch = nan_filled(g.im2col_scratch_len());
            let mut y = nan_filled(g.y_len());
            let mut dx = nan_filled(g.x_len());
            let mut dw = nan_filled(g.w_len());
            let mut db = nan_filled(g.c_out);
            pool.install(|| {
                conv2d_fwd(&g, &d.x, &d.w, Some(&d.b), &mut y, &mut scratch);
                conv2d_bwd_input(&g, &d.w, &d.dy, &mut dx, &mut scratch);
                conv2d_bwd_weight(&g, &d.x, &d.dy, &mut dw, Some(&mut db), &mut scratch);
            });
            [y, dx, dw, db]
        };
        let (one, two) = (run(1), run(2));
        for (name, (a, b)) in ["y", "dx", "dw", "db"].iter().zip(one.iter().zip(&two)) {
            assert_bits_eq(a, b, &format!("{name} 1 vs 2 threads {g:?}"));
        }
    }
}

/// Rough native timing of the BreakHis first layer at batch 32, on 1- and
/// 2-thread pools: `cargo test conv2d_timing -- --ignored --nocapture`.
#[cfg(all(test, feature = "threads"))]
#[test]
#[ignore]
fn conv2d_timing_breakhis_first_layer() {
    let g = geom((32, 224, 224, 3, 16, 3, 3, 4, 4, Padding::Valid));
    let mut d = data(&g, 1);
    let mut y = nan_filled(g.y_len());
    let mut dx = nan_filled(g.x_len());
    let mut dw = nan_filled(g.w_len());
    let mut db = nan_filled(g.c_out);
    println!("{g:?}");
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let time = |name: &str, f: &mut (dyn FnMut() + Send)| {
            pool.install(&mut *f);
            let reps = 10;
            let t = std::time::Instant::now();
            for _ in 0..reps {
                pool.install(&mut *f);
            }
            let ms = t.elapsed().as_secs_f64() * 1e3 / reps as f64;
            println!("{threads} thread(s) {name}: {ms:.2} ms ({:.2} GFLOP/s)", 2.0 * g.macs() / ms / 1e6);
        };
        time("fwd", &mut || conv2d_fwd(&g, &d.x, &d.w, Some(&d.b), &mut y, &mut d.scratch));
        time("bwd_weight", &mut || conv2d_bwd_weight(&g, &d.x, &d.dy, &mut dw, Some(&mut db), &mut d.scratch));
        time("bwd_input", &mut || conv2d_bwd_input(&g, &d.w, &d.dy, &mut dx, &mut d.scratch));
    }
}
