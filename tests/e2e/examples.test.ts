import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
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
    // BackupAndRestore deletes its backup at the end of a complete run.
    expect(readdirSync(`${exampleDir}/mnist-backup`)).toEqual([]);
  });

  it('examples/node/mnist.ts killed after its first epoch continues from the backup when run again', { timeout: 240_000 }, async () => {
    const backupFile = `${exampleDir}/mnist-backup/backup.safetensors`;
    rmSync(`${exampleDir}/mnist-backup`, { recursive: true, force: true });
    // Its own process group, so the kill reaches tsx's node process under npm.
    const child = spawn('npm', ['run', 'mnist'], { cwd: exampleDir, stdio: 'ignore', detached: true });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const started = Date.now();
    while (!existsSync(backupFile) && Date.now() - started < 120_000) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(backupFile)).toBe(true);
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
    const r = spawnSync('npm', ['run', 'mnist'], { cwd: exampleDir, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('resumed from mnist-backup/ after epoch 1');
    expect(r.stdout).toMatch(/Epoch 2\/2/);
    expect(r.stdout).not.toMatch(/Epoch 1\/2/);
    expect(Number(/test accuracy ([\d.]+)%/.exec(r.stdout)![1])).toBeGreaterThan(96);
    expect(existsSync(backupFile)).toBe(false);
    rmSync(`${exampleDir}/mnist.safetensors`);
  });

  it('examples/node/gemm.mjs runs a GEMM on the pool', () => {
    const r = spawnSync(process.execPath, ['gemm.mjs'], { cwd: exampleDir, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('A·I + bias = [ 1.5, 1.5, 3.5, 3.5, 5.5, 5.5 ]');
  });
});
