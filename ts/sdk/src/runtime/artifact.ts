/**
 * Choosing and loading the wasm artifact:
 * - `threaded`: SIMD128 + atomics, shared memory, rayon pool on workers. Used in
 *   Node, and in browsers when the page is cross-origin isolated.
 * - `single`: SIMD128 without threads, for browsers without shared memory.
 */
import { ConfigError, RuntimeError } from '../errors.js';
import { configuredAsset } from './asset-paths.js';
import { hostKind, sharedMemoryAvailable } from './platform.js';

export type ArtifactKind = 'threaded' | 'single';

/** Where to get a module: a URL or path, its bytes, or a compiled module. */
export type WasmSource = string | URL | ArrayBuffer | Uint8Array | WebAssembly.Module;

const ARTIFACT_FILES: Record<ArtifactKind, string> = {
  threaded: 'lite_cnn_threaded.wasm',
  single: 'lite_cnn_single.wasm',
};

/**
 * The artifacts' default location: beside the SDK's bundle in dist/. Each is
 * a literal `new URL('./….wasm', import.meta.url)`, the form webpack, Vite and
 * Rollup follow to emit the file and rewrite the URL; built lazily so that
 * merely importing the SDK touches no URL.
 */
function defaultUrl(kind: ArtifactKind): URL {
  return kind === 'threaded' ? new URL('./lite_cnn_threaded.wasm', import.meta.url) : new URL('./lite_cnn_single.wasm', import.meta.url);
}

/** Why an artifact may be missing at its URL, for error messages. */
const MISSING_HINT =
  "if a bundler built the app, it did not emit the SDK's .wasm files (esbuild does not follow new URL(…, import.meta.url)): " +
  "serve @lite-cnn/sdk/dist/ and call setWasmPaths('<that folder>/'), or pass Engine.create({ wasm })";

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
 * notify: the process spins forever (docs/wasm-threads.md
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

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

async function readBytes(kind: ArtifactKind, source: string | URL): Promise<Uint8Array> {
  const url = typeof source === 'string' && !/^[a-z]+:/i.test(source) ? source : new URL(source);
  const what = `the ${kind} wasm artifact`;
  if (hostKind() === 'node' && (typeof url === 'string' || url.protocol === 'file:')) {
    const fs = await import('node:fs/promises');
    try {
      return await fs.readFile(url);
    } catch (cause) {
      throw new RuntimeError(
        `Engine: cannot read ${what} at ${String(url)} (${(cause as Error).message}); in a checkout run \`npm run build\`, ` +
          'otherwise the package is installed incompletely or setWasmPaths() points elsewhere',
        { cause },
      );
    }
  }
  let res: Response;
  try {
    res = await fetch(url);
  } catch (cause) {
    throw new RuntimeError(
      `Engine: fetching ${what} from ${String(url)} failed (${(cause as Error).message}): from another origin the file needs CORS, ` +
        'and Cross-Origin-Resource-Policy when the page is cross-origin isolated',
      { cause },
    );
  }
  if (!res.ok) throw new RuntimeError(`Engine: fetching ${what} from ${res.url || String(url)} failed: HTTP ${res.status}; ${MISSING_HINT}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (!WASM_MAGIC.every((b, i) => bytes[i] === b)) {
    const type = res.headers.get('content-type') ?? 'no content type';
    throw new RuntimeError(
      `Engine: ${String(url)} did not return ${what}: expected a wasm module, got ${bytes.length} bytes of ${type} ` +
        `(a host that answers unknown paths with its index page?); ${MISSING_HINT}`,
    );
  }
  return bytes;
}

export async function compileArtifact(kind: ArtifactKind, source: WasmSource | undefined): Promise<WebAssembly.Module> {
  await applyNodeWasmFlags();
  const src = source ?? configuredAsset(kind, ARTIFACT_FILES[kind]) ?? defaultUrl(kind);
  // Locations first: WebAssembly.Module is structurally empty, so an
  // instanceof test on it would narrow every other object type away.
  if (typeof src === 'string' || src instanceof URL) return compileBytes(kind, await readBytes(kind, src));
  if (src instanceof WebAssembly.Module) return src;
  return compileBytes(kind, src);
}

async function compileBytes(kind: ArtifactKind, bytes: ArrayBuffer | Uint8Array): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes as BufferSource);
  } catch (cause) {
    throw new RuntimeError(`Engine: the ${kind} wasm artifact does not compile on this engine (needs SIMD128${kind === 'threaded' ? ' and threads' : ''})`, { cause });
  }
}
