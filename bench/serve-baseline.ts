/**
 * The serving baseline: what a straightforward inference server is. node:http, one onnxruntime-node
 * session, JSON in and out, every request run on its own (no batching, no checks).
 *
 *   node --import tsx bench/serve-baseline.ts <model.onnx> <model name> [intra-op threads]
 *
 * Prints its URL on stdout once listening.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ort from 'onnxruntime-node';

const [modelPath, modelName, threads] = process.argv.slice(2);
const session = await ort.InferenceSession.create(modelPath, {
  executionProviders: ['cpu'],
  intraOpNumThreads: Number(threads ?? 1),
});

interface Input {
  name: string;
  shape: number[];
  data: number[];
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', async () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs: Input[] };
      const feeds: Record<string, ort.Tensor> = {};
      for (const input of body.inputs)
        feeds[input.name] = new ort.Tensor('float32', Float32Array.from(input.data), input.shape);
      const results = await session.run(feeds);
      const outputs = Object.entries(results).map(([name, tensor]) => ({
        name,
        datatype: tensor.type === 'float32' ? 'FP32' : 'INT64',
        shape: tensor.dims,
        data: Array.from(tensor.data as ArrayLike<number | bigint>, Number),
      }));
      const text = JSON.stringify({ model_name: modelName, model_version: '1', outputs });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    } catch (error) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: String(error) }));
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 50);
});
