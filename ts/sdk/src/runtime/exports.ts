/**
 * The kernel module's exports as the runtime sees them (see
 * crates/kernels/src/ffi). Pointers and sizes are byte addresses / element
 * counts in linear memory; every `number`-returning call that can fail
 * returns an ErrorCode.
 */
export interface KernelExports {
  lc_alloc(size: number, align: number): number;
  lc_free(ptr: number, size: number, align: number): void;
  lc_build_flags(): number;
  lc_num_threads(): number;
  lc_install_panic_hook(): void;
  lc_panic_message_ptr(): number;
  lc_panic_message_len(): number;
  lc_last_error_ptr(): number;
  lc_last_error_len(): number;
  /** ErrorCode of the last failed call (for calls that return 0 on failure). */
  lc_last_error_code(): number;
  lc_gemm(m: number, k: number, n: number, aPtr: number, bPtr: number, biasPtr: number, cPtr: number): number;
  // One convolution pass, for benches/conv.mjs (crates/kernels/src/ffi/conv.rs).
  lc_conv2d_scratch_len(geomPtr: number): number;
  lc_conv2d(pass: number, geomPtr: number, aPtr: number, bPtr: number, outPtr: number, scratchPtr: number): number;
  // Training executor (crates/kernels/src/ffi/model.rs); handles are >= 1, 0 = failure.
  lc_model_new(descPtr: number): number;
  lc_model_free(handle: number): void;
  lc_model_replan(handle: number, maxBatch: number): number;
  lc_model_configure(handle: number, descPtr: number): number;
  lc_model_buffer_ptr(handle: number, which: number): number;
  lc_model_buffer_len(handle: number, which: number): number;
  lc_model_tensor_count(handle: number): number;
  lc_model_tensor_info(handle: number, index: number, outPtr: number): number;
  lc_model_step_shape(handle: number, step: number, outPtr: number): number;
  lc_model_activation_ptr(handle: number, step: number): number;
  lc_model_train_step(handle: number, argsPtr: number, outPtr: number): number;
  lc_model_train_step_prefetch(handle: number, argsPtr: number, outPtr: number, transformArgsPtr: number, mixArgsPtr: number): number;
  lc_model_forward(handle: number, xPtr: number, batch: number, training: number, keep: number): number;
  lc_model_backward_from(handle: number, xPtr: number, batch: number, from: number, dyPtr: number, stop: number, training: number): number;
  lc_model_backward_result_ptr(handle: number): number;
  lc_model_evaluate(handle: number, argsPtr: number, outPtr: number): number;
  lc_model_prepare_training(handle: number): number;
  /** Per-step timing on (1) or off (0); returns an ErrorCode. */
  lc_model_set_profiling(handle: number, on: number): number;
  /** Four f64 per step (forward ms, forward runs, backward ms, backward runs); returns the step count or -1. */
  lc_model_step_times(handle: number, outPtr: number, cap: number): number;
  lc_model_trainable_runs(handle: number, outPtr: number, cap: number): number;
  lc_abi_describe(lenOut: number): number;
  lc_rng_shuffle(ptr: number, n: number, seedLo: number, seedHi: number, stream: number): number;
  lc_rng_fill(ptr: number, len: number, seedLo: number, seedHi: number, stream: number, dist: number, a: number, b: number): number;
  // Image batches: augmentation + preprocessing (crates/kernels/src/ffi/image.rs); argsPtr -> IMAGE_TRANSFORM_ARGS.
  lc_image_transform(argsPtr: number): number;
  // MixUp / CutMix of a batch of inputs in place (crates/kernels/src/ffi/image.rs); argsPtr -> MIX_ARGS.
  lc_mix_batch(xPtr: number, argsPtr: number): number;
  // Stain normalization (crates/kernels/src/ffi/stain.rs); argsPtr -> STAIN_ARGS (ts/sdk/src/stain/abi.ts).
  lc_stain_fit(argsPtr: number): number;
  lc_stain_normalize(argsPtr: number): number;
  // Input check of inference (crates/kernels/src/ffi/scan.rs): writes the first non-finite index or -1 (i32) to outPtr.
  lc_first_nonfinite(ptr: number, len: number, outPtr: number): number;
}

/** Present only in the threaded artifact. */
export interface ThreadedExports extends KernelExports {
  __stack_pointer: WebAssembly.Global;
  __tls_size: WebAssembly.Global;
  __tls_align: WebAssembly.Global;
  __wasm_init_tls(tlsBase: number): void;
  lc_worker_park_and_run(): void;
  lc_pool_build(threads: number): number;
  lc_fault_flag_ptr(): number;
  lc_done_flag_ptr(): number;
  lc_probe_threads(outPtr: number, capacity: number): number;
}

/** Present only in the selftest artifact (tests/wasm). */
export interface SelftestExports extends ThreadedExports {
  lc_selftest_count(): number;
  lc_selftest_name(index: number, outPtr: number, capacity: number): number;
  lc_selftest_run(index: number): number;
  lc_selftest_trap_in_pool(): number;
}

/**
 * The exports that return an address in linear memory. wasm returns them as
 * i32, which JS reads as signed: past 2 GiB an address would come out
 * negative. (Addresses passed *into* wasm need nothing: ToInt32 keeps their bits.)
 */
const POINTER_RESULTS = ['lc_alloc', 'lc_panic_message_ptr', 'lc_last_error_ptr', 'lc_model_buffer_ptr', 'lc_model_activation_ptr', 'lc_model_backward_result_ptr', 'lc_abi_describe', 'lc_fault_flag_ptr', 'lc_done_flag_ptr'] as const;

/** The instance's exports with every address result read as unsigned, so the runtime may use all of wasm32's 4 GiB. */
export function kernelExports(instance: WebAssembly.Instance): KernelExports {
  const ex: Record<string, unknown> = { ...instance.exports };
  for (const name of POINTER_RESULTS) {
    const f = instance.exports[name];
    if (typeof f === 'function') ex[name] = (...args: number[]) => (f as (...a: number[]) => number)(...args) >>> 0;
  }
  return ex as unknown as KernelExports;
}

export const BuildFlag = { Simd128: 1, Threads: 2, Selftest: 4, RelaxedSimd: 8 } as const;

export function isThreaded(ex: KernelExports): ex is ThreadedExports {
  return (ex.lc_build_flags() & BuildFlag.Threads) !== 0;
}
