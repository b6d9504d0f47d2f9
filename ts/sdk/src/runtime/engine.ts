/**
 * The wasm compute engine: one module instance on one linear memory, plus (for
 * the threaded artifact) a pool of workers serving rayon. Every kernel call is
 * synchronous; the controller waits while the pool computes. In a browser the
 * engine must live in a dedicated Worker: the page's main thread may not block.
 */
import { ConfigError, DataError, RuntimeError, ShapeError } from '../errors.js';
import { assetNamed } from './asset-paths.js';
import { chooseArtifact, compileArtifact, isThreadedKind, type ArtifactChoice, type ArtifactKind, type WasmSource } from './artifact.js';
import { F32Buffer } from './buffer.js';
import { ErrorCode, errorCodeName } from './error-codes.js';
import { BuildFlag, isThreaded, kernelExports, type KernelExports } from './exports.js';
import { checkMaxMemoryMiB, createMemory, defaultMaxMemoryMiB, WasmHeap } from './memory.js';
import { defaultThreadCount, hostKind } from './platform.js';
import { WorkerPool } from './pool.js';
import { hostImports } from './host-imports.js';

export interface EngineOptions {
  /** Pool threads (default: the machine's available parallelism; 1 is allowed). */
  threads?: number;
  /**
   * 'auto' (default): relaxed SIMD where the WebAssembly engine supports it,
   * threaded where shared memory is available. 'exact': the artifacts without
   * relaxed SIMD, whose results are the same bits on every machine. 'relaxed':
   * relaxed SIMD or a ConfigError. Or one artifact by name.
   */
  artifact?: ArtifactChoice;
  /** Where the wasm modules come from for this engine (a URL or path, bytes or a compiled module); default: setWasmPaths, else beside the SDK. */
  wasm?: Partial<Record<ArtifactKind, WasmSource>>;
  /** The pool worker script for this engine; default: setWasmPaths, else lite-cnn-pool-worker(.browser).js beside the SDK. */
  workerUrl?: string | URL;
  /**
   * The most linear memory the engine may grow to, in MiB (16 to 4096,
   * wasm32's limit). Default: 4096 in Node, 1024 in browsers (a shared
   * memory reserves its maximum up front). Memory grows on demand; this only
   * caps it.
   */
  maxMemoryMiB?: number;
}

/** Per pool thread: evidence of a private stack and TLS block. */
export interface ThreadProbe {
  index: number;
  stackAddress: number;
  tlsAddress: number;
  /** The thread-local value read back after every thread wrote its own. */
  tlsValue: number;
}

/** Row-major `C[m×n] = A[m×k]·B[k×n] (+ bias[n])`. */
export interface GemmArgs {
  m: number;
  k: number;
  n: number;
  a: Float32Array;
  b: Float32Array;
  bias?: Float32Array;
}

const MAX_THREADS = 64;

export class Engine {
  private state: 'live' | 'dead' | 'closed' = 'live';
  private deathReason = '';

  private constructor(
    readonly artifact: ArtifactKind,
    private readonly ex: KernelExports,
    private readonly heap: WasmHeap,
    private readonly pool: WorkerPool | undefined,
  ) {}

  static async create(options: EngineOptions = {}): Promise<Engine> {
    if (hostKind() === 'browser-main') {
      throw new ConfigError(
        "Engine: create the engine inside a dedicated Worker, not on the page's main thread " +
          '(kernel calls block while the pool computes, and the main thread may never block)',
      );
    }
    if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1 || options.threads > MAX_THREADS)) {
      throw new ConfigError(`Engine: threads must be an integer from 1 to ${MAX_THREADS}, got ${options.threads}`);
    }
    const located = (kind: ArtifactKind) => options.wasm?.[kind] !== undefined || assetNamed(kind);
    const plan = await chooseArtifact(options.artifact ?? 'auto', options.threads, located);
    let artifact = plan.kind;
    let module: WebAssembly.Module;
    try {
      module = await compileArtifact(artifact, options.wasm?.[artifact]);
    } catch (err) {
      // 'auto' and a deployment without the relaxed files: the exact ones still run.
      if (!plan.fallback || !(err instanceof RuntimeError)) throw err;
      artifact = plan.fallback;
      module = await compileArtifact(artifact, options.wasm?.[artifact]);
    }
    const maxMemoryMiB = checkMaxMemoryMiB(options.maxMemoryMiB ?? defaultMaxMemoryMiB(hostKind()));
    const memory = createMemory(isThreadedKind(artifact), maxMemoryMiB);
    let instance: WebAssembly.Instance;
    try {
      instance = await WebAssembly.instantiate(module, hostImports(memory));
    } catch (cause) {
      throw new RuntimeError(`Engine: instantiating the ${artifact} artifact failed`, { cause });
    }
    const ex = kernelExports(instance);
    ex.lc_install_panic_hook();
    const heap = new WasmHeap(memory, ex, maxMemoryMiB * 2 ** 20);
    let pool: WorkerPool | undefined;
    if (isThreadedKind(artifact)) {
      if (!isThreaded(ex)) throw new RuntimeError('Engine: the threaded artifact was built without threads');
      pool = await WorkerPool.start({
        module,
        heap,
        exports: ex,
        threads: options.threads ?? Math.min(await defaultThreadCount(), MAX_THREADS),
        workerUrl: options.workerUrl,
      });
    }
    return new Engine(artifact, ex, heap, pool);
  }

  /** Threads the kernels run on (1 for the single-threaded artifact). */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** True when the kernels use SIMD128. */
  get simd(): boolean {
    return (this.ex.lc_build_flags() & BuildFlag.Simd128) !== 0;
  }

  /**
   * True when the multiply-adds are relaxed SIMD (`f32x4.relaxed_madd`): the
   * `-relaxed` artifacts, deterministic on this machine but not bit-identical
   * to the exact artifacts or to other machines.
   */
  get relaxedSimd(): boolean {
    return (this.ex.lc_build_flags() & BuildFlag.RelaxedSimd) !== 0;
  }

  /** Bytes of linear memory in use (it grows on demand). */
  get memoryBytes(): number {
    return this.heap.bytes;
  }

  /** The most linear memory the engine may grow to, in bytes (`maxMemoryMiB`). */
  get maxMemoryBytes(): number {
    return this.heap.maxBytes;
  }

  /** Low-level kernel exports, for tests and advanced use; prefer the typed methods. */
  get raw(): KernelExports {
    this.assertUsable();
    return this.ex;
  }

  /** @internal heap access for SDK modules built on the engine. */
  get memory(): WasmHeap {
    return this.heap;
  }

  /** Allocates `length` f32 in wasm memory (uninitialised). */
  allocF32(length: number): F32Buffer {
    this.assertUsable();
    if (!Number.isInteger(length) || length < 1) throw new ShapeError(`Engine.allocF32: length must be a positive integer, got ${length}`);
    return new F32Buffer(this.heap, this.heap.alloc(length * 4, 16), length);
  }

  /** `C = A·B (+ bias)` on copies of the inputs; returns a new array. */
  gemm(args: GemmArgs): Float32Array {
    const { m, k, n } = args;
    const expect = (name: string, arr: Float32Array | undefined, len: number) => {
      if (arr && arr.length !== len) throw new ShapeError(`gemm: ${name} must have ${len} elements for m=${m}, k=${k}, n=${n}, got ${arr.length}`);
    };
    expect('a', args.a, m * k);
    expect('b', args.b, k * n);
    expect('bias', args.bias, n);
    const bufs = [this.allocF32(m * k), this.allocF32(k * n), this.allocF32(m * n)] as const;
    const bias = args.bias ? this.allocF32(n).set(args.bias) : undefined;
    try {
      bufs[0].set(args.a);
      bufs[1].set(args.b);
      this.gemmInto({ m, k, n, a: bufs[0], b: bufs[1], c: bufs[2], ...(bias ? { bias } : {}) });
      return bufs[2].toArray();
    } finally {
      for (const b of bufs) b.free();
      bias?.free();
    }
  }

  /** `C = A·B (+ bias)` in place on buffers in wasm memory (no copies). */
  gemmInto(args: { m: number; k: number; n: number; a: F32Buffer; b: F32Buffer; c: F32Buffer; bias?: F32Buffer }): void {
    const { m, k, n } = args;
    this.call('gemm', () => this.ex.lc_gemm(m, k, n, args.a.ptr, args.b.ptr, args.bias?.ptr ?? 0, args.c.ptr));
  }

  /** Runs a probe on every pool thread at once (threaded artifact only). */
  probeThreads(): ThreadProbe[] {
    this.assertUsable();
    if (!isThreaded(this.ex)) return [];
    const ex = this.ex;
    const cap = this.threads;
    const out = this.heap.alloc(cap * 16, 16);
    try {
      let count = 0;
      this.call('probeThreads', () => {
        const r = ex.lc_probe_threads(out, cap);
        if (r < 0) return -r;
        count = r;
        return ErrorCode.Ok;
      });
      const words = this.heap.u32(out, count * 4);
      return Array.from({ length: count }, (_, i) => ({
        index: words[i * 4]!,
        stackAddress: words[i * 4 + 1]!,
        tlsAddress: words[i * 4 + 2]!,
        tlsValue: words[i * 4 + 3]!,
      }));
    } finally {
      this.heap.free(out, cap * 16, 16);
    }
  }

  /**
   * Runs one export and turns its outcome into an exception: validation
   * failures carry the kernel's message; a trap (here or in a pool worker)
   * leaves the engine unusable, since the pool's state is then unknown.
   */
  call(what: string, fn: () => number): void {
    this.assertUsable();
    let code: number;
    try {
      code = fn();
    } catch (cause) {
      this.die(`${what} trapped: ${this.panicMessage() || String(cause)}`);
      throw new RuntimeError(`Engine: ${this.deathReason}`, { cause });
    }
    if (code === ErrorCode.Ok) return;
    if (code === ErrorCode.WorkerFault) {
      this.die(`a pool worker trapped during ${what}: ${this.panicMessage() || 'no message'}`);
      throw new RuntimeError(`Engine: ${this.deathReason}`);
    }
    const message = this.heap.utf8(this.ex.lc_last_error_ptr(), this.ex.lc_last_error_len());
    if (code === ErrorCode.OutOfMemory) throw this.heap.outOfMemory(`${message} [${errorCodeName(code)}]`);
    const ErrorClass = code === ErrorCode.InvalidGeometry ? ShapeError : code === ErrorCode.InvalidValue ? DataError : RuntimeError;
    throw new ErrorClass(`${message} [${errorCodeName(code)}]`);
  }

  /** Ends the pool workers; the engine cannot be used afterwards. */
  async shutdown(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await this.pool?.terminate();
  }

  private panicMessage(): string {
    const len = this.ex.lc_panic_message_len();
    return len > 0 ? this.heap.utf8(this.ex.lc_panic_message_ptr(), len) : '';
  }

  private die(reason: string): void {
    this.state = 'dead';
    this.deathReason = reason;
  }

  private assertUsable(): void {
    if (this.state === 'closed') throw new RuntimeError('Engine: used after shutdown()');
    if (this.state === 'dead') throw new RuntimeError(`Engine: unusable after an earlier failure (${this.deathReason}); create a new engine`);
  }
}
