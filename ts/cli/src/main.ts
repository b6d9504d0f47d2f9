/**
 * lite-cnn command line: parses arguments and calls the SDK. No numerics here.
 * Exit codes: 0 ok, 1 runtime or data error, 2 usage error, 130/143 interrupted.
 */
import { Command, CommanderError } from 'commander';
import { registerCalibrate } from './commands/calibrate.js';
import { registerEvaluate } from './commands/evaluate.js';
import { registerExplain } from './commands/explain.js';
import { registerExport } from './commands/export.js';
import { registerImport } from './commands/import.js';
import { registerInfo } from './commands/info.js';
import { registerPredict } from './commands/predict.js';
import { registerProfile } from './commands/profile.js';
import { registerSplit } from './commands/split.js';
import { registerSummary } from './commands/summary.js';
import { registerTrain } from './commands/train.js';
import { describeError, EXIT, exitCodeFor } from './errors.js';
import { outliveClosedStreams } from './ui/closed-streams.js';
import { cliVersion } from './versions.js';

let exitCode: number = EXIT.ok;
outliveClosedStreams();

const program = new Command()
  .name('lite-cnn')
  .description('Build, train and run small CNNs on CPU threads (Rust kernels in WebAssembly)')
  .version(cliVersion)
  .showHelpAfterError('(add --help for the options)')
  // Commander exits 1 on usage errors; throw instead so they exit 2. Inherited by every subcommand.
  .exitOverride();

registerTrain(program, (code) => (exitCode = code));
registerSummary(program);
registerEvaluate(program);
registerCalibrate(program);
registerPredict(program);
registerProfile(program);
registerSplit(program);
registerExplain(program);
registerImport(program);
registerExport(program);
registerInfo(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  exitCode = exitCodeFor(err);
  // Commander has already printed its own message (and help for --help).
  if (!(err instanceof CommanderError)) process.stderr.write(`lite-cnn: ${describeError(err)}\n`);
}
// Exit explicitly: the engine's worker pool must not keep a finished command alive.
process.exit(exitCode);
