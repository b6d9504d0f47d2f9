//! Zero padding against an index-by-index definition; the backward is its adjoint.

use super::Pad2dGeom;
use crate::selftest::util::{assert_bits_eq, nan_filled, TestRng};

crate::kernel_tests! {
    fn pad2d_matches_definition_and_crops_back() {
        let cases = [([1, 1, 1, 1], [0, 0, 0, 0]), ([2, 3, 5, 3], [1, 1, 1, 1]), ([1, 7, 4, 5], [0, 1, 2, 0]), ([3, 5, 7, 4], [3, 0, 0, 2]), ([2, 56, 56, 16], [1, 2, 1, 2])];
        for (k, (input, pads)) in cases.into_iter().enumerate() {
            let g = Pad2dGeom::new(input, pads).unwrap();
            let [n, h, w, c] = input;
            let mut rng = TestRng::new(1500 + k as u64);
            let x = rng.vec(g.x_len());
            let mut y = nan_filled(g.y_len());
            super::pad2d_fwd(&g, &x, &mut y);
            let mut want = vec![0.0f32; g.y_len()];
            for b in 0..n {
                for ih in 0..h {
                    for iw in 0..w {
                        for ch in 0..c {
                            want[((b * g.h_out + ih + pads[0]) * g.w_out + iw + pads[2]) * c + ch] = x[((b * h + ih) * w + iw) * c + ch];
                        }
                    }
                }
            }
            assert_bits_eq(&y, &want, &format!("pad2d_fwd {g:?}"));
            // The crop of a padded tensor is the tensor: the backward is the adjoint.
            let mut dx = nan_filled(g.x_len());
            super::pad2d_bwd(&g, &y, &mut dx);
            assert_bits_eq(&dx, &x, &format!("pad2d_bwd {g:?}"));
        }
        assert!(Pad2dGeom::new([1, 0, 2, 2], [1, 1, 1, 1]).is_err());
        assert!(Pad2dGeom::new([1, 2, 2, 2], [usize::MAX, 1, 0, 0]).is_err());
    }
}
