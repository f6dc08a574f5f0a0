/**
 * `npm run fixtures [-- <out dir>]`: rebuilds the fixtures (default: ./fixtures) byte for byte.
 * See fixtures/README.md for what is made.
 */
import { resolve } from 'node:path';
import { generateFixtures } from './fixtures/generate.js';

const outDir = resolve(process.argv[2] ?? 'fixtures');
const started = Date.now();
const summary = await generateFixtures(outDir);
const accuracies = Object.entries(summary.iris)
  .map(([name, { accuracy }]) => `${name} ${(accuracy * 100).toFixed(1)}%`)
  .join(', ');
console.log(`Wrote ${summary.files.length} files to ${outDir} in ${Date.now() - started} ms`);
console.log(`Held-out accuracy (${summary.irisHeldOut} rows): ${accuracies}`);
console.log(
  `mpg-v1 held-out (${summary.mpg.heldOut} rows): MAE ${summary.mpg.mae.toFixed(3)}, R² ${summary.mpg.r2.toFixed(3)}`,
);
