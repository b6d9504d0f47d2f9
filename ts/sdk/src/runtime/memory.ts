/**
 * Linear memory shared by the controller and the pool workers, and views into
 * it. Memory can grow during any allocation (from any thread); typed-array
 * views made before a growth cover only the old size (shared memory) or are
 * detached (unshared memory), so views are re-created whenever the buffer
 * changed, never cached across calls that may allocate.
 */
import { ConfigError, OutOfMemoryError } from '../errors.js';
import type { KernelExports } from './exports.js';
import type { HostKind } from './platform.js';

const PAGE = 65536;
const MIB = 2 ** 20;
/** wasm32's whole address space, the modules' --max-memory (cargo-config/wasm-common.toml). */
export const WASM32_MAX_MEMORY_MIB = 4096;
/**
 * The default maximum: all of wasm32 in Node (VGG16's weights with their
 * gradients and Adam moments alone take 2.15 GB); 1 GiB in browsers, where a shared memory reserves its maximum
 * up front and a tab (or a 32-bit or mobile browser) may not get more.
 */
export function defaultMaxMemoryMiB(host: HostKind): number {
  return host === 'node' ? WASM32_MAX_MEMORY_MIB : 1024;
}
const INITIAL_PAGES = 32;
const MIN_MAX_MEMORY_MIB = 16;

/** `maxMemoryMiB` checked: an integer from 16 to 4096. */
export function checkMaxMemoryMiB(mib: number): number {
  if (!Number.isInteger(mib) || mib < MIN_MAX_MEMORY_MIB || mib > WASM32_MAX_MEMORY_MIB) {
    throw new ConfigError(`Engine: maxMemoryMiB must be an integer from ${MIN_MAX_MEMORY_MIB} to ${WASM32_MAX_MEMORY_MIB} (wasm32's 4 GiB), got ${mib}`);
  }
  return mib;
}

export function createMemory(shared: boolean, maxMemoryMiB: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: (maxMemoryMiB * MIB) / PAGE, shared });
}

export class WasmHeap {
  private buffer: ArrayBufferLike | undefined;
  private f32Cache: Float32Array | undefined;
  private u8Cache: Uint8Array | undefined;
  private i32Cache: Int32Array | undefined;

  constructor(
    readonly memory: WebAssembly.Memory,
    private readonly exports: KernelExports,
    /** The most the memory may grow to, in bytes. */
    readonly maxBytes: number,
  ) {}

  private refresh(): void {
    const buf = this.memory.buffer;
    if (buf !== this.buffer || buf.byteLength !== this.f32Cache?.byteLength) {
      this.buffer = buf;
      this.f32Cache = new Float32Array(buf);
      this.u8Cache = new Uint8Array(buf);
      this.i32Cache = new Int32Array(buf);
    }
  }

  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** A Float32Array over `[ptr, ptr + 4·length)`, valid until memory grows. */
  f32(ptr: number, length: number): Float32Array {
    this.refresh();
    return this.f32Cache!.subarray(ptr >>> 2, (ptr >>> 2) + length);
  }

  u8(ptr: number, length: number): Uint8Array {
    this.refresh();
    return this.u8Cache!.subarray(ptr, ptr + length);
  }

  i32(): Int32Array {
    this.refresh();
    return this.i32Cache!;
  }

  u32(ptr: number, length: number): Uint32Array {
    this.refresh();
    return new Uint32Array(this.memory.buffer, ptr, length);
  }

  utf8(ptr: number, length: number): string {
    // TextDecoder refuses views of SharedArrayBuffer: copy first.
    return new TextDecoder().decode(this.u8(ptr, length).slice());
  }

  /** Allocates `bytes` aligned to `align`; throws OutOfMemoryError when memory is exhausted. */
  alloc(bytes: number, align = 16): number {
    const ptr = this.exports.lc_alloc(bytes, align);
    if (ptr === 0) throw this.outOfMemory(`Engine: out of wasm memory allocating ${bytes} bytes`);
    return ptr;
  }

  /** The error for an allocation that failed: `what` plus the engine's memory and limit. */
  outOfMemory(what: string): OutOfMemoryError {
    return new OutOfMemoryError(`${what} (engine memory is ${this.bytes} of at most ${this.maxBytes} bytes; Engine.create({ maxMemoryMiB }) sets the maximum, up to 4096)`, this.maxBytes, this.bytes);
  }

  free(ptr: number, bytes: number, align = 16): void {
    this.exports.lc_free(ptr, bytes, align);
  }
}
