/**
 * A block of f32 in wasm memory that kernels read and write in place: the
 * zero-copy way to feed kernels. `view()` re-creates its Float32Array when
 * memory has grown, so never keep a view across calls that may allocate.
 */
import { RuntimeError } from '../errors.js';
import type { WasmHeap } from './memory.js';

export class F32Buffer {
  private freed = false;

  /** @internal use Engine.allocF32 */
  constructor(
    private readonly heap: WasmHeap,
    readonly ptr: number,
    readonly length: number,
  ) {}

  /** A live view of the buffer's elements. */
  view(): Float32Array {
    this.assertLive();
    return this.heap.f32(this.ptr, this.length);
  }

  /** Copies `data` in; its length must equal the buffer's. */
  set(data: ArrayLike<number>): this {
    if (data.length !== this.length) {
      throw new RuntimeError(`F32Buffer.set: expected ${this.length} elements, got ${data.length}`);
    }
    this.view().set(data);
    return this;
  }

  /** A copy of the contents that stays valid after the buffer is freed. */
  toArray(): Float32Array {
    return this.view().slice();
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.heap.free(this.ptr, this.length * 4, 16);
  }

  private assertLive(): void {
    if (this.freed) throw new RuntimeError('F32Buffer: used after free()');
  }
}
