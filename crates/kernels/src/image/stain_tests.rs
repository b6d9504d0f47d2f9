//! Stain jitter against the f64 reference and its keys; Reinhard and Macenko
//! normalization on hand values and synthetic stains; thread independence.

use super::augment::{draw, stain_draw};
use super::fast_math::{exp_clamped, ln_pos};
use super::hed::{HED_FROM_RGB, RGB_FROM_HED};
use super::normalize::lab::Lab;
use super::normalize::linalg::{percentiles, symmetric_eigen3};
use super::normalize::{fit_images, macenko, normalize_images, reinhard, StainMethod, StainParams, FIT_ROW};
use super::*;
use crate::reference;
use crate::rng::CounterRng;
use crate::selftest::util::{assert_bits_eq, assert_close, nan_filled, TestRng};

fn random_u8(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = TestRng::new(seed);
    (0..len).map(|_| (rng.next_u64() >> 56) as u8).collect()
}

fn widen(v: &[u8]) -> Vec<f64> {
    v.iter().map(|&b| b as f64).collect()
}

fn stain_config() -> AugmentConfig {
    AugmentConfig { rotation: 15.0, hflip: true, vflip: true, brightness: 0.1, hue: 0.04, stain_scale: 0.2, stain_shift: 0.05, ..AugmentConfig::IDENTITY }
}

fn unit(v: [f64; 3]) -> [f64; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    v.map(|x| x / n)
}

/// An H&E-like synthetic tile (with `synthetic_concentrations`): 10% pure
/// haematoxylin, 10% pure eosin, 10% background, the rest mixtures; pixel = `Io·exp(-(H·ch + E·ce)) - 1` rounded.
fn synthetic_tile(h: [f64; 3], e: [f64; 3], conc: &[(f64, f64)]) -> Vec<u8> {
    conc.iter()
        .flat_map(|&(ch, ce)| (0..3).map(move |k| (macenko::IO * (-(h[k] * ch + e[k] * ce)).exp() - 1.0).round().clamp(0.0, 255.0) as u8))
        .collect()
}

fn synthetic_concentrations(pixels: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = TestRng::new(seed);
    let mut u = move || (rng.uniform() as f64 + 1.0) / 2.0;
    (0..pixels)
        .map(|i| match i % 10 {
            0 => (0.5 + 1.0 * u(), 0.0),
            1 => (0.0, 0.8 + 0.7 * u()),
            2 => (0.0, 0.0),
            _ => (0.2 + 1.0 * u(), 0.2 + 0.6 * u()),
        })
        .collect()
}

// torchstain's reference stains (every OD component large enough for the tissue mask).
const H_VEC: [f64; 3] = [0.5626, 0.7201, 0.4062];
const E_VEC: [f64; 3] = [0.2159, 0.8012, 0.5581];

crate::kernel_tests! {
    fn fast_ln_and_exp_match_f64_over_the_stain_range() {
        // ln over [1e-6, 1] (the stain jitter's inputs: v/255 floored at 1e-6), log-spaced,
        // every v/255 and values just around powers of two and √2 (the range reduction's seams).
        let mut xs: Vec<f32> = (0..=20_000).map(|i| 1e-6f32 * 1e6f32.powf(i as f32 / 20_000.0)).collect();
        xs.extend((1..=255).map(|v| v as f32 * (1.0 / 255.0)));
        for e in -20..=0 {
            for m in [1.0f32, core::f32::consts::SQRT_2] {
                let x = m * 2f32.powi(e);
                xs.extend([f32::from_bits(x.to_bits() - 1), x, f32::from_bits(x.to_bits() + 1)]);
            }
        }
        let mut worst_ln = 0.0f64;
        for &x in xs.iter().filter(|&&x| (1e-6..=1.0).contains(&x)) {
            let err = (ln_pos(x) as f64 - (x as f64).ln()).abs();
            worst_ln = worst_ln.max(err);
        }
        // f32 itself resolves ln(1e-6) = -13.8 to 9.5e-7: the error stays at the output's rounding.
        assert!(worst_ln < 1e-6, "ln_pos: worst absolute error {worst_ln:e}");
        assert_eq!(ln_pos(1.0), 0.0, "ln 1");
        // Hand values.
        assert!((ln_pos(255.0) as f64 - 255f64.ln()).abs() < 1e-6 && (ln_pos(1e30) as f64 - 1e30f64.ln()).abs() < 1e-5);
        let mut worst_exp = 0.0f64;
        for i in 0..=40_000 {
            let x = -87.0 + 175.0 * i as f32 / 40_000.0;
            let want = (x as f64).exp();
            worst_exp = worst_exp.max(((exp_clamped(x) as f64 - want) / want).abs());
        }
        assert!(worst_exp < 5e-7, "exp_clamped: worst relative error {worst_exp:e}");
        assert_eq!(exp_clamped(0.0), 1.0, "exp 0");
        assert_eq!(exp_clamped(-1000.0), exp_clamped(-87.0), "clamped below");
        assert!(exp_clamped(1000.0).is_finite() && exp_clamped(1000.0) == exp_clamped(88.0), "clamped above");
    }

    fn hed_matrices_are_inverses_and_match_the_reference() {
        let want = reference::invert3(&RGB_FROM_HED.map(|r| r.map(|v| v as f64)));
        for i in 0..3 {
            for j in 0..3 {
                assert!((HED_FROM_RGB[i][j] as f64 - want[i][j]).abs() < 1e-6, "HED_FROM_RGB[{i}][{j}] {} vs {}", HED_FROM_RGB[i][j], want[i][j]);
            }
        }
    }

    fn stain_jitter_matches_reference_and_hand_values() {
        let mut rng = TestRng::new(17);
        for (k, &(h, w)) in [(4usize, 5usize), (1, 1), (9, 7)].iter().enumerate() {
            for trial in 0..8u64 {
                let img = random_u8(h * w * 3, 40 + 10 * k as u64 + trial);
                let p = StainJitterParams {
                    scale: [0, 1, 2].map(|_| 1.0 + 0.5 * rng.uniform()),
                    shift: [0, 1, 2].map(|_| 0.1 * rng.uniform()),
                };
                let mut out: Vec<f32> = img.iter().map(|&v| v as f32).collect();
                apply_stain_jitter(&p, &mut out);
                let want = reference::hed_jitter(p.scale.map(|v| v as f64), p.shift.map(|v| v as f64), &widen(&img));
                // f32 ln/exp: an OD error of ~1e-6 (|od| <= 13.8, the 1e-6 floor) moves a value by 255·1e-6.
                assert_close(&out, &want, 1e-5, 2e-3, &format!("stain jitter {h}x{w} {p:?}"));
                assert!(out.iter().all(|v| (0.0..=255.0).contains(v)));
            }
        }
        // The identity is skipped: bit for bit.
        let img: Vec<f32> = random_u8(30, 3).iter().map(|&v| v as f32).collect();
        let mut out = img.clone();
        apply_stain_jitter(&StainJitterParams::IDENTITY, &mut out);
        assert_bits_eq(&out, &img, "identity stain jitter");
        // White has no stain: scaling keeps it white; a haematoxylin shift b tints it
        // to 255·exp(-b·RGB_FROM_HED[0]).
        let mut white = vec![255.0f32; 3];
        apply_stain_jitter(&StainJitterParams { scale: [1.3, 0.7, 1.1], shift: [0.0; 3] }, &mut white);
        assert_eq!(white, vec![255.0; 3], "scaled white");
        let mut white = vec![255.0f32; 3];
        apply_stain_jitter(&StainJitterParams { scale: [1.0; 3], shift: [0.2, 0.0, 0.0] }, &mut white);
        let want = [0.65, 0.70, 0.29].map(|m: f64| 255.0 * (-0.2 * m).exp());
        assert_close(&white, &want, 1e-5, 1e-3, "white + 0.2 haematoxylin");
    }

    fn stain_draws_follow_ranges_keys_and_leave_other_draws_alone() {
        let cfg = stain_config();
        let rng = CounterRng::new(7, 2);
        for id in [0u32, 1, 99, u32::MAX] {
            let p = draw_params(&cfg, 16, 16, &rng, id);
            for k in 0..3 {
                assert!((0.8..=1.2).contains(&p.stain.scale[k]) && p.stain.shift[k].abs() <= 0.05, "id {id}: {:?}", p.stain);
            }
            let u = rng.uniform_f32(stain_draw(id, 4));
            assert_eq!(p.stain.shift[1], 0.05 * (2.0 * u - 1.0), "id {id}: eosin shift is draw 4");
            // The stain range is disjoint from every other draw of every image.
            assert!(stain_draw(id, 0) > u32::MAX as u64 * DRAWS_PER_SAMPLE + draw::JITTER_ORDER);
            // Enabling stain jitter changes no other parameter.
            let plain = draw_params(&AugmentConfig { stain_scale: 0.0, stain_shift: 0.0, ..cfg }, 16, 16, &rng, id);
            assert_eq!((plain.affine, plain.jitter), (p.affine, p.jitter), "id {id}");
            assert_eq!(plain.stain, StainJitterParams::IDENTITY);
        }
        assert_ne!(draw_params(&cfg, 16, 16, &rng, 3).stain, draw_params(&cfg, 16, 16, &rng, 4).stain, "ids differ");
        assert_ne!(draw_params(&cfg, 16, 16, &rng, 3).stain, draw_params(&cfg, 16, 16, &CounterRng::new(7, 3), 3).stain, "epochs differ");
        let mut bad = AugmentConfig::IDENTITY;
        bad.stain_scale = 1.5;
        assert!(bad.validate().unwrap_err().message.contains("stain_scale must be in [0, 1], got 1.5"));
        bad.stain_scale = 0.0;
        bad.stain_shift = -0.1;
        assert!(bad.validate().unwrap_err().message.contains("stain_shift must be in [0, 1], got -0.1"));
    }

    fn pipeline_with_stain_jitter_matches_reference() {
        let (n, h, w, c) = (3usize, 10usize, 9usize, 3usize);
        let cfg = stain_config();
        let pre = Preprocess::MinMax;
        let s = TransformSpec { geom: ImageGeom::new(n, h, w, c).unwrap(), seed: 0xabc, epoch: 1, augment: Some(cfg), preprocess: pre };
        let src = random_u8(n * h * w * c, 900);
        let ids = [5u32, 77, 2];
        let mut out = nan_filled(s.geom.len());
        transform_images(&s, &src, &ids, &mut out);
        let plane = h * w * c;
        let rng = CounterRng::new(s.seed, s.epoch as u64);
        for i in 0..n {
            let p = draw_params(&cfg, h, w, &rng, ids[i]);
            let mut warped = nan_filled(plane);
            warp_image(&p.affine, cfg.fill_mode, cfg.fill_value, h, w, c, &src[i * plane..(i + 1) * plane], &mut warped);
            let stained = reference::hed_jitter(p.stain.scale.map(|v| v as f64), p.stain.shift.map(|v| v as f64), &reference::widen(&warped));
            let jittered = reference::color_jitter(&p.jitter, c, &stained);
            let want = reference::image_preprocess(&pre, c, &jittered);
            assert_close(&out[i * plane..(i + 1) * plane], &want, 1e-5, 0.05 / 255.0, &format!("image {i} {p:?}"));
        }
        // One channel: stain jitter does not apply.
        let g = TransformSpec { geom: ImageGeom::new(1, h, w, 1).unwrap(), augment: Some(AugmentConfig { stain_scale: 0.5, stain_shift: 0.2, ..AugmentConfig::IDENTITY }), ..s };
        let grey = random_u8(h * w, 4);
        let mut out = nan_filled(h * w);
        transform_images(&g, &grey, &[1], &mut out);
        assert_bits_eq(&out, &grey.iter().map(|&v| v as f32 / 255.0).collect::<Vec<_>>(), "grey image, stain jitter ignored");
    }

    fn lab_conversion_hand_values_and_round_trip() {
        let lab = Lab::new();
        // scikit-image: rgb2lab([1, 1, 1]) = [100, 0, 0]; rgb2lab([1, 0, 0]) = [53.2408, 80.0925, 67.2032].
        let white = lab.from_rgb(&[255, 255, 255]);
        assert!((white[0] - 100.0).abs() < 1e-3 && white[1].abs() < 1e-2 && white[2].abs() < 1e-2, "white {white:?}");
        let red = lab.from_rgb(&[255, 0, 0]);
        for (g, w) in red.iter().zip([53.2408, 80.0925, 67.2032]) {
            assert!((g - w).abs() < 1e-3, "red {red:?}");
        }
        let black = lab.from_rgb(&[0, 0, 0]);
        assert!(black.iter().all(|v| v.abs() < 1e-9), "black {black:?}");
        // Every 8-bit value on each channel survives a round trip.
        for v in 0..=255u8 {
            for px in [[v, v, v], [v, 0, 255 - v], [255 - v, v, 128]] {
                let mut back = [0u8; 3];
                lab.to_rgb(lab.from_rgb(&px), &mut back);
                assert_eq!(back, px, "round trip {px:?}");
            }
        }
    }

    fn reinhard_maps_statistics_to_the_target() {
        let (h, w) = (24usize, 20usize);
        // A pinkish tile and a purple one (realistic, in gamut).
        let tile = |seed: u64, base: [f64; 3], spread: f64| -> Vec<u8> {
            let mut rng = TestRng::new(seed);
            (0..h * w).flat_map(|_| { let t = rng.uniform() as f64; base.map(|b| (b + spread * t).round().clamp(0.0, 255.0) as u8) }).collect()
        };
        let a = tile(1, [200.0, 120.0, 170.0], 40.0);
        let b = tile(2, [120.0, 80.0, 160.0], 60.0);
        let target = reinhard::fit(&b);
        let mut out = a.clone();
        reinhard::apply(&target, &mut out);
        let got = reinhard::fit(&out);
        for ch in 0..6 {
            // 8-bit rounding moves each statistic by well under one L*a*b* unit.
            assert!((got[ch] - target[ch]).abs() < 0.5, "statistic {ch}: got {}, target {}", got[ch], target[ch]);
        }
        // Towards its own statistics an image is unchanged.
        let mut same = a.clone();
        reinhard::apply(&reinhard::fit(&a), &mut same);
        assert_eq!(same, a, "self-normalization");
        // A flat image is only shifted, never divided by a zero deviation.
        let mut flat = vec![150u8; 3 * 16];
        reinhard::apply(&target, &mut flat);
        let f = reinhard::fit(&flat);
        assert!((f[0] - target[0]).abs() < 0.6 && f[3] < 0.5, "flat {f:?}");
    }

    fn eigen_and_percentiles_hand_values() {
        let (vals, vecs) = symmetric_eigen3(&[[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0]]);
        assert_eq!(vals, [1.0, 2.0, 3.0]);
        assert_eq!(vecs, [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
        let a = [[4.0, 1.0, 0.5], [1.0, 3.0, 0.25], [0.5, 0.25, 2.0]];
        let (vals, vecs) = symmetric_eigen3(&a);
        for j in 0..3 {
            let v = vecs[j];
            for i in 0..3 {
                let av: f64 = (0..3).map(|k| a[i][k] * v[k]).sum();
                assert!((av - vals[j] * v[i]).abs() < 1e-12, "A·v{j} = λ·v{j}");
            }
            for k in 0..3 {
                let d: f64 = (0..3).map(|i| v[i] * vecs[k][i]).sum();
                assert!((d - if j == k { 1.0 } else { 0.0 }).abs() < 1e-12, "orthonormal {j} {k}");
            }
        }
        assert!(vals[0] <= vals[1] && vals[1] <= vals[2]);
        // numpy.percentile([1, 2, 3, 4], [50, 99]) = [2.5, 3.97]; of 0..=100, 1 and 99.
        let p = percentiles(&mut [4.0, 1.0, 3.0, 2.0], &[50.0, 99.0]);
        assert!((p[0] - 2.5).abs() < 1e-12 && (p[1] - 3.97).abs() < 1e-12, "{p:?}");
        let mut r: Vec<f64> = (0..=100).rev().map(|v| v as f64).collect();
        assert_eq!(percentiles(&mut r, &[1.0, 99.0]), vec![1.0, 99.0]);
    }

    fn macenko_recovers_synthetic_stains_and_maps_them() {
        let (h, e) = (unit(H_VEC), unit(E_VEC));
        let conc = synthetic_concentrations(40 * 40, 11);
        let img = synthetic_tile(h, e, &conc);
        let fit = macenko::fit(&img).expect("a stained tile has stains");
        for k in 0..3 {
            assert!((fit[k] - h[k]).abs() < 0.03, "haematoxylin {:?} vs {h:?}", &fit[0..3]);
            assert!((fit[3 + k] - e[k]).abs() < 0.03, "eosin {:?} vs {e:?}", &fit[3..6]);
        }
        // Other stains, same concentrations: normalizing the first tile to the
        // second's parameters gives the second tile, up to 8-bit rounding and estimation.
        let (h2, e2) = (unit([0.65, 0.70, 0.35]), unit([0.25, 0.75, 0.60]));
        let other = synthetic_tile(h2, e2, &conc);
        let target = macenko::fit(&other).unwrap();
        let mut out = img.clone();
        assert!(macenko::apply(&target, &mut out));
        let diff: Vec<f64> = out.iter().zip(&other).map(|(&a, &b)| (a as f64 - b as f64).abs()).collect();
        let mean = diff.iter().sum::<f64>() / diff.len() as f64;
        assert!(mean < 3.0, "mean absolute difference {mean} levels");
        // A blank tile has no tissue: no estimate, and it is left untouched.
        let mut blank = vec![250u8; 3 * 100];
        assert!(macenko::fit(&blank).is_none());
        assert!(!macenko::apply(&target, &mut blank));
        assert_eq!(blank, vec![250u8; 300]);
    }

    fn batch_fit_and_normalize_rows_flags_and_validation() {
        let (h, w) = (16usize, 16usize);
        let plane = h * w * 3;
        let stained = synthetic_tile(unit(H_VEC), unit(E_VEC), &synthetic_concentrations(h * w, 5));
        let mut images = stained.clone();
        images.extend(vec![255u8; plane]);
        let geom = ImageGeom::new(2, h, w, 3).unwrap();
        let mut rows = vec![f32::NAN; 2 * FIT_ROW];
        fit_images(StainMethod::Macenko, &geom, &images, &mut rows).unwrap();
        let want = macenko::fit(&stained).unwrap();
        assert_close(&rows[..8], &want, 1e-6, 1e-6, "row 0");
        assert_eq!(rows[8], 1.0);
        assert_eq!(&rows[FIT_ROW..], &[0.0; FIT_ROW], "blank tile: zeros, invalid");
        let target: StainParams = want;
        let mut untouched = vec![9u32; 2];
        normalize_images(StainMethod::Macenko, &target, &geom, &mut images, &mut untouched).unwrap();
        assert_eq!(untouched, vec![0, 1]);
        let mut bad = target;
        bad[0] = 2.0;
        let msg = normalize_images(StainMethod::Macenko, &bad, &geom, &mut images, &mut untouched).unwrap_err().message;
        assert!(msg.contains("haematoxylin vector must be unit length"), "{msg}");
        let msg = normalize_images(StainMethod::Reinhard, &[0.0, 0.0, 0.0, 1.0, -1.0, 1.0, 0.0, 0.0], &geom, &mut images, &mut untouched).unwrap_err().message;
        assert!(msg.contains("reinhard std[1] must be >= 0, got -1"), "{msg}");
        let grey = ImageGeom::new(1, 4, 4, 1).unwrap();
        let msg = fit_images(StainMethod::Reinhard, &grey, &[0; 16], &mut [0.0; FIT_ROW]).unwrap_err().message;
        assert!(msg.contains("3 channels (RGB), got c = 1"), "{msg}");
        assert!(StainMethod::from_code(3).unwrap_err().message.contains("got 3"));
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn stain_kernels_bit_identical_with_1_and_2_threads() {
    let (n, h, w) = (6usize, 32usize, 30usize);
    let plane = h * w * 3;
    let mut images = Vec::new();
    for i in 0..n {
        images.extend(synthetic_tile(unit(H_VEC), unit(E_VEC), &synthetic_concentrations(h * w, 100 + i as u64)));
    }
    let geom = ImageGeom::new(n, h, w, 3).unwrap();
    let ids: Vec<u32> = (0..n as u32).collect();
    let spec = TransformSpec { geom, seed: 3, epoch: 0, augment: Some(stain_config()), preprocess: Preprocess::MinMax };
    let target = macenko::fit(&images[..plane]).unwrap();
    let run_with = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut dst = nan_filled(geom.len());
            transform_images(&spec, &images, &ids, &mut dst);
            let mut rows = vec![0.0f32; n * FIT_ROW];
            fit_images(StainMethod::Reinhard, &geom, &images, &mut rows).unwrap();
            let mut normalized = images.clone();
            let mut untouched = vec![0u32; n];
            normalize_images(StainMethod::Macenko, &target, &geom, &mut normalized, &mut untouched).unwrap();
            (dst, rows, normalized)
        })
    };
    let (a, b) = (run_with(1), run_with(2));
    assert_bits_eq(&a.0, &b.0, "transform with stain jitter, 1 vs 2 threads");
    assert_bits_eq(&a.1, &b.1, "reinhard fit rows, 1 vs 2 threads");
    assert_eq!(a.2, b.2, "macenko normalization, 1 vs 2 threads");
}
