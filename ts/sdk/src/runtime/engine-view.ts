/** Whether a typed array is a view into an engine's wasm memory (so a kernel can use it in place). */
import type { Engine } from './engine.js';

export function isEngineView(engine: Engine, view: ArrayBufferView): boolean {
  const buf = engine.memory.memory.buffer;
  // Shared memory hands out a new SharedArrayBuffer object after growing; older views stay valid.
  const shared = typeof SharedArrayBuffer !== 'undefined' && buf instanceof SharedArrayBuffer && view.buffer instanceof SharedArrayBuffer;
  return (view.buffer === buf || shared) && view.byteOffset + view.byteLength <= buf.byteLength && view.byteLength > 0;
}
