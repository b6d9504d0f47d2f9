//! C ABI of the training executor (crate::exec). Models are kept in a table
//! and named by handles (index + 1), so a stale or forged handle is an error,
//! never a wild pointer. Every call that computes runs through `pool::run`:
//! one entry into the thread pool per training step or inference batch.

use super::image::StagedBatch;
use super::memory::{check_byte_range, check_f32_range, read_struct};
use super::{fail, pool, status};
use crate::error::KernelError;
use crate::par;
use crate::exec::abi::{buffer_code, StepArgs, TensorInfo};
use crate::exec::spec::{train_code, ModelDesc, StepDesc, TrainDesc, MODEL_DESC_MAGIC, MODEL_DESC_VERSION};
use crate::exec::profile::Direction;
use crate::exec::{Mode, Model, Shape3, StepNode, StepSpec, StepStats, StepTargets, TrainSpec};
use crate::rng::CounterRng;
use std::sync::Mutex;

static MODELS: Mutex<Vec<Option<Box<Model>>>> = Mutex::new(Vec::new());

fn with_model<R>(handle: u32, f: impl FnOnce(&mut Model) -> Result<R, KernelError>) -> Result<R, KernelError> {
    let mut table = MODELS.lock().unwrap_or_else(|e| e.into_inner());
    let model = (handle as usize)
        .checked_sub(1)
        .and_then(|i| table.get_mut(i))
        .and_then(|m| m.as_deref_mut())
        .ok_or_else(|| KernelError::value(format!("model handle {handle} is not a live model")))?;
    f(model)
}


fn u32_slice<'a>(ptr: usize, len: usize, what: &str) -> Result<&'a [u32], KernelError> {
    check_f32_range(ptr, len, what)?;
    // SAFETY: range checked, 4-byte aligned.
    Ok(unsafe { std::slice::from_raw_parts(ptr as *const u32, len) })
}

fn f32_slice<'a>(ptr: usize, len: usize, what: &str) -> Result<&'a [f32], KernelError> {
    check_f32_range(ptr, len, what)?;
    // SAFETY: range checked, 4-byte aligned.
    Ok(unsafe { std::slice::from_raw_parts(ptr as *const f32, len) })
}

/// Plans a model from a `ModelDesc` at `desc_ptr`. Returns a handle (>= 1),
/// or 0 with the reason in `lc_last_error_*`.
#[no_mangle]
pub extern "C" fn lc_model_new(desc_ptr: usize) -> u32 {
    let built = (|| {
        let d: ModelDesc = read_struct(desc_ptr, "model: description")?;
        if d.magic != MODEL_DESC_MAGIC {
            return Err(KernelError::value(format!("model: description magic {:#x} is not {MODEL_DESC_MAGIC:#x}", d.magic)));
        }
        if d.version != MODEL_DESC_VERSION {
            return Err(KernelError::value(format!("model: description version {} is not {MODEL_DESC_VERSION}", d.version)));
        }
        let n = d.n_steps as usize;
        let stride = core::mem::size_of::<StepDesc>();
        check_f32_range(d.steps_ptr as usize, n * stride / 4, "model: steps")?;
        let ids = u32_slice(d.inputs_ptr as usize, d.n_inputs as usize, "model: step inputs")?;
        let nodes = (0..n)
            .map(|i| {
                let desc = read_struct::<StepDesc>(d.steps_ptr as usize + i * stride, "model: step")?;
                let (first, count) = (desc.first_input as usize, desc.n_inputs as usize);
                let inputs = first
                    .checked_add(count)
                    .and_then(|end| ids.get(first..end))
                    .ok_or_else(|| KernelError::value(format!("step {i}: inputs {first}..{first}+{count} lie outside the {} input ids", ids.len())))?;
                Ok(StepNode { spec: StepSpec::decode(i, &desc)?, inputs: inputs.iter().map(|&v| v as usize).collect() })
            })
            .collect::<Result<Vec<_>, KernelError>>()?;
        let input = Shape3 { h: d.in_h as usize, w: d.in_w as usize, c: d.in_c as usize };
        Model::new(input, d.max_batch as usize, &nodes)
    })();
    match built {
        Ok(model) => {
            let mut table = MODELS.lock().unwrap_or_else(|e| e.into_inner());
            let slot = table.iter().position(Option::is_none).unwrap_or_else(|| {
                table.push(None);
                table.len() - 1
            });
            table[slot] = Some(Box::new(model));
            slot as u32 + 1
        }
        Err(e) => {
            fail(e);
            0
        }
    }
}

/// Frees a model and all its buffers.
#[no_mangle]
pub extern "C" fn lc_model_free(handle: u32) {
    let mut table = MODELS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(slot) = (handle as usize).checked_sub(1).and_then(|i| table.get_mut(i)) {
        *slot = None;
    }
}

fn buffer(m: &mut Model, which: u32) -> Result<&mut Vec<f32>, KernelError> {
    Ok(match which {
        buffer_code::PARAMS => &mut m.params,
        buffer_code::STATE => &mut m.state,
        buffer_code::GRADS => &mut m.grads,
        buffer_code::SLOT1 => &mut m.slot1,
        buffer_code::SLOT2 => &mut m.slot2,
        v => return Err(KernelError::value(format!("model: unknown buffer {v}"))),
    })
}

/// Re-plans a model for batches of up to `max_batch` in place, keeping its
/// weights, moving statistics, training configuration and optimizer state
/// (see `Model::replan`). Addresses of the gradient and optimizer buffers
/// stay valid; activations of an earlier forward pass do not.
#[no_mangle]
pub extern "C" fn lc_model_replan(handle: u32, max_batch: u32) -> i32 {
    status(with_model(handle, |m| m.replan(max_batch as usize)))
}

/// Address of one of the model's flat buffers (0 on error). The address is
/// fixed for the model's life.
#[no_mangle]
pub extern "C" fn lc_model_buffer_ptr(handle: u32, which: u32) -> usize {
    with_model(handle, |m| {
        // Whoever gets the parameters or the moving statistics may write them:
        // fused inference refolds before its next pass.
        if which == buffer_code::PARAMS || which == buffer_code::STATE {
            m.weights_changed();
        }
        buffer(m, which).map(|b| b.as_ptr() as usize)
    })
    .unwrap_or_else(|e| {
        fail(e);
        0
    })
}

/// Length (in f32) of one of the model's flat buffers.
#[no_mangle]
pub extern "C" fn lc_model_buffer_len(handle: u32, which: u32) -> usize {
    with_model(handle, |m| buffer(m, which).map(|b| b.len())).unwrap_or(0)
}

#[no_mangle]
pub extern "C" fn lc_model_tensor_count(handle: u32) -> u32 {
    with_model(handle, |m| Ok(m.tensors().len() as u32)).unwrap_or(0)
}

/// Writes tensor `i`'s `TensorInfo` to `out_ptr`.
#[no_mangle]
pub extern "C" fn lc_model_tensor_info(handle: u32, i: u32, out_ptr: usize) -> i32 {
    status(with_model(handle, |m| {
        let t = *m.tensors().get(i as usize).ok_or_else(|| KernelError::value(format!("model: no tensor {i}")))?;
        check_f32_range(out_ptr, 5, "model: tensor info out")?;
        let info = TensorInfo { step: t.step as u32, role: t.role as u32, buffer: t.buffer as u32, offset: t.range.offset as u32, len: t.range.len as u32 };
        // SAFETY: range checked for 5 words.
        unsafe { core::ptr::write_unaligned(out_ptr as *mut TensorInfo, info) };
        Ok(())
    }))
}

/// Address of step `step`'s output (`[max_batch, h, w, c]`, valid for the
/// batch of the last pass; every step's after a `keep` forward, else only the
/// model output's), following Flatten to the buffer it reuses.
#[no_mangle]
pub extern "C" fn lc_model_activation_ptr(handle: u32, step: u32) -> usize {
    with_model(handle, |m| Ok(m.activation(step as usize)?.as_ptr() as usize)).unwrap_or_else(|e| {
        fail(e);
        0
    })
}

/// Sets the loss, optimizer, regularization and frozen steps from a `TrainDesc`.
#[no_mangle]
pub extern "C" fn lc_model_configure(handle: u32, desc_ptr: usize) -> i32 {
    status(with_model(handle, |m| {
        let d: TrainDesc = read_struct(desc_ptr, "train: description")?;
        let spec = TrainSpec::decode(&d)?;
        let weights = if d.class_weights_len == 0 {
            &[][..]
        } else {
            f32_slice(d.class_weights_ptr as usize, d.class_weights_len as usize, "train: class weights")?
        };
        let frozen = if d.frozen_len == 0 {
            Vec::new()
        } else {
            let flags = u32_slice(d.frozen_ptr as usize, d.frozen_len as usize, "train: frozen flags")?;
            if let Some(v) = flags.iter().find(|&&f| f > 1) {
                return Err(KernelError::value(format!("train: frozen flags must be 0 or 1, got {v}")));
            }
            flags.iter().map(|&f| f == 1).collect()
        };
        m.configure(spec, weights, &frozen)
    }))
}

/// Allocates the gradients and optimizer slots of the configured training
/// (zero-filled) if not yet done: before optimizer state is restored into them.
#[no_mangle]
pub extern "C" fn lc_model_prepare_training(handle: u32) -> i32 {
    status(with_model(handle, Model::prepare_training))
}

/// Writes up to `cap` trainable runs of the configured training to
/// `out_ptr` as `[param_offset, len, compact_offset]` u32 triples (where
/// each run's gradients and optimizer slots start); returns how many runs
/// there are (0 before configuration), or -1 with the reason in `lc_last_error_*`.
#[no_mangle]
pub extern "C" fn lc_model_trainable_runs(handle: u32, out_ptr: usize, cap: u32) -> i32 {
    with_model(handle, |m| {
        let runs = m.trainable_runs();
        let n = runs.len().min(cap as usize);
        if n > 0 {
            check_f32_range(out_ptr, 3 * n, "model: trainable runs out")?;
            // SAFETY: range checked for 3·n words, 4-byte aligned.
            let out = unsafe { std::slice::from_raw_parts_mut(out_ptr as *mut u32, 3 * n) };
            for (o, r) in out.chunks_exact_mut(3).zip(runs) {
                o.copy_from_slice(&[r.params.offset as u32, r.params.len as u32, r.at as u32]);
            }
        }
        Ok(runs.len() as i32)
    })
    .unwrap_or_else(|e| {
        fail(e);
        -1
    })
}

/// Turns per-step timing on (`on` = 1; from zero, so on again restarts it)
/// or off (0): see `exec::profile`. Returns an ErrorCode (0: ok).
#[no_mangle]
pub extern "C" fn lc_model_set_profiling(handle: u32, on: u32) -> i32 {
    status(with_model(handle, |m| {
        m.set_profiling(on != 0);
        Ok(())
    }))
}

/// Writes up to `cap` steps' times since profiling was turned on to `out_ptr`,
/// four f64 per step: forward milliseconds, forward runs, backward
/// milliseconds, backward runs (summed over the passes). Returns the number
/// of steps, or -1 (profiling off, or a bad range) with the reason in
/// `lc_last_error_*`.
#[no_mangle]
pub extern "C" fn lc_model_step_times(handle: u32, out_ptr: usize, cap: u32) -> i32 {
    with_model(handle, |m| {
        let times = m.step_times().ok_or_else(|| KernelError::value("model: profiling is off (turn it on with lc_model_set_profiling)"))?;
        let n = times.steps().min(cap as usize);
        if n > 0 {
            check_byte_range(out_ptr, 32 * n, "model: step times out")?;
        }
        let (fwd, bwd) = (Direction::Forward, Direction::Backward);
        for i in 0..n {
            let row = [times.ms(fwd)[i], times.runs(fwd)[i] as f64, times.ms(bwd)[i], times.runs(bwd)[i] as f64];
            for (k, v) in row.into_iter().enumerate() {
                // SAFETY: range checked for 32·n bytes; unaligned writes need no alignment.
                unsafe { core::ptr::write_unaligned((out_ptr + 32 * i + 8 * k) as *mut f64, v) };
            }
        }
        Ok(times.steps() as i32)
    })
    .unwrap_or_else(|e| {
        fail(e);
        -1
    })
}

/// Runs one training step; writes a `StepStats` to `out_ptr`.
#[no_mangle]
pub extern "C" fn lc_model_train_step(handle: u32, args_ptr: usize, out_ptr: usize) -> i32 {
    status(train_step_alongside(handle, args_ptr, out_ptr, None))
}

/// Runs one training step and, in the same call, the `lc_image_transform` at
/// `transform_args_ptr` (the next batch's inputs), followed by the
/// `lc_mix_batch` of its output at `mix_args_ptr` unless that is 0:
/// concurrently with the step on the pool, so they fill the step's idle
/// threads. Results are those of the calls made one after the other. Nothing
/// the staged work writes may overlap this step's inputs or targets.
#[no_mangle]
pub extern "C" fn lc_model_train_step_prefetch(handle: u32, args_ptr: usize, out_ptr: usize, transform_args_ptr: usize, mix_args_ptr: usize) -> i32 {
    status(StagedBatch::read(transform_args_ptr, mix_args_ptr).and_then(|t| train_step_alongside(handle, args_ptr, out_ptr, Some(t))))
}

fn train_step_alongside(handle: u32, args_ptr: usize, out_ptr: usize, prefetch: Option<StagedBatch>) -> Result<(), KernelError> {
    with_model(handle, |m| {
        let a: StepArgs = read_struct(args_ptr, "train_step: args")?;
        check_f32_range(out_ptr, core::mem::size_of::<StepStats>() / 4, "train_step: out")?;
        let batch = a.batch as usize;
        let x = f32_slice(a.x_ptr as usize, batch * m.input.size(), "train_step: x")?;
        let targets = step_targets(&a, batch, m.output().c)?;
        if let Some(t) = &prefetch {
            let targets_bytes = match &targets {
                StepTargets::Labels(l) => l.len() * 4,
                StepTargets::Dense(d) => d.len() * 4,
            };
            if t.writes_into(x.as_ptr() as usize, x.len() * 4) || t.writes_into(a.targets_ptr as usize, targets_bytes) {
                return Err(KernelError::pointer("train_step_prefetch: the staged transform or mixing writes into the step's inputs or targets"));
            }
        }
        let seed = (a.seed_hi as u64) << 32 | a.seed_lo as u64;
        let step = || m.train_step(x, targets, batch, a.lr, a.step, seed);
        let stats = match &prefetch {
            Some(t) => pool::run(|| par::join(step, || t.run()).0)??,
            None => pool::run(step)??,
        };
        // SAFETY: range checked above.
        unsafe { core::ptr::write_unaligned(out_ptr as *mut StepStats, stats) };
        Ok(())
    })
}

/// Loss and correct count of one batch in inference mode (`StepArgs`; `lr`,
/// `step` and the seed are ignored); writes a `StepStats` to `out_ptr`.
#[no_mangle]
pub extern "C" fn lc_model_evaluate(handle: u32, args_ptr: usize, out_ptr: usize) -> i32 {
    status(with_model(handle, |m| {
        let a: StepArgs = read_struct(args_ptr, "evaluate: args")?;
        check_f32_range(out_ptr, core::mem::size_of::<StepStats>() / 4, "evaluate: out")?;
        let batch = a.batch as usize;
        let x = f32_slice(a.x_ptr as usize, batch * m.input.size(), "evaluate: x")?;
        let targets = step_targets(&a, batch, m.output().c)?;
        let stats = pool::run(|| m.evaluate_batch(x, targets, batch))??;
        // SAFETY: range checked above.
        unsafe { core::ptr::write_unaligned(out_ptr as *mut StepStats, stats) };
        Ok(())
    }))
}

fn step_targets<'a>(a: &StepArgs, batch: usize, classes: usize) -> Result<StepTargets<'a>, KernelError> {
    match a.targets_kind {
        train_code::TARGETS_LABELS => Ok(StepTargets::Labels(u32_slice(a.targets_ptr as usize, batch, "labels")?)),
        train_code::TARGETS_DENSE => Ok(StepTargets::Dense(f32_slice(a.targets_ptr as usize, batch * classes, "targets")?)),
        v => Err(KernelError::value(format!("unknown targets kind {v} (1 = labels, 2 = dense)"))),
    }
}

/// Shuffles `n` u32 at `ptr` in place (Fisher-Yates driven by the library's
/// Philox generator keyed by `seed`, on `stream`): the order of an epoch.
#[no_mangle]
pub extern "C" fn lc_rng_shuffle(ptr: usize, n: usize, seed_lo: u32, seed_hi: u32, stream: u32) -> i32 {
    status((|| {
        check_f32_range(ptr, n, "rng_shuffle: values")?;
        // SAFETY: range checked.
        let v = unsafe { std::slice::from_raw_parts_mut(ptr as *mut u32, n) };
        let rng = CounterRng::new((seed_hi as u64) << 32 | seed_lo as u64, stream as u64);
        for i in (1..n).rev() {
            // 64 random bits per draw: the modulo bias is below 2^-32 for any n.
            let r = (rng.u32_at(2 * i as u64) as u64) << 32 | rng.u32_at(2 * i as u64 + 1) as u64;
            v.swap(i, (r % (i as u64 + 1)) as usize);
        }
        Ok(())
    })())
}

fn mode(training: u32) -> Mode {
    // Forward passes outside a training step never need dropout masks; a
    // training-mode forward uses batch statistics (e.g. for BN checks).
    if training != 0 {
        Mode::Train { seed: 0, step: 0 }
    } else {
        Mode::Infer
    }
}

/// Forward pass over `batch` samples at `x_ptr`; the output (and with
/// `keep = 1` every step's output) stays readable at `lc_model_activation_ptr`.
#[no_mangle]
pub extern "C" fn lc_model_forward(handle: u32, x_ptr: usize, batch: u32, training: u32, keep: u32) -> i32 {
    status(with_model(handle, |m| {
        let x = f32_slice(x_ptr, batch as usize * m.input.size(), "forward: x")?;
        pool::run_sized(m.forward_work(batch as usize), || m.forward(x, batch as usize, mode(training), keep != 0))?
    }))
}

/// After a forward over the same `x`: the gradient of `sum(dy · output of
/// layer from)` w.r.t. the output of layer `stop`, into the buffer at
/// `lc_model_backward_result_ptr`.
#[no_mangle]
pub extern "C" fn lc_model_backward_from(handle: u32, x_ptr: usize, batch: u32, from: u32, dy_ptr: usize, stop: u32, training: u32) -> i32 {
    status(with_model(handle, |m| {
        let x = f32_slice(x_ptr, batch as usize * m.input.size(), "backward: x")?;
        let from_len = m.step_output(from as usize).map_or(0, |s| s.size()) * batch as usize;
        let dy = f32_slice(dy_ptr, from_len.max(1), "backward: dy")?;
        pool::run(|| m.backward_from(x, batch as usize, from as usize, dy, stop as usize, mode(training)).map(|_| ()))?
    }))
}

#[no_mangle]
pub extern "C" fn lc_model_backward_result_ptr(handle: u32) -> usize {
    with_model(handle, |m| Ok(m.backward_result.as_ptr() as usize)).unwrap_or(0)
}

/// Fills `len` f32 at `ptr` from the library's counter-based generator
/// (Philox4x32-10 keyed by `seed`, on stream `stream`): `dist` 1 = uniform in
/// `[a, b)`, 2 = normal with mean `a` and standard deviation `b`, 3 = normal
/// truncated to two standard deviations (Keras' truncated normal, by redraw).
#[no_mangle]
pub extern "C" fn lc_rng_fill(ptr: usize, len: usize, seed_lo: u32, seed_hi: u32, stream: u32, dist: u32, a: f32, b: f32) -> i32 {
    let r = (|| {
        check_f32_range(ptr, len, "rng_fill: out")?;
        // SAFETY: range checked.
        let out = unsafe { std::slice::from_raw_parts_mut(ptr as *mut f32, len) };
        let rng = CounterRng::new((seed_hi as u64) << 32 | seed_lo as u64, stream as u64);
        match dist {
            1 => {
                rng.fill_uniform(0, out);
                out.iter_mut().for_each(|v| *v = a + (b - a) * *v);
            }
            2 => rng.fill_normal(0, a, b, out),
            3 => {
                // Values beyond 2σ are redrawn from counters past the end of `out`.
                let mut next = len as u64;
                for (i, v) in out.iter_mut().enumerate() {
                    let mut z = rng.normal_f32(i as u64);
                    while z.abs() > 2.0 {
                        z = rng.normal_f32(next);
                        next += 1;
                    }
                    *v = a + b * z;
                }
            }
            v => return Err(KernelError::value(format!("rng_fill: unknown distribution {v}"))),
        }
        Ok(())
    })();
    status(r)
}

/// Writes step `step`'s per-sample output shape `[h, w, c]` (u32) to `out_ptr`.
#[no_mangle]
pub extern "C" fn lc_model_step_shape(handle: u32, step: u32, out_ptr: usize) -> i32 {
    status(with_model(handle, |m| {
        let o = m.step_output(step as usize).ok_or_else(|| KernelError::value(format!("model: no step {step}")))?;
        check_f32_range(out_ptr, 3, "model: step shape out")?;
        let s = [o.h as u32, o.w as u32, o.c as u32];
        // SAFETY: range checked for 3 words.
        unsafe { core::ptr::copy_nonoverlapping(s.as_ptr(), out_ptr as *mut u32, 3) };
        Ok(())
    }))
}

/// The executor's ABI (structs, offsets, codes) as JSON, for the TypeScript
/// mirror's test: writes the length to `len_out` and returns the address.
#[no_mangle]
pub extern "C" fn lc_abi_describe(len_out: usize) -> usize {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = TEXT.get_or_init(crate::exec::abi::describe);
    if check_f32_range(len_out, 1, "abi: len out").is_err() {
        return 0;
    }
    // SAFETY: range checked for one word.
    unsafe { core::ptr::write_unaligned(len_out as *mut u32, text.len() as u32) };
    text.as_ptr() as usize
}
