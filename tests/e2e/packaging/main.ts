// The Node program of the packaging test (ESM and CommonJS): runs the README's
// example and prints its result. A failure is an unhandled rejection: exit code 1.
import { runExample } from './example.js';

void runExample().then((result) => console.log(JSON.stringify(result)));
