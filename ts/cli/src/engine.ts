/** The compute engine for a command: `--threads` or all cores, shared by every model the command makes. */
import { Engine, setDefaultEngine } from '@lite-cnn/sdk';

export async function startEngine(threads: number | null | undefined): Promise<Engine> {
  const engine = await Engine.create(threads == null ? {} : { threads });
  setDefaultEngine(engine);
  return engine;
}

export function describeEngine(e: Engine): { artifact: string; threads: number; simd128: boolean } {
  return { artifact: e.artifact, threads: e.threads, simd128: e.simd };
}
