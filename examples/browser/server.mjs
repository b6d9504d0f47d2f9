#!/usr/bin/env node
// The browser example's server: static files on 127.0.0.1, with the headers
// that make the page cross-origin isolated (so the SDK can use wasm threads):
//
//   Cross-Origin-Opener-Policy: same-origin
//   Cross-Origin-Embedder-Policy: require-corp
//   Cross-Origin-Resource-Policy: same-origin
//
// on EVERY response (page, scripts, workers, .wasm, models, data); the
// browser tests and the browser benchmark serve the repository with it too
// (`root`). Without --root it maps:
//
//   /sdk/...   -> ts/sdk/...   (only dist/: the SDK's browser build, its pool worker and the wasm artifacts)
//   /...       -> examples/browser/public/...   (`/` serves index.html)
//
//   node examples/browser/server.mjs [--port 8080] [--no-isolation] [--root DIR]
//
// --root DIR serves one directory as is (e.g. examples/browser/dist, made by
// scripts/bundle.mjs: the page with the SDK copied under sdk/).
// --no-isolation leaves the three headers out: the page is then not
// cross-origin isolated, has no SharedArrayBuffer, and the SDK falls back to
// the single-threaded wasm artifact (1 thread, same numbers).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
export const PUBLIC_DIR = resolve(here, 'public');
export const SDK_DIR = resolve(here, '../../ts/sdk');

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  // Served as bytes, never with Content-Encoding: the page decompresses it (readIdx).
  '.gz': 'application/gzip',
  '.safetensors': 'application/octet-stream',
};

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Maps a URL path to a file, or undefined when it is outside the served trees. With `root`, one tree (a bundle). */
function resolvePath(pathname, bundleRoot) {
  let root = bundleRoot ?? PUBLIC_DIR;
  let rel = pathname;
  if (!bundleRoot && pathname.startsWith('/sdk/')) {
    rel = pathname.slice('/sdk'.length);
    if (!rel.startsWith('/dist/')) return undefined;
    root = SDK_DIR;
  }
  if (rel.endsWith('/')) rel += 'index.html';
  const file = normalize(join(root, rel));
  return file.startsWith(root + sep) ? file : undefined;
}

/**
 * Starts the server; resolves to `{ url, port, close() }`. `port` 0 picks a
 * free port. `root` serves one directory instead (e.g. the bundle made by
 * scripts/bundle.mjs). `log` (default none) receives one line per request.
 */
export async function startExampleServer({ port = 0, host = '127.0.0.1', isolated = true, root, log } = {}) {
  const bundleRoot = root === undefined ? undefined : resolve(root);
  const server = createServer((req, res) => {
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const common = { 'Cache-Control': 'no-store', ...(isolated ? ISOLATION_HEADERS : {}) };
    const file = resolvePath(pathname, bundleRoot);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...common, Allow: 'GET, HEAD' }).end();
      return;
    }
    if (!file) {
      log?.(`403 ${pathname}`);
      res.writeHead(403, common).end();
      return;
    }
    let size;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      log?.(`404 ${pathname}`);
      res.writeHead(404, { ...common, 'Content-Type': 'text/plain; charset=utf-8' }).end(`not found: ${pathname}\n`);
      return;
    }
    log?.(`200 ${pathname}`);
    res.writeHead(200, { ...common, 'Content-Type': types[extname(file)] ?? 'application/octet-stream', 'Content-Length': size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, ok);
  });
  const actual = server.address().port;
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    // closeAllConnections: a browser may hold a preconnected socket that never
    // sends a request, and close() alone would wait for it to time out (a minute).
    close: () =>
      new Promise((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

function parseArgs(argv) {
  const opts = { port: 8080, isolated: true, verbose: false, root: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-isolation') opts.isolated = false;
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '--root') opts.root = argv[++i];
    else if (a === '--port' || a.startsWith('--port=')) {
      const v = a.includes('=') ? a.slice(7) : argv[++i];
      const p = Number(v);
      if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`--port: expected 0..65535, got ${v}`);
      opts.port = p;
    } else if (a === '--help' || a === '-h') {
      console.log('usage: node examples/browser/server.mjs [--port 8080] [--no-isolation] [--root DIR] [--verbose]');
      process.exit(0);
    } else throw new Error(`unknown option ${a} (try --help)`);
  }
  return opts;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(String(err.message ?? err));
    process.exit(2);
  }
  // The MNIST subset is a build output (npm run build); make it if missing.
  const { buildData } = await import('./scripts/build-data.mjs');
  if (!opts.root) buildData({ log: () => {} });
  if (!opts.root) for (const f of ['dist/index.browser.js', 'dist/lite-cnn-pool-worker.browser.js', 'dist/lite_cnn_threaded.wasm', 'dist/lite_cnn_single.wasm', 'dist/lite_cnn_threaded_relaxed.wasm', 'dist/lite_cnn_single_relaxed.wasm']) {
    if (!existsSync(join(SDK_DIR, f))) console.warn(`warning: ts/sdk/${f} is missing — run \`npm run build\` at the repository root`);
  }
  if (!existsSync(join(opts.root ?? PUBLIC_DIR, 'models/breakhis.safetensors'))) {
    console.warn('note: the default model public/models/breakhis.safetensors is missing; the page will say so and offer the file picker');
  }
  const s = await startExampleServer({ port: opts.port, isolated: opts.isolated, root: opts.root, log: opts.verbose ? (l) => console.log(l) : undefined });
  console.log(`lite-cnn browser example: ${s.url}/`);
  console.log(
    opts.isolated
      ? '  cross-origin isolated (COOP/COEP/CORP sent): threaded wasm artifact'
      : '  --no-isolation: no COOP/COEP/CORP headers, so no SharedArrayBuffer: single-threaded wasm artifact (fallback)',
  );
  console.log('  Ctrl+C to stop');
}
