/**
 * The pool worker script (Node worker_threads or a browser Worker); built as
 * dist/lite-cnn-pool-worker.js and dist/lite-cnn-pool-worker.browser.js. It instantiates the
 * kernel module on the shared memory, sets up its own stack and TLS block
 * before any Rust code runs, reports 'started', then parks in
 * `lc_worker_park_and_run`, where it serves the rayon pool for good.
 *
 * If the worker traps, the controller is blocked inside wasm waiting for the
 * call to finish and would never see an 'error' event. So the trap is caught
 * here: set the fault word and notify the word the controller waits on; the
 * controller then returns an error (crates/kernels/src/ffi/pool.rs).
 */
import type { ThreadedExports } from './exports.js';
import type { WorkerInit, WorkerPort } from './pool-protocol.js';
import { workerPort } from './worker-port.node.js';
import { hostImports } from './host-imports.js';

function run(init: WorkerInit, post: WorkerPort['post']): void {
  const { module, memory } = init;
  const instance = new WebAssembly.Instance(module, hostImports(memory));
  const ex = instance.exports as unknown as ThreadedExports;
  // Order matters (toolchain doc §4): the stack first, then the private TLS
  // block; until both are set no Rust code may run in this instance.
  ex.__stack_pointer.value = init.stackTop;
  ex.__wasm_init_tls(init.tlsBase);
  post({ type: 'started', index: init.index });
  try {
    ex.lc_worker_park_and_run();
  } catch (err) {
    const words = new Int32Array(memory.buffer);
    Atomics.store(words, init.faultFlagPtr >>> 2, 1);
    Atomics.notify(words, init.doneFlagPtr >>> 2);
    post({ type: 'fault', index: init.index, message: err instanceof Error ? err.message : String(err) });
  }
}

// No top-level await (minifiers and CommonJS consumers reject it): the port
// is ready synchronously, and a host queues the init message until then.
const p = workerPort();
p.onInit((init) => {
  // Leave the message handler first so 'started' is flushed before blocking.
  setTimeout(() => run(init, p.post), 0);
});
