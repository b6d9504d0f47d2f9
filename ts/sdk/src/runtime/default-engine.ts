/**
 * The engine models use when none is given: created on first use with the
 * default options (all cores, threaded where possible) and shared by every
 * model in this JS realm, since each engine owns a pool of workers. Pass
 * `{ engine }` to a model to choose explicitly; `setDefaultEngine` replaces it.
 */
import { Engine } from './engine.js';

let shared: Promise<Engine> | undefined;

export function defaultEngine(): Promise<Engine> {
  shared ??= Engine.create();
  return shared;
}

/** Makes `engine` the one models use when none is given. */
export function setDefaultEngine(engine: Engine): void {
  shared = Promise.resolve(engine);
}
