import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const sdk = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('process lifetime', () => {
  it('a Node process that used the SDK exits by itself, without shutdown()', () => {
    const script = `
      const { Engine } = await import(${JSON.stringify(sdk)});
      const e = await Engine.create({ threads: 2 });
      const c = e.gemm({ m: 1, k: 2, n: 1, a: new Float32Array([1, 2]), b: new Float32Array([3, 4]) });
      console.log('result', c[0]);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.error).toBeUndefined();
    expect(r.stdout).toContain('result 11');
    expect(r.status).toBe(0);
  });
});
