/**
 * A reader that goes away must not end a run half-way. `lite-cnn train | head`,
 * a parent process that died or a closed terminal turn the next write to
 * stdout or stderr into an 'error' event (EPIPE) which, unhandled, ends the
 * process with a stack trace: mid-epoch, before summary.json, with a cut-short
 * fold's or member's files half made. A command's results are its files and
 * its exit code; its printed lines are a view of them. So once a stream's
 * reader is gone, further lines to it are dropped and the command goes on.
 */

/** Error codes of a write to a stream whose reader has gone (EIO: a terminal that closed), or that Node destroyed after it. */
const GONE = new Set(['EPIPE', 'EIO', 'ECONNRESET', 'ERR_STREAM_DESTROYED']);

/** Keeps a vanished reader of stdout or stderr from ending the process (call once, at start-up). */
export function outliveClosedStreams(streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (!GONE.has(err.code ?? '')) throw err;
    });
  }
}
