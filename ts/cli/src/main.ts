/**
 * lite-cnn command line: parses arguments and calls the SDK. No numerics here.
 */
import { Command } from 'commander';
import { registerInfo } from './commands/info.js';

const program = new Command()
  .name('lite-cnn')
  .description('Build, train and run small CNNs on CPU threads (Rust kernels in WebAssembly)')
  .version('0.1.0')
  .showHelpAfterError();

registerInfo(program);

await program.parseAsync(process.argv);
