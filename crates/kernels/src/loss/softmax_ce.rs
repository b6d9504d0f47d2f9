//! Fused softmax cross-entropy over logits `[n, classes]`.
//!
//! Per row `i` (logits `z`, target distribution `t`, sample weight `w_i`):
//! - `p = softmax(z)`, computed stably: `m = max_j z_j`,
//!   `log_s = log(sum_j exp(z_j - m))` (as `ln_1p` of the sum without the max
//!   term, which is exactly 1, so confident rows keep their precision);
//! - `ce_i = sum_j t_j · (log_s - (z_j - m)) = -sum_j t_j · log p_j`;
//! - `loss = sum_i w_i · ce_i / n` (Keras `class_weight` semantics: divided by
//!   `n`, not by `sum_i w_i`);
//! - `dlogits_ij = w_i / n · (p_j · T_i - t_j)` with `T_i = sum_j t_j`
//!   (`T_i = 1` for labels and for normalized target rows, so this is the
//!   familiar `p - t`; the general form is the exact derivative of `ce_i`).
//!
//! Label smoothing `ls` (Keras `CategoricalCrossentropy(label_smoothing=ls)`):
//! `t = y · (1 - ls) + ls / classes`, where `y` is the one-hot row of a label
//! or the given target row. It is applied to integer labels too (Keras'
//! sparse loss has no such option; this equals smoothing the one-hot row).
//!
//! The class of a row (for the class weight and for the correct count) is its
//! label, or the argmax of its unsmoothed target row (Keras' `class_weight`
//! and `categorical_accuracy` do the same). A prediction is the argmax of the
//! logits; ties go to the first maximum in both cases.

use super::{finish, LossStats, MIN_CHUNK_ELEMS, PARALLEL_MIN_ELEMS};
use crate::chunked;
use crate::error::KernelError;

/// Sizes and options of a softmax cross-entropy call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoftmaxCeParams {
    pub n: usize,
    pub classes: usize,
    /// In `[0, 1]`; 0 disables smoothing.
    pub label_smoothing: f32,
}

impl SoftmaxCeParams {
    /// Validates sizes (`n >= 1`, `classes >= 2`, `n · classes` addressable)
    /// and `label_smoothing` (finite, in `[0, 1]`).
    pub fn new(n: usize, classes: usize, label_smoothing: f32) -> Result<Self, KernelError> {
        if n == 0 {
            return Err(KernelError::geometry(format!("softmax_cross_entropy: n must be >= 1, got 0 (classes={classes})")));
        }
        if classes < 2 {
            return Err(KernelError::geometry(format!(
                "softmax_cross_entropy: classes must be >= 2, got {classes} (n={n}); use binary_cross_entropy for one sigmoid output"
            )));
        }
        match n.checked_mul(classes).and_then(|l| l.checked_mul(4)) {
            Some(bytes) if bytes <= isize::MAX as usize => {}
            _ => return Err(KernelError::geometry(format!("softmax_cross_entropy: logits are too large (n={n}, classes={classes})"))),
        }
        if !(0.0..=1.0).contains(&label_smoothing) {
            return Err(KernelError::value(format!(
                "softmax_cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}"
            )));
        }
        Ok(Self { n, classes, label_smoothing })
    }

    /// Elements of `logits`, `dlogits` and dense targets: `n · classes`.
    pub fn logits_len(&self) -> usize {
        self.n * self.classes
    }
}

/// What each row is compared with.
#[derive(Debug, Clone, Copy)]
pub enum Targets<'a> {
    /// Class index per row, `[n]`, each in `0..classes`.
    Labels(&'a [u32]),
    /// Class index per row as `i32`, `[n]`, each in `0..classes`.
    LabelsI32(&'a [i32]),
    /// Target distribution per row, `[n, classes]` row-major (one-hot or soft
    /// rows, e.g. from mixup); values finite and `>= 0`.
    Dense(&'a [f32]),
}

/// Computes the loss, the correct count, and `dlogits`.
///
/// - `logits`: `[n, classes]` row-major
/// - `targets`: see `Targets`
/// - `class_weights`: `[classes]` (optional), finite and `>= 0`; a row's
///   weight is the weight of its class, 1 without weights
/// - `dlogits`: `[n, classes]`, fully overwritten with `d(loss)/d(logits)`
///
/// Errors (nothing is written): slice lengths that do not match `p`, a label
/// out of range (the message names the row, the label and the class count), a
/// negative or non-finite target or class weight.
pub fn softmax_cross_entropy(
    p: &SoftmaxCeParams,
    logits: &[f32],
    targets: Targets<'_>,
    class_weights: Option<&[f32]>,
    dlogits: &mut [f32],
) -> Result<LossStats, KernelError> {
    validate(["softmax_cross_entropy", "logits", "dlogits"], p, logits, targets, class_weights, dlogits)?;
    let ls = p.label_smoothing;
    Ok(per_row(p, logits, targets, class_weights, dlogits, |z, target, scale, d| row(z, target, ls, scale, d)))
}

/// The loss over the rows of `values` (`[n, classes]`, validated): `row`
/// gets a row, its target, `w_i / n` and its gradient row, and returns the
/// row's loss and predicted class. Rows run in fixed chunks, the f64 sums
/// combined in chunk order (`finish`), so the thread count changes nothing.
pub(super) fn per_row(
    p: &SoftmaxCeParams,
    values: &[f32],
    targets: Targets<'_>,
    class_weights: Option<&[f32]>,
    d: &mut [f32],
    row: impl Fn(&[f32], RowTarget<'_>, f32, &mut [f32]) -> (f64, usize) + Sync,
) -> LossStats {
    let classes = p.classes;
    let total = p.logits_len();
    let chunk = chunked::chunk_len(total, MIN_CHUNK_ELEMS, classes);
    let n_f = p.n as f32;
    let partials = chunked::zip_chunks_mut([d], chunk, total >= PARALLEL_MIN_ELEMS, |offset, [d]| {
        let row0 = offset / classes;
        let mut loss = 0.0f64;
        let mut correct = 0u64;
        for (r, d_row) in d.chunks_exact_mut(classes).enumerate() {
            let i = row0 + r;
            let target = RowTarget::of(targets, i, classes);
            let class = target.class();
            let w = class_weights.map_or(1.0, |cw| cw[class]);
            let (ce, predicted) = row(&values[i * classes..(i + 1) * classes], target, w / n_f, d_row);
            loss += w as f64 * ce;
            correct += (predicted == class) as u64;
        }
        (loss, correct)
    });
    finish(partials.as_slice(), p.n)
}

#[derive(Clone, Copy)]
pub(super) enum RowTarget<'a> {
    Class(usize),
    Dense(&'a [f32]),
}

impl<'a> RowTarget<'a> {
    /// Row `i` of `targets` (`classes` per row).
    #[inline]
    pub(super) fn of(targets: Targets<'a>, i: usize, classes: usize) -> Self {
        match targets {
            Targets::Labels(l) => RowTarget::Class(l[i] as usize),
            Targets::LabelsI32(l) => RowTarget::Class(l[i] as usize),
            Targets::Dense(t) => RowTarget::Dense(&t[i * classes..(i + 1) * classes]),
        }
    }

    /// The label, or the first argmax of the target row.
    #[inline]
    pub(super) fn class(&self) -> usize {
        match *self {
            RowTarget::Class(c) => c,
            RowTarget::Dense(t) => argmax(t),
        }
    }
}

/// Index of the first maximum.
#[inline]
pub(super) fn argmax(x: &[f32]) -> usize {
    let mut best = 0;
    for (j, &v) in x.iter().enumerate().skip(1) {
        if v > x[best] {
            best = j;
        }
    }
    best
}

/// One row: writes `scale · (p · T - t)` into `d` and returns `(ce, argmax z)`.
#[inline]
fn row(z: &[f32], target: RowTarget<'_>, ls: f32, scale: f32, d: &mut [f32]) -> (f64, usize) {
    let classes = z.len();
    let arg = argmax(z);
    let m = z[arg];
    // e_j = exp(z_j - m) into d; `rest` sums every term but the max one (= 1).
    let mut rest = 0.0f32;
    for (j, (dj, &zj)) in d.iter_mut().zip(z).enumerate() {
        let e = (zj - m).exp();
        *dj = e;
        if j != arg {
            rest += e;
        }
    }
    let log_s = rest.ln_1p();
    let inv_s = 1.0 / (1.0 + rest);
    let keep = 1.0 - ls;
    let spread = ls / classes as f32;
    let mut ce = 0.0f64;
    match target {
        RowTarget::Class(y) => {
            for (j, (dj, &zj)) in d.iter_mut().zip(z).enumerate() {
                let t = if j == y { keep + spread } else { spread };
                ce += t as f64 * (log_s as f64 - (zj as f64 - m as f64));
                *dj = scale * (*dj * inv_s - t);
            }
        }
        RowTarget::Dense(y) => {
            let total: f32 = y.iter().sum::<f32>() * keep + ls;
            for ((dj, &zj), &yj) in d.iter_mut().zip(z).zip(y) {
                let t = yj * keep + spread;
                ce += t as f64 * (log_s as f64 - (zj as f64 - m as f64));
                *dj = scale * (*dj * inv_s * total - t);
            }
        }
    }
    (ce, arg)
}

/// Lengths, labels, targets and class weights of a call of the kernel
/// `names[0]`, whose input and gradient slices are named `names[1]` and `names[2]`.
pub(super) fn validate(
    names: [&str; 3],
    p: &SoftmaxCeParams,
    logits: &[f32],
    targets: Targets<'_>,
    class_weights: Option<&[f32]>,
    dlogits: &[f32],
) -> Result<(), KernelError> {
    let [name, input, gradient] = names;
    let (n, classes) = (p.n, p.classes);
    let len = p.logits_len();
    let check_len = |field: &str, got: usize, want: usize, what: &str| {
        if got == want {
            Ok(())
        } else {
            Err(KernelError::geometry(format!(
                "{kernel}: {what_name} has {got} elements, expected {what} = {want} (n={n}, classes={classes})", kernel = name, what_name = field
            )))
        }
    };
    check_len(input, logits.len(), len, "n·classes")?;
    check_len(gradient, dlogits.len(), len, "n·classes")?;
    let out_of_range = |i: usize, label: i64| {
        KernelError::value(format!(
            "{name}: label {label} at row {i} is out of range for {classes} classes (expected 0..={})",
            classes - 1
        ))
    };
    match targets {
        Targets::Labels(l) => {
            check_len("labels", l.len(), n, "n")?;
            if let Some((i, &y)) = l.iter().enumerate().find(|&(_, &y)| y as usize >= classes) {
                return Err(out_of_range(i, y as i64));
            }
        }
        Targets::LabelsI32(l) => {
            check_len("labels", l.len(), n, "n")?;
            if let Some((i, &y)) = l.iter().enumerate().find(|&(_, &y)| y < 0 || y as usize >= classes) {
                return Err(out_of_range(i, y as i64));
            }
        }
        Targets::Dense(t) => {
            check_len("targets", t.len(), len, "n·classes")?;
            if let Some((k, &v)) = t.iter().enumerate().find(|&(_, &v)| !(v.is_finite() && v >= 0.0)) {
                return Err(KernelError::value(format!(
                    "{name}: target {v} at row {}, class {} must be finite and >= 0",
                    k / classes,
                    k % classes
                )));
            }
        }
    }
    if let Some(cw) = class_weights {
        check_len("class_weights", cw.len(), classes, "classes")?;
        if let Some((j, &v)) = cw.iter().enumerate().find(|&(_, &v)| !(v.is_finite() && v >= 0.0)) {
            return Err(KernelError::value(format!(
                "{name}: class weight {v} of class {j} must be finite and >= 0"
            )));
        }
    }
    Ok(())
}
