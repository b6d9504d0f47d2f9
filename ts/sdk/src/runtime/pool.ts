/**
 * Starts the pool workers for the threaded artifact ("variant B" of
 * shared/toolchain/RUST_WASM_THREADS.md §5): allocate each worker's stack and
 * TLS block, start it, wait until every worker reported 'started' (the
 * controller must yield here: a browser does not start a nested Worker until
 * its creator returns to the event loop), then build rayon's global pool.
 */
import { RuntimeError } from '../errors.js';
import { ErrorCode } from './error-codes.js';
import type { ThreadedExports } from './exports.js';
import type { WasmHeap } from './memory.js';
import { hostKind } from './platform.js';
import type { WorkerInit, WorkerReport } from './pool-protocol.js';

/** Stack per worker; kernels do not recurse deeply and never put big arrays on the stack. */
const WORKER_STACK_BYTES = 1 << 20;
const STARTUP_TIMEOUT_MS = 30_000;

interface PoolWorker {
  post(msg: WorkerInit): void;
  onReport(handler: (msg: WorkerReport) => void): void;
  onError(handler: (err: unknown) => void): void;
  unref(): void;
  terminate(): Promise<void>;
}

async function spawnWorker(url: URL): Promise<PoolWorker> {
  if (hostKind() === 'node') {
    const { Worker } = await import('node:worker_threads');
    // The worker runs only this package's script: it needs none of the
    // parent's CLI flags (some, like --input-type or loaders, would break it).
    // V8 flags such as --no-liftoff are process-wide and still apply.
    const w = new Worker(url, { execArgv: [] });
    return {
      post: (msg) => w.postMessage(msg),
      onReport: (h) => w.on('message', h),
      onError: (h) => w.on('error', h),
      // A parked worker must not keep the process alive, so that a script that
      // used the SDK exits by itself even without shutdown(). Called after all
      // listeners are attached: attaching a listener refs the worker again.
      unref: () => w.unref(),
      terminate: async () => {
        await w.terminate();
      },
    };
  }
  const w = new Worker(url, { type: 'module', name: 'lite-cnn-pool' });
  return {
    post: (msg) => w.postMessage(msg),
    onReport: (h) => w.addEventListener('message', (e: MessageEvent<WorkerReport>) => h(e.data)),
    onError: (h) => w.addEventListener('error', (e) => h(e.message)),
    unref: () => {},
    terminate: async () => w.terminate(),
  };
}

export class WorkerPool {
  private constructor(
    private readonly workers: PoolWorker[],
    readonly threads: number,
  ) {
    // A worker that traps after start-up is reported through the FAULT word
    // and its panic message in shared memory (Engine.call), not by message.
    for (const w of workers) w.unref();
  }

  static async start(opts: {
    module: WebAssembly.Module;
    heap: WasmHeap;
    exports: ThreadedExports;
    threads: number;
    workerUrl: URL;
  }): Promise<WorkerPool> {
    const { module, heap, exports: ex, threads } = opts;
    const tlsSize = ex.__tls_size.value as number;
    const tlsAlign = ex.__tls_align.value as number;
    const workers: PoolWorker[] = [];
    const started: Promise<void>[] = [];
    try {
      for (let index = 0; index < threads; index++) {
        const stack = heap.alloc(WORKER_STACK_BYTES, 16);
        const tls = heap.alloc(Math.max(tlsSize, 1), Math.max(tlsAlign, 1));
        const w = await spawnWorker(opts.workerUrl);
        workers.push(w);
        started.push(
          new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new RuntimeError(`Engine: pool worker ${index} did not start within ${STARTUP_TIMEOUT_MS} ms`)), STARTUP_TIMEOUT_MS);
            w.onReport((msg) => {
              if (msg.type === 'started') {
                clearTimeout(timer);
                resolve();
              } else if (msg.type === 'fault') {
                clearTimeout(timer);
                reject(new RuntimeError(`Engine: pool worker ${index} failed to start: ${msg.message}`));
              }
            });
            w.onError((err) => {
              clearTimeout(timer);
              reject(new RuntimeError(`Engine: pool worker ${index} failed to start: ${String(err)}`, { cause: err }));
            });
          }),
        );
        w.post({
          type: 'init',
          index,
          module,
          memory: heap.memory,
          stackTop: stack + WORKER_STACK_BYTES,
          tlsBase: tls,
          faultFlagPtr: ex.lc_fault_flag_ptr(),
          doneFlagPtr: ex.lc_done_flag_ptr(),
        });
      }
      await Promise.all(started);
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    const code = ex.lc_pool_build(threads);
    if (code !== ErrorCode.Ok) {
      await Promise.all(workers.map((w) => w.terminate()));
      const len = ex.lc_last_error_len();
      throw new RuntimeError(`Engine: building the thread pool failed: ${heap.utf8(ex.lc_last_error_ptr(), len)}`);
    }
    return new WorkerPool(workers, threads);
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
