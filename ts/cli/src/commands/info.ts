/** `lite-cnn info`: what the engine runs on here (artifact, threads, SIMD, versions). */
import { Command, InvalidArgumentError } from 'commander';
import { Engine, type ArtifactChoice } from '@lite-cnn/sdk';
import os from 'node:os';

export function parseThreads(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('start the compute engine and report how it runs on this machine')
    .option('--threads <n>', 'pool threads (default: available parallelism)', parseThreads)
    .option('--artifact <choice>', "wasm artifact: auto (relaxed SIMD where supported), exact, relaxed, or one by name", 'auto')
    .option('--json', 'print JSON instead of text')
    .action(async (opts: { threads?: number; artifact: ArtifactChoice; json?: boolean }) => {
      const engine = await Engine.create({ artifact: opts.artifact, ...(opts.threads === undefined ? {} : { threads: opts.threads }) });
      const info = {
        artifact: engine.artifact,
        threads: engine.threads,
        simd128: engine.simd,
        // Relaxed: fused multiply-adds, deterministic here but not bit-identical across machines.
        relaxedSimd: engine.relaxedSimd,
        node: process.version,
        cpu: os.cpus()[0]?.model ?? 'unknown',
        logicalCpus: os.availableParallelism(),
      };
      await engine.shutdown();
      if (opts.json) {
        console.log(JSON.stringify(info, null, 2));
      } else {
        for (const [k, v] of Object.entries(info)) console.log(`${k.padEnd(12)} ${String(v)}`);
      }
    });
}
