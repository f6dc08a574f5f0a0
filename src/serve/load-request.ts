/**
 * The body of `POST /v2/repository/models/{m}/load`: empty, or
 * `{"parameters": {"config": "<Triton JSON config>", "file:<N>/<name>": "<base64>"}}`.
 */
import { badRequest, isPlainObject } from './http-io.js';
import type { ModelUpload } from './model-store.js';

const FILE_KEY = /^file:([1-9][0-9]{0,15})\/([A-Za-z0-9_][A-Za-z0-9._-]*)$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The upload a load request carries, or undefined for a plain (re)load. */
export function parseLoadRequest(body: unknown): ModelUpload | undefined {
  if (body === undefined) return undefined;
  if (!isPlainObject(body))
    throw badRequest('A load request body must be a JSON object, e.g. {"parameters": {"config": "..."}}.');
  for (const key of Object.keys(body))
    if (key !== 'parameters') throw badRequest(`Unknown field '${key}' in the load request; expected "parameters".`);
  if (body.parameters === undefined) return undefined;
  if (!isPlainObject(body.parameters)) throw badRequest('"parameters" must be an object.');
  let config: string | undefined;
  const files: ModelUpload['files'] = [];
  for (const [key, value] of Object.entries(body.parameters)) {
    if (key === 'config') {
      if (typeof value === 'string') config = value;
      else if (isPlainObject(value)) config = JSON.stringify(value);
      else throw badRequest('"parameters.config" must be the model config as a JSON string.');
      continue;
    }
    if (key.startsWith('file:')) {
      const match = FILE_KEY.exec(key);
      if (!match || match[2] === '..' || match[2].includes('..')) {
        throw badRequest(
          `'${key}' is not a valid file entry: use "file:<version>/<file name>" with a positive version without a leading zero, e.g. "file:1/model.onnx".`,
        );
      }
      if (typeof value !== 'string') throw badRequest(`'${key}' must hold the file content in base64.`);
      const content = decodeBase64(value);
      if (!content) throw badRequest(`'${key}' is not valid base64.`);
      if (content.length === 0) throw badRequest(`'${key}' is empty.`);
      files.push({ version: Number(match[1]), name: match[2], content });
      continue;
    }
    throw badRequest(`Unknown load parameter '${key}'; expected "config" and "file:<version>/<name>" entries.`);
  }
  if (files.length > 0 && config === undefined)
    throw badRequest('A load request that carries files must also carry "config" (the model config in JSON form).');
  if (config === undefined) return undefined;
  return { config, files };
}

/**
 * Strict base64: Buffer.from skips characters it does not know, so a decode alone accepts garbage.
 * A model pushed in a load request is hundreds of MB of text, where a regular expression over the whole
 * string costs seconds; re-encoding the decoded bytes and comparing is several times cheaper and exact
 * for canonical base64 (what every encoder writes). Text with line breaks takes the slow path.
 */
function decodeBase64(value: string): Buffer | undefined {
  const content = Buffer.from(value, 'base64');
  if (value.length % 4 === 0 && content.toString('base64') === value) return content;
  const text = value.replace(/\s+/g, '');
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}
