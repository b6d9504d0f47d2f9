/**
 * Where the CLI writes. Human-readable lines go to stdout, except with
 * `--json`, where stdout carries only the JSON document and everything else
 * moves to stderr (so `lite-cnn train --json | jq` works).
 */
export interface Output {
  /** The stream for human-readable lines and the progress bar. */
  readonly stream: NodeJS.WriteStream;
  readonly json: boolean;
  /** Whether a live progress bar can be drawn (the human stream is a terminal). */
  readonly interactive: boolean;
  line(text?: string): void;
  /** Prints the machine-readable result (only with --json). */
  result(value: unknown): void;
}

export function makeOutput(opts: { json?: boolean | undefined }): Output {
  const json = opts.json === true;
  const stream = json ? process.stderr : process.stdout;
  return {
    stream,
    json,
    interactive: stream.isTTY === true,
    line: (text = '') => void stream.write(`${text}\n`),
    result: (value) => {
      if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}
