/**
 * The content digest of a model: what versioning compares to tell "same model" from "new weights".
 *
 * Scheme (stable; changing it changes every released digest):
 * - A model with no external data: `sha256:` + hex SHA-256 of the model file, exactly what
 *   `sha256sum model.onnx` prints.
 * - A model whose initializers keep data in external files: SHA-256 over the framed stream
 *     `modelship-digest-v1\n`
 *     `model <byte length>\n` <model file bytes>
 *     then for each distinct `location` of the main graph's initializers, sorted by UTF-16 code units:
 *     `external <JSON-quoted location> <byte length>\n` <that file's bytes>
 *   Every part carries its length, so no two different sets of files hash the same stream.
 *
 * Files are streamed through the hash. Finding the external locations walks the protobuf on disk with
 * small positional reads and skips over raw_data, so a 200 MB model is never loaded whole.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { ModelshipError } from '../errors.js';
import { allTensors } from './checks.js';
import { resolveModelPath } from './read.js';
import type { OnnxModel } from './types.js';
import { WireReader, WireType, decodeError } from './wire.js';

const WINDOW = 64 * 1024;
/** An external_data entry bigger than this is not a key/value pair of a few words. */
const MAX_ENTRY = 64 * 1024;

/** Reads protobuf field headers straight from a file, through a small window. */
class FileFields {
  private window = new Uint8Array(0);
  private windowStart = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** Up to `n` bytes at `pos` (fewer at the end of the file). */
  async bytesAt(pos: number, n: number): Promise<Uint8Array> {
    const end = Math.min(pos + n, this.size);
    if (pos >= this.windowStart && end <= this.windowStart + this.window.length) {
      return this.window.subarray(pos - this.windowStart, end - this.windowStart);
    }
    const length = Math.min(Math.max(n, WINDOW), this.size - pos);
    const buffer = new Uint8Array(length);
    const { bytesRead } = await this.handle.read(buffer, 0, length, pos);
    this.window = buffer.subarray(0, bytesRead);
    this.windowStart = pos;
    return this.window.subarray(0, Math.min(n, bytesRead));
  }

  /** Each field of the message spanning [start, end): number, wire type, and where its value lies. */
  async *fields(
    start: number,
    end: number,
  ): AsyncGenerator<{ field: number; wireType: number; valueStart: number; valueEnd: number }> {
    let pos = start;
    while (pos < end) {
      // A key and a length are at most 20 bytes; a WireReader over them checks everything as decodeModel does.
      const head = await this.bytesAt(pos, 20);
      const r: WireReader = new WireReader(head, 'ONNX model', 0, Math.min(head.length, end - pos));
      const at = (offset: number) => pos + offset;
      let field: number;
      let wireType: number;
      try {
        ({ field, wireType } = r.tag());
      } catch {
        throw decodeError('ONNX model', 'truncated or bad field key', pos);
      }
      let valueStart = pos + r.pos;
      let valueEnd: number;
      if (wireType === WireType.LEN) {
        const lengthAt = r.pos;
        let length: number;
        try {
          length = r.int64();
        } catch {
          throw decodeError('ONNX model', 'truncated length', at(lengthAt));
        }
        valueStart = pos + r.pos;
        if (length < 0 || length > end - valueStart) {
          throw decodeError(
            'ONNX model',
            `length ${length} runs past the end (${end - valueStart} bytes left)`,
            at(lengthAt),
          );
        }
        valueEnd = valueStart + length;
      } else if (wireType === WireType.VARINT) {
        const varintAt = r.pos;
        try {
          r.int64();
        } catch {
          throw decodeError('ONNX model', 'truncated varint', at(varintAt));
        }
        valueEnd = pos + r.pos;
      } else {
        valueEnd = valueStart + (wireType === WireType.I64 ? 8 : 4);
        if (valueEnd > end) throw decodeError('ONNX model', 'truncated field', valueStart);
      }
      yield { field, wireType, valueStart, valueEnd };
      pos = valueEnd;
    }
  }

  async reader(start: number, end: number): Promise<WireReader> {
    const bytes = await this.bytesAt(start, end - start);
    if (bytes.length < end - start) throw decodeError('ONNX model', 'truncated message', start);
    return new WireReader(bytes, 'ONNX model');
  }
}

/** Reads a varint value from a field yielded by FileFields. */
async function varintValue(file: FileFields, start: number, end: number): Promise<number> {
  return (await file.reader(start, end)).int64();
}

/** The external data locations of the main graph's initializers, read without loading the model. */
export async function externalDataLocations(modelFile: string): Promise<string[]> {
  const handle = await open(modelFile, 'r');
  try {
    const file = new FileFields(handle, (await handle.stat()).size);
    const locations = new Set<string>();
    for await (const model of file.fields(0, file.size)) {
      if (model.field !== 7 || model.wireType !== WireType.LEN) continue;
      for await (const graph of file.fields(model.valueStart, model.valueEnd)) {
        if (graph.field !== 5 || graph.wireType !== WireType.LEN) continue;
        let location: string | undefined;
        let external = false;
        for await (const tensor of file.fields(graph.valueStart, graph.valueEnd)) {
          if (tensor.field === 14 && tensor.wireType === WireType.VARINT) {
            external = (await varintValue(file, tensor.valueStart, tensor.valueEnd)) === 1;
          } else if (tensor.field === 13 && tensor.wireType === WireType.LEN) {
            if (tensor.valueEnd - tensor.valueStart > MAX_ENTRY) {
              throw decodeError('ONNX model', 'external_data entry too large', tensor.valueStart);
            }
            const entry = await file.reader(tensor.valueStart, tensor.valueEnd);
            let key = '';
            let value = '';
            while (!entry.done) {
              const { field, wireType } = entry.tag();
              if ((field === 1 || field === 2) && wireType === WireType.LEN) {
                if (field === 1) key = entry.string();
                else value = entry.string();
              } else entry.skip(wireType);
            }
            if (key === 'location') location = value;
          }
        }
        if (external && location !== undefined) locations.add(location);
      }
    }
    return [...locations].sort();
  } catch (error) {
    if (error instanceof ModelshipError) {
      throw new ModelshipError(error.code, error.message, error.hint, { file: modelFile }, { cause: error });
    }
    throw error;
  } finally {
    await handle.close();
  }
}

async function hashFile(hash: Hash, path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
}

/** How many graph fields the model message holds: protobuf merges repeated ones, decodeModel keeps the last. */
function graphFields(bytes: Uint8Array): number {
  const r = new WireReader(bytes, 'ONNX model');
  let graphs = 0;
  while (!r.done) {
    const { field, wireType } = r.tag();
    if (field === 7 && wireType === WireType.LEN) graphs++;
    r.skip(wireType);
  }
  return graphs;
}

/**
 * digestModel for a model already read and decoded: when no tensor keeps its data outside the file, the
 * digest is the hash of these bytes, with no second read. A file whose graph comes in several fields is
 * more than the decoded model shows, so it takes the full path.
 */
export async function digestReadModel(file: string, model: OnnxModel, bytes: Uint8Array): Promise<string> {
  if (graphFields(bytes) > 1) return digestModel(file);
  for (const { tensor } of allTensors(model.graph)) {
    if (tensor.storage === 'external') return digestModel(file);
  }
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** `sha256:<hex>` of a model (a file, or a folder holding model.onnx) and its external data. */
export async function digestModel(modelPath: string): Promise<string> {
  const file = await resolveModelPath(modelPath);
  const locations = await externalDataLocations(file);
  const hash = createHash('sha256');
  if (locations.length === 0) {
    await hashFile(hash, file);
    return `sha256:${hash.digest('hex')}`;
  }
  const folder = dirname(resolve(file));
  const externals: Array<{ location: string; path: string; size: number }> = [];
  for (const location of locations) {
    const path = resolve(folder, location);
    const inside = relative(folder, path);
    if (
      isAbsolute(location) ||
      inside === '' ||
      inside.startsWith('..' + sep) ||
      inside === '..' ||
      isAbsolute(inside)
    ) {
      throw new ModelshipError(
        'ONNX_EXTERNAL_DATA',
        `External data location "${location}" is outside the model folder`,
        'External data files must sit in the model folder (or below it), named by a relative path without "..".',
        { file },
      );
    }
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) {
      throw new ModelshipError(
        'ONNX_EXTERNAL_DATA',
        `External data file "${location}" named by ${file} is missing`,
        'Commit the external data files next to the model (and fetch them with `git lfs pull` if they are in LFS).',
        { file },
      );
    }
    externals.push({ location, path, size: info.size });
  }
  hash.update('modelship-digest-v1\n');
  hash.update(`model ${(await stat(file)).size}\n`);
  await hashFile(hash, file);
  for (const external of externals) {
    hash.update(`external ${JSON.stringify(external.location)} ${external.size}\n`);
    await hashFile(hash, external.path);
  }
  return `sha256:${hash.digest('hex')}`;
}
