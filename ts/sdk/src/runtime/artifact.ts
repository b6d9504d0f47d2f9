/**
 * Choosing and loading the wasm artifact. Two choices, four artifacts:
 * - threads: `threaded` (SIMD128 + atomics, shared memory, rayon pool on
 *   workers; Node, and browsers when the page is cross-origin isolated) or
 *   `single` (SIMD128 without threads, for browsers without shared memory);
 * - arithmetic: exact (a multiply and an add, rounded separately: the same bits
 *   on every machine) or relaxed (`-relaxed`: the multiply-add is
 *   `f32x4.relaxed_madd`, one fused multiply-add where the CPU has FMA, about
 *   twice the GEMM throughput; deterministic on one machine for any thread
 *   count, but the last bits may differ between machines).
 * 'auto' picks relaxed where the engine supports relaxed SIMD; 'exact' keeps
 * the bit-reproducible artifacts.
 */
import { ConfigError, RuntimeError } from '../errors.js';
import { configuredAsset } from './asset-paths.js';
import { hostKind, sharedMemoryAvailable } from './platform.js';

export type ArtifactKind = 'threaded' | 'single' | 'threaded-relaxed' | 'single-relaxed';

/**
 * What `Engine.create({ artifact })` accepts: 'auto' (default: relaxed where
 * supported, threaded where shared memory is available), 'exact' or 'relaxed'
 * (that arithmetic, threads chosen as by 'auto'; 'relaxed' fails where relaxed
 * SIMD is unsupported), or one artifact by name.
 */
export type ArtifactChoice = 'auto' | 'exact' | 'relaxed' | ArtifactKind;

/** Where to get a module: a URL or path, its bytes, or a compiled module. */
export type WasmSource = string | URL | ArrayBuffer | Uint8Array | WebAssembly.Module;

export const ARTIFACT_FILES: Record<ArtifactKind, string> = {
  threaded: 'lite_cnn_threaded.wasm',
  single: 'lite_cnn_single.wasm',
  'threaded-relaxed': 'lite_cnn_threaded_relaxed.wasm',
  'single-relaxed': 'lite_cnn_single_relaxed.wasm',
};

const ARTIFACT_CHOICES: readonly ArtifactChoice[] = ['auto', 'exact', 'relaxed', 'threaded', 'single', 'threaded-relaxed', 'single-relaxed'];

export function isThreadedKind(kind: ArtifactKind): boolean {
  return kind === 'threaded' || kind === 'threaded-relaxed';
}

export function isRelaxedKind(kind: ArtifactKind): boolean {
  return kind === 'threaded-relaxed' || kind === 'single-relaxed';
}

/**
 * The artifacts' default location: beside the SDK's bundle in dist/. Each is
 * a literal `new URL('./….wasm', import.meta.url)`, the form webpack, Vite and
 * Rollup follow to emit the file and rewrite the URL; built lazily so that
 * merely importing the SDK touches no URL.
 */
function defaultUrl(kind: ArtifactKind): URL {
  switch (kind) {
    case 'threaded':
      return new URL('./lite_cnn_threaded.wasm', import.meta.url);
    case 'single':
      return new URL('./lite_cnn_single.wasm', import.meta.url);
    case 'threaded-relaxed':
      return new URL('./lite_cnn_threaded_relaxed.wasm', import.meta.url);
    case 'single-relaxed':
      return new URL('./lite_cnn_single_relaxed.wasm', import.meta.url);
  }
}

/** Why an artifact may be missing at its URL, for error messages. */
const MISSING_HINT =
  "if a bundler built the app, it did not emit the SDK's .wasm files (esbuild does not follow new URL(…, import.meta.url)): " +
  "serve @lite-cnn/sdk/dist/ and call setWasmPaths('<that folder>/'), or pass Engine.create({ wasm })";

/** The artifact to load, and for 'auto' the exact one to fall back to if the relaxed one cannot be had. */
export interface ArtifactPlan {
  kind: ArtifactKind;
  fallback?: ArtifactKind;
}

/**
 * Chooses the artifact. `located`: artifacts the app gave a location of its
 * own (Engine.create's `wasm`, or setWasmPaths by name): an app that placed
 * only the exact artifact gets the exact one from 'auto'.
 */
export async function chooseArtifact(requested: ArtifactChoice, threads: number | undefined, located: (kind: ArtifactKind) => boolean): Promise<ArtifactPlan> {
  if (!ARTIFACT_CHOICES.includes(requested)) {
    throw new ConfigError(`Engine: artifact must be one of '${ARTIFACT_CHOICES.join("', '")}', got '${String(requested)}'`);
  }
  const shared = sharedMemoryAvailable();
  const concrete = requested !== 'auto' && requested !== 'exact' && requested !== 'relaxed';
  if (concrete && isThreadedKind(requested) && !shared) {
    throw new ConfigError(
      `Engine: artifact '${requested}' needs SharedArrayBuffer; this page is not cross-origin isolated ` +
        '(serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)',
    );
  }
  const wantsRelaxed = requested === 'relaxed' || (concrete && isRelaxedKind(requested));
  if (wantsRelaxed && !(await relaxedSimdSupported())) {
    throw new ConfigError(
      `Engine: artifact '${requested}' needs relaxed SIMD (f32x4.relaxed_madd), which this WebAssembly engine does not validate ` +
        "(Chromium >= 114; Node 20 with V8's --experimental-wasm-relaxed-simd, which the SDK sets); use 'auto' or 'exact'",
    );
  }
  if (concrete) return { kind: requested };
  // One thread in a browser needs no pool; Node keeps the pool so that a
  // worker, not the caller, runs the kernels either way.
  const exact: ArtifactKind = !shared || (threads === 1 && hostKind() !== 'node') ? 'single' : 'threaded';
  const relaxed: ArtifactKind = exact === 'threaded' ? 'threaded-relaxed' : 'single-relaxed';
  if (requested === 'exact') return { kind: exact };
  if (requested === 'relaxed') return { kind: relaxed };
  const placedOnlyExact = located(exact) && !located(relaxed);
  return !placedOnlyExact && (await relaxedSimdSupported()) ? { kind: relaxed, fallback: exact } : { kind: exact };
}

/**
 * The smallest module using a relaxed-SIMD instruction: one function
 * returning `f32x4.relaxed_madd(0, 0, 0)`. Engines without relaxed SIMD
 * reject it, as they would the whole relaxed artifact.
 */
const RELAXED_PROBE = (() => {
  const zero = [0xfd, 0x0c, ...new Array<number>(16).fill(0)]; // v128.const 0
  const body = [0x00, ...zero, ...zero, ...zero, 0xfd, 0x85, 0x02, 0x0b]; // no locals; relaxed_madd; end
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b], // type: () -> v128
    ...[0x03, 0x02, 0x01, 0x00], // one function of type 0
    ...[0x0a, body.length + 2, 0x01, body.length, ...body],
  ]);
})();

let relaxedSupport: Promise<boolean> | undefined;

/** Whether this engine validates relaxed SIMD (Node: with the V8 flag the SDK sets). */
export function relaxedSimdSupported(): Promise<boolean> {
  relaxedSupport ??= applyNodeWasmFlags().then(() => WebAssembly.validate(RELAXED_PROBE));
  return relaxedSupport;
}

let nodeFlagsApplied = false;

/**
 * V8 flags for Node, set before the first compile; they are process-wide, so
 * they cover the pool workers' isolates too.
 * - `--no-liftoff`: Node 20's baseline wasm compiler (Liftoff) can compile the
 *   atomic wait loop inside std's Condvar (used by rayon) into a loop that
 *   never observes the notify: the process spins forever (docs/wasm-threads.md
 *   §8.1; a 30-line WAT reproduction hangs under Node 20 and passes with
 *   --no-liftoff). Compile time does not change because V8 compiles wasm
 *   lazily. Kept on newer Node until retested there.
 * - `--experimental-wasm-relaxed-simd`: Node 20's V8 (11.3) has relaxed SIMD
 *   behind this flag (on by default from V8 11.4, where the flag is accepted
 *   and changes nothing).
 */
async function applyNodeWasmFlags(): Promise<void> {
  if (nodeFlagsApplied || hostKind() !== 'node') return;
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--no-liftoff');
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
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
    const needs = ['SIMD128', ...(isThreadedKind(kind) ? ['threads'] : []), ...(isRelaxedKind(kind) ? ['relaxed SIMD'] : [])].join(', ');
    throw new RuntimeError(`Engine: the ${kind} wasm artifact does not compile on this engine (needs ${needs})`, { cause });
  }
}
