// The inference benchmark in Chromium: lite-cnn (threaded artifact, in a
// Worker), TF.js wasm and onnxruntime-web in the same cross-origin isolated
// page (browser/index.html), 1 and 2 threads each, one library at a time.
//   node benches/peers/browser-run.mjs [--quick] [--no-write]   (after npm run build)
// Serves the repository root on 127.0.0.1 with COOP/COEP (the browser
// example's server, examples/browser/server.mjs, with --root) and drives Debian's /usr/bin/chromium
// through playwright-core (tests/e2e/support/chromium.ts): no browser is
// downloaded. The ONNX models are exported at run time (export_onnx.py, needs
// Debian's python3-torch) into benches/peers/.generated/ (git-ignored) and
// removed afterwards; without torch the onnxruntime-web rows are skipped.
// Prints a markdown table and writes it into benches/README.md between
// <!-- browser:begin --> and <!-- browser:end -->.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';
import { startExampleServer } from '../../examples/browser/server.mjs';
import { machineBusyMs } from './measure.mjs';
import { settings } from './timing.mjs';
import { fmt, saveSection } from '../readme-section.mjs';

register();
const { chromiumMissingReason, launchChromium, CHROMIUM } = await import('../../tests/e2e/support/chromium.ts');

const quick = process.argv.includes('--quick');
const S = settings(quick);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GENERATED = fileURLToPath(new URL('./.generated/', import.meta.url));
const PYTHON = '/usr/bin/python3';

/** CPU time (ms) of this process and all its descendants (Chromium and its children), from /proc. */
function treeCpuMs() {
  try {
    const procs = new Map();
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const s = readFileSync(`/proc/${d}/stat`, 'utf8');
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        procs.set(Number(d), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) * 10 });
      } catch {}
    }
    const mine = new Set([process.pid]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const [pid, p] of procs) if (!mine.has(pid) && mine.has(p.ppid)) mine.add(pid), (grew = true);
    }
    let total = 0;
    for (const pid of mine) total += procs.get(pid)?.cpu ?? 0;
    return total;
  } catch {
    return null;
  }
}

const missing = chromiumMissingReason();
if (missing) {
  console.log(`browser benchmark skipped: ${missing}`);
  process.exit(0);
}
if (!existsSync(fileURLToPath(new URL('../../ts/sdk/dist/index.browser.js', import.meta.url)))) {
  console.log('browser benchmark skipped: ts/sdk/dist is missing (npm run build first)');
  process.exit(0);
}

let onnx = { skipped: `${PYTHON} cannot import torch (the ONNX models are exported with Debian's python3-torch)` };
if (existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch']).status === 0) {
  const r = spawnSync(PYTHON, [fileURLToPath(new URL('./export_onnx.py', import.meta.url)), GENERATED], { encoding: 'utf8' });
  onnx = r.status === 0 ? JSON.parse(r.stdout.trim().split('\n').pop()) : { skipped: `export_onnx.py failed: ${r.stderr.trim().split('\n').pop()}` };
}

const loads = new Map(); // `${lib}|${threads}|${label}` -> other load, cores
const open = new Map();
const server = await startExampleServer({ root: ROOT, isolated: true });
const context = await launchChromium();
let result;
let browserVersion = '?';
try {
  const page = await context.newPage();
  browserVersion = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent.match(/Chrom(e|ium)\/([\d.]+)/)?.[2] ?? '?'));
  await page.exposeFunction('__mark', (m) => {
    const key = `${m.lib}|${m.threads}|${m.begin ?? m.end}`;
    if (m.begin) open.set(key, { busy: machineBusyMs(), tree: treeCpuMs(), t: performance.now() });
    else {
      const b = open.get(key);
      const wall = performance.now() - b.t;
      const busy = machineBusyMs();
      const tree = treeCpuMs();
      loads.set(key, b.busy === null || tree === null || wall < 100 ? null : Math.max(0, (busy - b.busy - (tree - b.tree)) / wall));
    }
  });
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  page.on('console', (m) => console.error(`page: ${m.text()}`));
  page.on('crash', () => console.error('page crashed'));
  context.on('close', () => console.error('browser context closed'));
  page.setDefaultTimeout(0);
  const opt = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : null);
  // --only NAME / --skip NAME: runners whose worker file name contains NAME (lite-cnn, tfjs, ort).
  const only = opt('--only');
  const skip = opt('--skip');
  await page.goto(`${server.url}/benches/peers/browser/index.html?quick=${quick ? 1 : 0}${only ? `&only=${only}` : ''}${skip ? `&skip=${skip}` : ''}`);
  await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 30 * 60_000, polling: 1000 });
  result = await page.evaluate(() => window.__result);
} finally {
  await context.close();
  await server.close();
  rmSync(GENERATED, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------

const NETS = ['mnist', 'breakhis'];
const rows = [];
for (const r of result.results) {
  const skippedOrt = r.lib.startsWith('onnxruntime') && onnx.skipped;
  for (const net of NETS) {
    const x = r.results?.find((y) => y.net === net);
    const variants = r.lib === 'lite-cnn' ? [['lite-cnn', 'infer1', 'infer32', ''], ['lite-cnn `predict()`', 'predict1', 'predict32', ' predict']] : [[r.lib, 'infer1', 'infer32', '']];
    for (const [label, k1, k32, suffix] of variants) {
      rows.push({
        net, label, threads: r.threads, lib: r.lib,
        threadsUsed: r.threadsUsed,
        error: skippedOrt ? onnx.skipped : r.error ?? x?.[k1]?.error ?? x?.[k32]?.error,
        b1: x?.[k1], b32: x?.[k32],
        load: [`${net}${suffix} b1`, `${net}${suffix} b32`].map((l) => loads.get(`${r.lib}|${r.threads}|${l}`)),
      });
    }
  }
}
const base = (net, threads) => rows.find((x) => x.net === net && x.threads === threads && x.label === 'lite-cnn');
const ratio = (c, b) => (!c || c.error || !b || b.error ? '—' : `${(c.ms / b.ms).toFixed(2)}x`);
const byLib = (lib) => result.results.filter((r) => r.lib === lib);
const used = (lib) => byLib(lib).map((r) => (r.error ? `${r.threads}: failed` : `${r.threads} -> ${r.threadsUsed ?? '?'}${lib === 'lite-cnn' ? ` (\`${r.backend}\`)` : ''}`)).join(', ');

const out = [];
out.push(`### Recorded run (\`node benches/peers/browser-run.mjs\`${quick ? ' --quick' : ''}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)`);
out.push('');
out.push(`Chromium ${browserVersion} (${CHROMIUM}, headless), page cross-origin isolated: ${result.crossOriginIsolated}, navigator.hardwareConcurrency ${result.hardwareConcurrency}; ${os.cpus()[0]?.model ?? '?'}; served from 127.0.0.1 with COOP/COEP.`);
out.push(`Each library in its own dedicated Worker, one at a time. Median of >= ${S.RUNS} timed runs after ${S.WARMUP} warm-up runs (short ones continue until ${S.MIN_MS} ms). Inference only (batch 1 and 32); ratios are **peer / lite-cnn at the same thread count** (> 1: lite-cnn is faster).`);
const ltc = byLib('lite-cnn')[0];
const tfw = byLib('TF.js wasm')[0];
const orw = byLib('onnxruntime-web wasm')[0];
out.push(`Threads requested -> used: lite-cnn (SIMD ${ltc?.simd ?? '?'}) ${used('lite-cnn')}; ${tfw ? `TF.js ${tfw.version ?? '?'} wasm (SIMD ${tfw.simd ?? '?'}, multithread support ${tfw.multithreadSupport ?? '?'}) ${used('TF.js wasm')}; ` : ''}onnxruntime-web ${orw?.version ?? '?'} ${used('onnxruntime-web wasm')}.`);
const cores = tfw?.logicalCores;
if (cores && byLib('TF.js wasm').some((r) => r.logicalCores && r.logicalCores.reportedToTfjs !== r.logicalCores.real)) {
  out.push(`TF.js wasm sizes its thread pool as min(requested, navigator.hardwareConcurrency / 2); with ${cores.real} logical cores that is 1 thread whatever is requested, so its worker reports 2 x threads cores to TF.js (its 1-thread row is what TF.js does by default here).`);
}
out.push('');
out.push('| net | library | threads | infer b1 ms | infer b32 ms | infer b1 ratio | infer b32 ratio | other load, cores (b1, b32) |');
out.push('|---|---|---:|---:|---:|---:|---:|---|');
for (const net of NETS) {
  for (const threads of [1, 2]) {
    for (const x of rows.filter((y) => y.net === net && y.threads === threads)) {
      const b = base(net, threads);
      const lite = x.label === 'lite-cnn';
      const cell = (c) => (x.error ? 'not run' : c?.error ? 'fails' : fmt(c?.ms));
      out.push(`| ${net} | ${x.label} | ${threads} | ${cell(x.b1)} | ${cell(x.b32)} | ${lite ? '1.00x' : ratio(x.b1, b?.b1)} | ${lite ? '1.00x' : ratio(x.b32, b?.b32)} | ${x.load.map((l) => (l === null || l === undefined ? 'n/a' : l.toFixed(2))).join(', ')} |`);
    }
  }
}
const errors = [...new Set(rows.filter((x) => x.error).map((x) => `${x.lib} (${x.threads} thread${x.threads > 1 ? 's' : ''}): ${x.error}`))];
if (errors.length) {
  out.push('');
  out.push('Not run or failed:');
  for (const e of errors) out.push(`- ${e.split('\n')[0].slice(0, 300)}`);
}
out.push('');
out.push('"other load": CPU used by processes other than this runner and its Chromium during the measurement, in cores of 2 (not re-measured here; n/a: under 100 ms). `lite-cnn predict()` is the public `Sequential.predict` (input copied in per call); its ratio is to the executor `forward` row above it.');
const text = out.join('\n');
console.log(text);
saveSection('browser', text);
