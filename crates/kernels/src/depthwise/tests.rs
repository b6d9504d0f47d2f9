//! Depthwise convolution against the f64 reference on awkward shapes
//! (including asymmetric explicit padding and depth multipliers > 1),
//! gradient checks against central differences, geometry validation, and
//! determinism.

use super::{depthwise_bwd_input, depthwise_bwd_weight, depthwise_fwd, plan};
use crate::geom::{DepthwiseGeom, Padding};
use crate::reference::{self, abs64};
use crate::selftest::gradcheck::{assert_grad_close, numeric_grad, project};
use crate::selftest::util::{assert_bits_eq, assert_dot_close, geometry_error, nan_filled, TestRng};

/// `(n, h_in, w_in, c_in, depth_multiplier, k_h, k_w, stride_h, stride_w, padding)`.
type Shape = (usize, usize, usize, usize, usize, usize, usize, usize, usize, Padding);

fn geom(s: Shape) -> DepthwiseGeom {
    let (n, h, w, c, dm, kh, kw, sh, sw, pad) = s;
    DepthwiseGeom::new(n, h, w, c, dm, kh, kw, sh, sw, pad).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

struct Data {
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    dy: Vec<f32>,
}

fn data(g: &DepthwiseGeom, seed: u64) -> Data {
    let mut rng = TestRng::new(seed);
    Data { x: rng.vec(g.x_len()), w: rng.vec(g.w_len()), b: rng.vec(g.c_out()), dy: rng.vec(g.y_len()) }
}

/// The three passes' outputs, from NaN-filled buffers (scratch included).
fn run_all(g: &DepthwiseGeom, d: &Data, with_bias: bool) -> [Vec<f32>; 4] {
    let mut y = nan_filled(g.y_len());
    depthwise_fwd(g, &d.x, &d.w, with_bias.then_some(&d.b[..]), &mut y);
    let mut dx = nan_filled(g.x_len());
    depthwise_bwd_input(g, &d.w, &d.dy, &mut dx);
    let mut dw = nan_filled(g.w_len());
    let mut db = nan_filled(g.c_out());
    let mut scratch = nan_filled(g.scratch_len());
    depthwise_bwd_weight(g, &d.x, &d.dy, &mut dw, with_bias.then_some(&mut db[..]), &mut scratch);
    [y, dx, dw, db]
}

/// Every pass of `g` against the reference, within the worst-case rounding
/// bound of its dot products.
fn check_all(g: &DepthwiseGeom, with_bias: bool, seed: u64) {
    let d = data(g, seed);
    let ctx = format!("{g:?} bias={with_bias} seed={seed}");
    let [y, dx, dw, db] = run_all(g, &d, with_bias);
    let bias = with_bias.then_some(&d.b[..]);
    let abs_b = abs64(&d.b);
    let want = reference::depthwise_fwd(g, &d.x, &d.w, bias);
    let scale = reference::depthwise_fwd(g, &abs64(&d.x), &abs64(&d.w), with_bias.then_some(&abs_b[..]));
    assert_dot_close(&y, &want, &scale, g.k_h * g.k_w + 1, &format!("depthwise_fwd {ctx}"));

    let want = reference::depthwise_bwd_input(g, &d.w, &d.dy);
    let scale = reference::depthwise_bwd_input(g, &abs64(&d.w), &abs64(&d.dy));
    assert_dot_close(&dx, &want, &scale, g.k_h * g.k_w * g.depth_multiplier, &format!("depthwise_bwd_input {ctx}"));

    let (want_w, want_b) = reference::depthwise_bwd_weight(g, &d.x, &d.dy);
    let (scale_w, scale_b) = reference::depthwise_bwd_weight(g, &abs64(&d.x), &abs64(&d.dy));
    let terms = g.out_pixels() + plan(g).groups;
    assert_dot_close(&dw, &want_w, &scale_w, terms, &format!("depthwise_bwd_weight dw {ctx}"));
    if with_bias {
        assert_dot_close(&db, &want_b, &scale_b, terms, &format!("depthwise_bwd_weight db {ctx}"));
    }
}

const SPATIAL: [(usize, usize); 6] = [(1, 1), (3, 5), (5, 3), (7, 7), (6, 9), (13, 4)];
const KERNELS: [(usize, usize); 5] = [(1, 1), (3, 3), (5, 5), (3, 2), (7, 7)];
const STRIDES: [(usize, usize); 4] = [(1, 1), (2, 2), (3, 3), (1, 2)];
/// Around the SIMD widths (4, 8, 16 lanes) and the MobileNet channel counts.
const CHANNELS: [usize; 11] = [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33];
const PADDINGS: [Padding; 5] = [
    Padding::Valid,
    Padding::Same,
    Padding::Explicit { top: 1, bottom: 1, left: 1, right: 1 },
    Padding::Explicit { top: 0, bottom: 2, left: 1, right: 0 },
    Padding::Explicit { top: 3, bottom: 1, left: 0, right: 4 },
];

/// MobileNetV2's depthwise layers (3×3, pad 1), at batch 1.
const MOBILENET_V2: [Shape; 5] = [
    (1, 112, 112, 96, 1, 3, 3, 2, 2, Padding::Explicit { top: 1, bottom: 1, left: 1, right: 1 }),
    (1, 56, 56, 144, 1, 3, 3, 1, 1, Padding::Same),
    (1, 14, 14, 576, 1, 3, 3, 1, 1, Padding::Explicit { top: 1, bottom: 1, left: 1, right: 1 }),
    (1, 7, 7, 960, 1, 3, 3, 1, 1, Padding::Same),
    (1, 14, 14, 576, 1, 3, 3, 2, 2, Padding::Explicit { top: 1, bottom: 1, left: 1, right: 1 }),
];

crate::kernel_tests! {
    fn depthwise_matches_reference_on_awkward_shapes() {
        let mut case = 0usize;
        for &(k_h, k_w) in &KERNELS {
            for &(s_h, s_w) in &STRIDES {
                for padding in PADDINGS {
                    for &(h, w) in &SPATIAL {
                        let c = CHANNELS[case % CHANNELS.len()];
                        let dm = [1, 1, 2, 3][case % 4];
                        let n = if case % 3 == 0 { 3 } else { 1 };
                        match DepthwiseGeom::new(n, h, w, c, dm, k_h, k_w, s_h, s_w, padding) {
                            Ok(g) => check_all(&g, case % 2 == 0, 100 + case as u64),
                            Err(e) => assert!(
                                e.message.contains("is larger than the"),
                                "unexpected rejection {:?}: {e}",
                                (n, h, w, c, dm, k_h, k_w, s_h, s_w, padding)
                            ),
                        }
                        case += 1;
                    }
                }
            }
        }
        assert!(case >= 600, "only {case} cases ran");
    }

    fn depthwise_matches_reference_at_every_channel_count() {
        let mut seed = 2000;
        for &c in &CHANNELS {
            for dm in [1, 2, 4] {
                check_all(&geom((2, 5, 4, c, dm, 3, 3, 2, 1, Padding::Same)), true, seed);
                check_all(&geom((1, 4, 6, c, dm, 3, 2, 1, 3, Padding::Explicit { top: 0, bottom: 1, left: 2, right: 1 })), false, seed + 1);
                seed += 2;
            }
        }
    }

    fn depthwise_matches_reference_on_mobilenet_v2_shapes() {
        // Several chunks, several weight-gradient groups, and the pool.
        for (i, &s) in MOBILENET_V2.iter().enumerate() {
            let g = geom(s);
            let p = plan(&g);
            assert!(p.parallel && p.groups > 1, "{g:?}: expected a parallel multi-group plan, got {p:?}");
            check_all(&g, true, 3000 + i as u64);
        }
    }

    fn depthwise_geometry_matches_keras_and_pytorch() {
        // Keras 'same' at stride 2 on an even input pads only after (TF), PyTorch pads 1 on both sides.
        let g = geom((1, 112, 112, 96, 1, 3, 3, 2, 2, Padding::Same));
        assert_eq!((g.h_out, g.w_out, g.pad_top, g.pad_left), (56, 56, 0, 0), "{g:?}");
        let g = geom((1, 112, 112, 96, 1, 3, 3, 2, 2, Padding::Explicit { top: 1, bottom: 1, left: 1, right: 1 }));
        assert_eq!((g.h_out, g.w_out, g.pad_top, g.pad_left), (56, 56, 1, 1), "{g:?}");
        // Asymmetric: floor((7 + 0 + 2 - 3) / 2) + 1 = 4 rows; floor((5 + 3 + 1 - 3) / 3) + 1 = 3 columns.
        let g = geom((2, 7, 5, 3, 2, 3, 3, 2, 3, Padding::Explicit { top: 0, bottom: 2, left: 3, right: 1 }));
        assert_eq!((g.h_out, g.w_out, g.pad_top, g.pad_left, g.c_out(), g.w_len()), (4, 3, 0, 3, 6, 54), "{g:?}");
        // End to end on one channel, 2×2 input, 2×2 kernel, pads (1, 0, 0, 1):
        // y[oh, ow] = sum w[kh, kw]·x[oh + kh - 1, ow + kw], x outside the image reading 0.
        let g = geom((1, 2, 2, 1, 1, 2, 2, 1, 1, Padding::Explicit { top: 1, bottom: 0, left: 0, right: 1 }));
        let mut y = nan_filled(g.y_len());
        depthwise_fwd(&g, &[1.0, 2.0, 3.0, 4.0], &[1.0, 10.0, 100.0, 1000.0], None, &mut y);
        assert_eq!(y, vec![2100.0, 200.0, 4321.0, 402.0], "{g:?}");
    }

    fn depthwise_rejects_bad_geometry_with_messages() {
        let err = |s: Shape| {
            let (n, h, w, c, dm, kh, kw, sh, sw, pad) = s;
            geometry_error(DepthwiseGeom::new(n, h, w, c, dm, kh, kw, sh, sw, pad), &s)
        };
        let fields = ["n", "h_in", "w_in", "c_in", "depth_multiplier", "k_h", "k_w", "stride_h", "stride_w"];
        for (i, name) in fields.iter().enumerate() {
            let mut v = [2usize, 5, 5, 3, 2, 3, 3, 1, 1];
            v[i] = 0;
            let msg = err((v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], Padding::Same));
            assert!(msg.starts_with(&format!("depthwise: {name} must be >= 1, got 0")), "{name}: {msg}");
        }
        let msg = err((1, 4, 9, 1, 1, 5, 3, 1, 1, Padding::Valid));
        assert!(msg.contains("kernel height 5") && msg.contains("input height 4") && msg.contains("'valid'"), "{msg}");
        let msg = err((1, 4, 2, 1, 1, 3, 5, 1, 1, Padding::Explicit { top: 0, bottom: 0, left: 1, right: 1 }));
        assert!(msg.contains("kernel width 5 is larger than the padded input width 4 (input 2 + padding 1 + 1"), "{msg}");
        let msg = err((usize::MAX / 8, 4, 4, 4, 1, 3, 3, 1, 1, Padding::Same));
        assert!(msg.contains("x [") && msg.contains("too large"), "{msg}");
        let msg = err((1, 4, 4, usize::MAX / 2, 4, 3, 3, 1, 1, Padding::Same));
        assert!(msg.contains("c_in·depth_multiplier overflows"), "{msg}");
    }

    fn depthwise_gradients_match_central_differences() {
        for (i, s) in [
            (2, 5, 4, 3, 1, 3, 3, 2, 2, Padding::Same),
            (1, 4, 5, 5, 2, 2, 3, 1, 2, Padding::Explicit { top: 1, bottom: 0, left: 0, right: 2 }),
            (2, 3, 3, 4, 3, 1, 1, 1, 1, Padding::Valid),
            (1, 7, 6, 9, 1, 3, 2, 3, 1, Padding::Explicit { top: 2, bottom: 2, left: 1, right: 1 }),
        ]
        .into_iter()
        .enumerate()
        {
            let g = geom(s);
            let d = data(&g, 4000 + i as u64);
            let ctx = format!("{g:?}");
            let r = &d.dy;
            let (x64, w64, b64) = (reference::widen(&d.x), reference::widen(&d.w), reference::widen(&d.b));
            let h = 1e-6;
            let (rtol, atol) = (1e-4, 1e-5);
            let [_, dx, dw, db] = run_all(&g, &d, true);
            let num = numeric_grad(&d.x, h, |xp| project(&reference::depthwise_fwd(&g, xp, &w64, Some(&b64)), r));
            assert_grad_close(&dx, &num, rtol, atol, &format!("dx {ctx}"));
            let num = numeric_grad(&d.w, h, |wp| project(&reference::depthwise_fwd(&g, &x64, wp, Some(&b64)), r));
            assert_grad_close(&dw, &num, rtol, atol, &format!("dw {ctx}"));
            let num = numeric_grad(&d.b, h, |bp| project(&reference::depthwise_fwd(&g, &x64, &w64, Some(bp)), r));
            assert_grad_close(&db, &num, rtol, atol, &format!("db {ctx}"));
        }
    }

    fn depthwise_results_do_not_depend_on_parallelism() {
        // The same plan run on the pool and serially: bit-identical.
        for s in [MOBILENET_V2[0], (3, 17, 19, 21, 2, 3, 3, 2, 1, Padding::Same)] {
            let g = geom(s);
            let p = plan(&g);
            assert!(p.parallel, "{g:?}: {p:?}");
            let serial = super::Plan { parallel: false, ..p };
            let d = data(&g, 5000);
            let run = |p: &super::Plan| {
                let mut y = nan_filled(g.y_len());
                super::fwd::fwd(&g, p, &d.x, &d.w, Some(&d.b), &mut y);
                let mut dx = nan_filled(g.x_len());
                super::bwd_input::gather(&g, p, &d.w, &d.dy, &mut dx);
                let mut dw = nan_filled(g.w_len());
                let mut db = nan_filled(g.c_out());
                let mut scratch = nan_filled(g.scratch_len());
                super::bwd_weight::grouped(&g, p, &d.x, &d.dy, &mut dw, Some(&mut db), &mut scratch);
                [y, dx, dw, db]
            };
            let (a, b) = (run(&p), run(&serial));
            for (name, (a, b)) in ["y", "dx", "dw", "db"].iter().zip(a.iter().zip(&b)) {
                assert_bits_eq(a, b, &format!("{name} pool vs serial {g:?}"));
            }
        }
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn depthwise_bit_identical_with_1_and_2_threads() {
    for s in [MOBILENET_V2[0], MOBILENET_V2[2], (3, 17, 19, 21, 2, 3, 3, 2, 1, Padding::Same)] {
        let g = geom(s);
        let d = data(&g, 6000);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| run_all(&g, &d, true))
        };
        let (one, two) = (run(1), run(2));
        for (name, (a, b)) in ["y", "dx", "dw", "db"].iter().zip(one.iter().zip(&two)) {
            assert_bits_eq(a, b, &format!("{name} 1 vs 2 threads {g:?}"));
        }
    }
}

/// Rough native timing of MobileNetV2's depthwise layers at batch 32, on 1-
/// and 2-thread pools: `node scripts/cargo.mjs test --release depthwise_timing -- --ignored --nocapture`.
#[cfg(all(test, feature = "threads"))]
#[test]
#[ignore]
fn depthwise_timing_mobilenet_v2() {
    for s in MOBILENET_V2 {
        let g = geom((32, s.1, s.2, s.3, s.4, s.5, s.6, s.7, s.8, s.9));
        let d = data(&g, 1);
        let mut y = nan_filled(g.y_len());
        let mut dx = nan_filled(g.x_len());
        let mut dw = nan_filled(g.w_len());
        let mut db = nan_filled(g.c_out());
        let mut scratch = nan_filled(g.scratch_len());
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let time = |name: &str, f: &mut (dyn FnMut() + Send)| {
                pool.install(&mut *f);
                let reps = 5;
                let t = std::time::Instant::now();
                for _ in 0..reps {
                    pool.install(&mut *f);
                }
                let ms = t.elapsed().as_secs_f64() * 1e3 / reps as f64;
                println!("{:?} {threads} thread(s) {name}: {ms:.2} ms ({:.2} GFLOP/s)", s, 2.0 * g.macs() / ms / 1e6);
            };
            time("fwd", &mut || depthwise_fwd(&g, &d.x, &d.w, Some(&d.b), &mut y));
            time("bwd_input", &mut || depthwise_bwd_input(&g, &d.w, &d.dy, &mut dx));
            time("bwd_weight", &mut || depthwise_bwd_weight(&g, &d.x, &d.dy, &mut dw, Some(&mut db), &mut scratch));
        }
    }
}
