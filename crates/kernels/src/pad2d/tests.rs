//! Zero padding against the f64 reference on awkward shapes, its gradient
//! (a crop) by central differences, validation, and determinism.

use super::{pad2d_bwd, pad2d_fwd};
use crate::geom::Pad2dGeom;
use crate::reference;
use crate::selftest::gradcheck::{assert_grad_close, numeric_grad, project};
use crate::selftest::util::{assert_bits_eq, nan_filled, TestRng};

const HW: [(usize, usize); 5] = [(1, 1), (1, 3), (3, 5), (7, 7), (6, 4)];
const CHANNELS: [usize; 6] = [1, 3, 4, 5, 17, 33];
/// `[[top, bottom], [left, right]]`: none, symmetric, asymmetric, one side only.
const PADS: [[[usize; 2]; 2]; 5] = [[[0, 0], [0, 0]], [[1, 1], [1, 1]], [[0, 1], [0, 1]], [[3, 0], [2, 5]], [[0, 0], [4, 0]]];

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// `pad2d_fwd` against the reference, and `pad2d_bwd` of its output giving
/// back the input exactly.
fn check_round_trip(g: &Pad2dGeom, seed: u64) {
    let mut rng = TestRng::new(seed);
    let x = rng.vec(g.x_len());
    let mut y = nan_filled(g.y_len());
    pad2d_fwd(g, &x, &mut y);
    assert_bits_eq(&y, &to_f32(&reference::pad2d(g, &reference::widen(&x))), &format!("pad2d_fwd {g:?}"));
    let mut dx = nan_filled(g.x_len());
    pad2d_bwd(g, &y, &mut dx);
    assert_bits_eq(&dx, &x, &format!("pad2d_bwd(pad2d_fwd(x)) {g:?}"));
}

crate::kernel_tests! {
    fn pad2d_matches_reference_and_crops_back() {
        let mut seed = 0;
        for &(h, w) in &HW {
            for &c in &CHANNELS {
                for pads in PADS {
                    seed += 1;
                    let n = if seed % 2 == 0 { 1 } else { 3 };
                    let g = Pad2dGeom::new([n, h, w, c], pads).unwrap();
                    assert_eq!((g.h_out, g.w_out), (pads[0][0] + h + pads[0][1], pads[1][0] + w + pads[1][1]), "{g:?}");
                    check_round_trip(&g, seed);
                }
            }
        }
    }

    fn pad2d_gradcheck() {
        let g = Pad2dGeom::new([2, 3, 4, 5], [[1, 2], [0, 3]]).unwrap();
        let mut rng = TestRng::new(77);
        let x = rng.vec(g.x_len());
        let r = rng.vec(g.y_len());
        let mut dx = nan_filled(g.x_len());
        pad2d_bwd(&g, &r, &mut dx);
        let num = numeric_grad(&x, 1e-3, |xd| project(&reference::pad2d(&g, xd), &r));
        assert_grad_close(&dx, &num, 1e-9, 1e-9, &format!("pad2d_bwd {g:?}"));
    }

    fn pad2d_large_shape_crosses_parallel_threshold() {
        // MobileNetV2's stem input padded (0, 1) as TF does for stride 2.
        let g = Pad2dGeom::new([2, 224, 224, 3], [[0, 1], [0, 1]]).unwrap();
        check_round_trip(&g, 78);
    }

    fn pad2d_rejects_bad_geometry() {
        let msg = Pad2dGeom::new([1, 0, 3, 2], [[1, 1], [1, 1]]).unwrap_err().message;
        assert!(msg.starts_with("pad2d: h_in must be >= 1, got 0"), "{msg}");
        let msg = Pad2dGeom::new([1, 3, 3, 2], [[usize::MAX, 1], [0, 0]]).unwrap_err().message;
        assert!(msg.contains("pad2d: output size overflows"), "{msg}");
        let msg = Pad2dGeom::new([1 << 20, 3, 3, 2], [[1 << 30, 0], [1 << 20, 0]]).unwrap_err().message;
        assert!(msg.contains("y [") && msg.contains("too large"), "{msg}");
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn pad2d_bit_identical_with_1_and_2_threads() {
    let g = Pad2dGeom::new([3, 57, 55, 17], [[1, 2], [3, 0]]).unwrap();
    let mut rng = TestRng::new(79);
    let x = rng.vec(g.x_len());
    let dy = rng.vec(g.y_len());
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut y = nan_filled(g.y_len());
            pad2d_fwd(&g, &x, &mut y);
            let mut dx = nan_filled(g.x_len());
            pad2d_bwd(&g, &dy, &mut dx);
            [y, dx]
        })
    };
    let (one, two) = (run(1), run(2));
    assert_bits_eq(&one[0], &two[0], &format!("pad2d_fwd 1 vs 2 threads {g:?}"));
    assert_bits_eq(&one[1], &two[1], &format!("pad2d_bwd 1 vs 2 threads {g:?}"));
}
