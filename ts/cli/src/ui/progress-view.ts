/**
 * Shows training progress from the SDK's ProgressLogger events: a live bar on
 * a terminal (step, epoch, ETA, loss, accuracy, images/s, learning rate, last
 * validation point), plain lines otherwise — one per epoch and one per
 * evaluation point — so logs and CI output stay readable.
 */
import cliProgress from 'cli-progress';
import type { Logs, ProgressEvent } from '@lite-cnn/sdk';
import { count, fixed, lr, percent, rate, seconds } from './format.js';
import type { Output } from './output.js';

export interface ProgressView {
  onEvent(event: ProgressEvent): void;
  /** Prints a line without breaking the bar (e.g. "stopping after this step"). */
  notice(text: string): void;
  close(): void;
}

function valPart(logs: Logs): string {
  return logs.val_loss === undefined ? '' : `  val_loss ${fixed(logs.val_loss)}  val_acc ${percent(logs.val_accuracy)}`;
}

function epochLine(e: Extract<ProgressEvent, { type: 'epoch' }>, ips: number | undefined): string {
  const speed = ips === undefined ? '' : `  ${rate(ips)} img/s`;
  return `Epoch ${e.epoch + 1}/${e.epochs}  ${seconds(e.seconds)}  loss ${fixed(e.logs.loss)}  acc ${percent(e.logs.accuracy)}${valPart(e.logs)}  lr ${e.logs.lr === undefined ? 'n/a' : lr(e.logs.lr)}${speed}`;
}

function evaluationLine(e: Extract<ProgressEvent, { type: 'evaluation' }>): string {
  return `  step ${count(e.step)} (epoch ${e.epoch + 1}): loss ${fixed(e.logs.loss)}  acc ${percent(e.logs.accuracy)}${valPart(e.logs)}`;
}

class PlainView implements ProgressView {
  private ips: number | undefined;
  constructor(private readonly out: Output) {}
  onEvent(e: ProgressEvent): void {
    if (e.type === 'batch') this.ips = e.samplesPerSecond;
    else if (e.type === 'evaluation') this.out.line(evaluationLine(e));
    else if (e.type === 'epoch') this.out.line(epochLine(e, this.ips));
  }
  notice(text: string): void {
    this.out.line(text);
  }
  close(): void {}
}

class BarView implements ProgressView {
  private readonly bar: cliProgress.SingleBar;
  private active = false;
  private ips: number | undefined;
  private val = '';

  constructor(private readonly out: Output) {
    this.bar = new cliProgress.SingleBar(
      {
        stream: out.stream,
        format: 'Epoch {ep} {bar} {value}/{total} | step {step} | ETA {eta_formatted} | loss {loss} acc {acc}{val} | {ips} img/s | lr {lr}',
        barsize: 20,
        hideCursor: true,
        fps: 10,
        etaBuffer: 50,
        autopadding: true,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  onEvent(e: ProgressEvent): void {
    if (e.type === 'batch') {
      this.ips = e.samplesPerSecond;
      const payload = {
        ep: `${e.epoch + 1}/${e.epochs}`,
        step: count(e.step),
        loss: fixed(e.logs.loss),
        acc: percent(e.logs.accuracy),
        val: this.val,
        ips: rate(e.samplesPerSecond),
        lr: lr(e.learningRate),
      };
      if (!this.active) {
        this.bar.start(e.batches, e.batch + 1, payload);
        this.active = true;
      } else this.bar.update(e.batch + 1, payload);
    } else if (e.type === 'evaluation') {
      this.val = ` | val_acc ${percent(e.logs.val_accuracy)}`;
    } else if (e.type === 'epoch') {
      this.stop();
      this.val = '';
      this.out.line(epochLine(e, this.ips));
    }
  }

  notice(text: string): void {
    this.stop();
    this.out.line(text);
  }

  close(): void {
    this.stop();
  }

  private stop(): void {
    if (this.active) this.bar.stop();
    this.active = false;
  }
}

export function makeProgressView(out: Output): ProgressView {
  return out.interactive ? new BarView(out) : new PlainView(out);
}
