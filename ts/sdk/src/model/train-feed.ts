/**
 * One epoch's training batches for fit, each with its inputs in engine memory
 * when its step runs.
 *
 * With prefetch, batch i+1's inputs are prepared by the engine in the same
 * call as step i (`lc_model_train_step_prefetch`: a rayon join, so the image
 * transform of the next batch fills the pool threads the step leaves idle)
 * into the other of two input buffers: the model's input view and one more
 * buffer of a batch's size (`PrefetchBuffer`, allocated at the first
 * prefetch, freed by `dispose`). The batches, their order and their values
 * are those of the plain loop, because an image's transform depends only on
 * (seed, epoch, sample id) and the step only on its inputs: the overlap
 * changes when the work runs, never what it computes.
 */
import type { CompiledModel, StepInput, StepStats } from '../exec/compiled-model.js';
import type { Engine } from '../runtime/engine.js';
import type { DataBatch } from './data.js';

/** fit's second input buffer: `capacity` samples of `perSample` floats, allocated when first used. */
export class PrefetchBuffer {
  private ptr = 0;
  private bytes = 0;

  constructor(
    private readonly engine: Engine,
    private readonly capacity: number,
    private readonly perSample: number,
  ) {}

  /** The buffer's address (allocating it on first use: do this before taking views, as growing memory detaches them). */
  address(): number {
    if (this.ptr === 0) {
      const bytes = this.capacity * this.perSample * 4;
      this.ptr = this.engine.memory.alloc(bytes, 16);
      this.bytes = bytes;
    }
    return this.ptr;
  }

  /** A live view of the first `n` samples. */
  view(n: number): Float32Array {
    return this.engine.memory.f32(this.address(), n * this.perSample);
  }

  /** Frees the buffer (fit calls this when it ends, however it ends). */
  dispose(): void {
    if (this.ptr === 0) return;
    const { ptr, bytes } = this;
    this.ptr = 0;
    this.engine.memory.free(ptr, bytes, 16);
  }

  /** Whether the buffer is allocated now. */
  get allocated(): boolean {
    return this.ptr !== 0;
  }
}

/** Where a batch's inputs are: the model's input view, or the prefetch buffer. */
type Slot = 'view' | 'buffer';

/** A batch of the epoch, its inputs possibly prepared by the previous step. */
export interface FedBatch {
  batch: DataBatch;
  /** Set when a step prepared this batch's inputs: where, and the model's `inputGeneration` right after. */
  prepared?: { slot: Slot; generation: number };
}

/** The step's own arguments (the feed supplies the batch, its targets and where its inputs are). */
export type FeedStepArgs = Omit<StepInput, 'batch' | 'targets' | 'x' | 'inputPtr' | 'prefetch'>;

export class TrainFeed {
  private readonly it: AsyncIterator<DataBatch> | Iterator<DataBatch>;
  private ahead: FedBatch | undefined;
  private ended = false;

  /** `buffer` undefined: no prefetch, every batch is filled right before its step (the plain loop). */
  constructor(
    private readonly compiled: CompiledModel,
    batches: AsyncIterable<DataBatch> | Iterable<DataBatch>,
    private readonly buffer: PrefetchBuffer | undefined,
  ) {
    this.it = Symbol.asyncIterator in batches ? batches[Symbol.asyncIterator]() : batches[Symbol.iterator]();
  }

  /** The next batch of the epoch (its inputs are written by `step`); undefined at the end. */
  async next(): Promise<FedBatch | undefined> {
    const a = this.ahead ?? (await this.pull());
    this.ahead = undefined;
    return a;
  }

  /**
   * Runs `fed`'s training step, writing its inputs first unless the previous
   * step prepared them and they are intact. With `prefetchNext` (and a
   * prefetch buffer) the following batch is staged now and its inputs are
   * written during the step, into the slot this one does not use.
   */
  async step(fed: FedBatch, args: FeedStepArgs, prefetchNext: boolean): Promise<StepStats> {
    const slot = this.load(fed);
    const input: StepInput = { ...args, batch: fed.batch.size, targets: fed.batch.targets };
    if (slot === 'buffer') input.inputPtr = this.buffer!.address();
    let prepared: FedBatch['prepared'];
    if (prefetchNext && this.buffer) {
      const next = (this.ahead ??= await this.pull());
      if (next) {
        const other: Slot = slot === 'view' ? 'buffer' : 'view';
        // Address first: allocating may grow memory, which would detach the view below.
        if (other === 'buffer') this.buffer.address();
        const target = other === 'buffer' ? this.buffer.view(next.batch.size) : this.compiled.inputView(next.batch.size);
        const staged = next.batch.stage?.(target);
        if (staged) {
          input.prefetch = staged;
          prepared = { slot: other, generation: this.compiled.inputGeneration };
        }
      }
    }
    const stats = this.compiled.trainStep(input);
    if (prepared) this.ahead!.prepared = prepared;
    return stats;
  }

  /** Where `fed`'s inputs are, writing them into the model's view unless a step prepared them and nothing took the view since (an evaluation, a callback's predict, a re-plan). */
  private load(fed: FedBatch): Slot {
    const p = fed.prepared;
    if (p && (p.slot === 'buffer' || p.generation === this.compiled.inputGeneration)) return p.slot;
    fed.batch.fill(this.compiled.inputView(fed.batch.size));
    return 'view';
  }

  /** Ends the epoch's iteration early (stop, error): lets the data source clean up. */
  async close(): Promise<void> {
    this.ahead = undefined;
    if (this.ended) return;
    this.ended = true;
    await this.it.return?.();
  }

  private async pull(): Promise<FedBatch | undefined> {
    if (this.ended) return undefined;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return undefined;
    }
    return { batch: r.value };
  }
}
