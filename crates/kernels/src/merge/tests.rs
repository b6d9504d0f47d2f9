//! Add and concatenation against index-by-index definitions, on awkward sizes.

use crate::selftest::util::{assert_bits_eq, nan_filled, TestRng};

crate::kernel_tests! {
    fn add_sums_inputs_in_order() {
        for (k, &len) in [1usize, 3, 4, 5, 7, 33, 70_001].iter().enumerate() {
            let mut rng = TestRng::new(1300 + k as u64);
            for count in [1usize, 2, 3] {
                let xs: Vec<Vec<f32>> = (0..count).map(|_| rng.vec(len)).collect();
                let refs: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
                let mut y = nan_filled(len);
                super::add_fwd(&refs, &mut y);
                let want: Vec<f32> = (0..len).map(|i| xs.iter().skip(1).fold(xs[0][i], |acc, x| acc + x[i])).collect();
                assert_bits_eq(&y, &want, &format!("add_fwd len={len} inputs={count}"));
            }
        }
    }

    fn concat_joins_channels_and_splits_gradients() {
        for (k, &(pixels, ref chans)) in [(1usize, vec![1usize, 1]), (7, vec![3, 5]), (33, vec![4, 1, 7]), (5000, vec![16, 24])].iter().enumerate() {
            let mut rng = TestRng::new(1400 + k as u64);
            let xs: Vec<Vec<f32>> = chans.iter().map(|&c| rng.vec(pixels * c)).collect();
            let total: usize = chans.iter().sum();
            let parts: Vec<(&[f32], usize)> = xs.iter().zip(chans).map(|(x, &c)| (x.as_slice(), c)).collect();
            let mut y = nan_filled(pixels * total);
            super::concat_channels_fwd(pixels, &parts, &mut y);
            let mut want = Vec::with_capacity(pixels * total);
            for p in 0..pixels {
                for (x, &c) in xs.iter().zip(chans) {
                    want.extend_from_slice(&x[p * c..(p + 1) * c]);
                }
            }
            assert_bits_eq(&y, &want, &format!("concat fwd pixels={pixels} channels={chans:?}"));
            // The backward of a concatenation hands each part its own channels back.
            let mut dxs: Vec<Vec<f32>> = chans.iter().map(|&c| nan_filled(pixels * c)).collect();
            let mut sinks: Vec<(&mut [f32], usize)> = dxs.iter_mut().zip(chans).map(|(d, &c)| (d.as_mut_slice(), c)).collect();
            super::concat_channels_bwd(&y, &mut sinks);
            for (i, (dx, x)) in dxs.iter().zip(&xs).enumerate() {
                assert_bits_eq(dx, x, &format!("concat bwd part {i} pixels={pixels} channels={chans:?}"));
            }
        }
    }
}
