import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const exampleDir = fileURLToPath(new URL('../../examples/node', import.meta.url));

describe('Node examples', () => {
  it('examples/node/mnist.ts trains the MNIST net and reports test accuracy', () => {
    const r = spawnSync('npm', ['run', 'mnist'], { cwd: exampleDir, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const m = /test accuracy ([\d.]+)%/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(96);
    expect(existsSync(`${exampleDir}/mnist.safetensors`)).toBe(true);
    rmSync(`${exampleDir}/mnist.safetensors`);
  });

  it('examples/node/gemm.mjs runs a GEMM on the pool', () => {
    const r = spawnSync(process.execPath, ['gemm.mjs'], { cwd: exampleDir, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('A·I + bias = [ 1.5, 1.5, 3.5, 3.5, 5.5, 5.5 ]');
  });
});
