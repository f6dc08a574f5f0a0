// The floor for validating a model: sha256 of the file, then an onnxruntime-node session created from
// it. Plain JavaScript, so the baseline pays no loader that the built CLI does not.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';

const [model] = process.argv.slice(2);
const hash = createHash('sha256');
for await (const chunk of createReadStream(model, { highWaterMark: 1024 * 1024 })) hash.update(chunk);
const ort = createRequire(import.meta.url)('onnxruntime-node');
const session = await ort.InferenceSession.create(model);
await session.release();
process.stdout.write(`sha256:${hash.digest('hex')}\n`);
