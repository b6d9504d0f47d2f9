/**
 * Choosing and loading the wasm artifact:
 * - `threaded`: SIMD128 + atomics, shared memory, rayon pool on workers. Used in
 *   Node, and in browsers when the page is cross-origin isolated.
 * - `single`: SIMD128 without threads, for browsers without shared memory.
 */
import { ConfigError, RuntimeError } from '../errors.js';
import { hostKind, sharedMemoryAvailable } from './platform.js';

export type ArtifactKind = 'threaded' | 'single';

/** Where to get a module: a URL or path, its bytes, or a compiled module. */
export type WasmSource = string | URL | ArrayBuffer | Uint8Array | WebAssembly.Module;

const defaultUrls: Record<ArtifactKind, URL> = {
  threaded: new URL('../wasm/lite_cnn_threaded.wasm', import.meta.url),
  single: new URL('../wasm/lite_cnn_single.wasm', import.meta.url),
};

export function chooseArtifact(requested: ArtifactKind | 'auto', threads: number | undefined): ArtifactKind {
  const shared = sharedMemoryAvailable();
  if (requested === 'threaded' && !shared) {
    throw new ConfigError(
      "Engine: artifact 'threaded' needs SharedArrayBuffer; this page is not cross-origin isolated " +
        '(serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)',
    );
  }
  if (requested !== 'auto') return requested;
  if (!shared) return 'single';
  // One thread in a browser needs no pool; Node keeps the pool so that a
  // worker, not the caller, runs the kernels either way.
  return threads === 1 && hostKind() !== 'node' ? 'single' : 'threaded';
}

let nodeFlagsApplied = false;

/**
 * Node 20's baseline wasm compiler (Liftoff) can compile the atomic wait loop
 * inside std's Condvar (used by rayon) into a loop that never observes the
 * notify: the process spins forever (shared/toolchain/RUST_WASM_THREADS.md
 * §8.1; a 30-line WAT reproduction hangs under Node 20 and passes with
 * --no-liftoff). Turning Liftoff off before the first compile avoids it and
 * covers worker isolates too; compile time does not change because V8
 * compiles wasm lazily. Kept on newer Node until retested there.
 */
async function applyNodeWasmFlags(): Promise<void> {
  if (nodeFlagsApplied || hostKind() !== 'node') return;
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--no-liftoff');
  nodeFlagsApplied = true;
}

async function readBytes(source: string | URL): Promise<Uint8Array> {
  const url = typeof source === 'string' && !/^[a-z]+:/i.test(source) ? source : new URL(source);
  if (hostKind() === 'node' && (typeof url === 'string' || url.protocol === 'file:')) {
    const fs = await import('node:fs/promises');
    try {
      return await fs.readFile(url);
    } catch (cause) {
      throw new RuntimeError(`Engine: cannot read the wasm artifact at ${String(url)} (run \`npm run build\`)`, { cause });
    }
  }
  const res = await fetch(url);
  if (!res.ok) throw new RuntimeError(`Engine: fetching the wasm artifact ${String(url)} failed: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function compileArtifact(kind: ArtifactKind, source: WasmSource | undefined): Promise<WebAssembly.Module> {
  await applyNodeWasmFlags();
  const src = source ?? defaultUrls[kind];
  if (src instanceof WebAssembly.Module) return src;
  const bytes = src instanceof ArrayBuffer || src instanceof Uint8Array ? src : await readBytes(src);
  try {
    return await WebAssembly.compile(bytes as BufferSource);
  } catch (cause) {
    throw new RuntimeError(`Engine: the ${kind} wasm artifact does not compile on this engine (needs SIMD128${kind === 'threaded' ? ' and threads' : ''})`, { cause });
  }
}
