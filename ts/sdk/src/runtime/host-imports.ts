/**
 * What the kernel module imports from its host, the same for the engine's
 * instance and every pool worker's: the linear memory, and a millisecond
 * clock for per-step profiling (`Model.profile`; crates/kernels/src/exec/profile.rs).
 * `performance.now` exists on the main thread and in workers, Node and
 * browsers alike; the kernels only take differences on one thread.
 */
export function hostImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  return { env: { memory, lc_now_ms: () => performance.now() } };
}
