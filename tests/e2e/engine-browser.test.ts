import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { Engine } from '@lite-cnn/sdk';
import { startExampleServer, type ExampleServer } from '../../examples/browser/server.mjs';
import { chromiumMissingReason, launchChromium } from './support/chromium.js';
// @ts-expect-error plain JS module shared with the page
import { gemmInputs } from './pages/gemm-inputs.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const missing = chromiumMissingReason();
if (missing) console.log(`skipping browser tests: ${missing}`);

interface PageResult {
  error?: string;
  crossOriginIsolated: boolean;
  pageCrossOriginIsolated: boolean;
  artifact: string;
  threads: number;
  simd: boolean;
  c: number[];
  pageTicks: number;
}

describe.skipIf(missing !== undefined)('engine in Chromium', () => {
  let isolated: ExampleServer;
  let plain: ExampleServer;
  let browser: BrowserContext;
  let nodeResult: Float32Array;

  beforeAll(async () => {
    isolated = await startExampleServer({ root: repoRoot, isolated: true });
    plain = await startExampleServer({ root: repoRoot, isolated: false });
    browser = await launchChromium();
    const engine = await Engine.create({ threads: 2 });
    nodeResult = engine.gemm(gemmInputs());
    await engine.shutdown();
  });
  afterAll(async () => {
    await browser?.close();
    await isolated?.close();
    await plain?.close();
  });

  async function run(base: string): Promise<PageResult> {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    await page.goto(`${base}/tests/e2e/pages/engine.html?threads=2`);
    await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, null, { timeout: 60_000 });
    const result = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as PageResult;
    await page.close();
    if (result.error) throw new Error(`page failed: ${result.error}\n${logs.join('\n')}`);
    return result;
  }

  it('runs the threaded artifact on 2 threads in a worker when cross-origin isolated', async () => {
    const r = await run(isolated.url);
    expect(r.pageCrossOriginIsolated).toBe(true);
    expect(r.crossOriginIsolated).toBe(true);
    expect(r.artifact).toBe('threaded-relaxed');
    expect(r.threads).toBe(2);
    expect(r.simd).toBe(true);
    expect(Float32Array.from(r.c)).toEqual(nodeResult);
  });

  it('falls back to the single-threaded artifact without the headers, with the same numbers', async () => {
    const r = await run(plain.url);
    expect(r.pageCrossOriginIsolated).toBe(false);
    expect(r.crossOriginIsolated).toBe(false);
    expect(r.artifact).toBe('single-relaxed');
    expect(r.threads).toBe(1);
    expect(Float32Array.from(r.c)).toEqual(nodeResult);
  });
});
