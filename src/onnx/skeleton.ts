/**
 * A model file read without its weights: one buffer the size of the file, holding every byte except the
 * raw_data of the main graph's initializers, which stay zero and are never read. decodeModel reads the
 * same structure and the same tensor sizes from it as from the whole file, so every structural check
 * works on it, while a 200 MB model costs a few kilobytes of reading and of memory (a zeroed buffer is
 * only mapped where it is written).
 *
 * The weights' views in a model decoded from a skeleton hold zeros: use it for structure, not values.
 * The regions left out are found by walking the file's protobuf fields the way decodeModel does (the same
 * wire reader, on small positional reads); where the walk meets anything it does not understand, nothing
 * is left out and the whole file is read.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { WireReader, WireType } from './wire.js';

/** raw_data smaller than this is read anyway: skipping it saves nothing. */
const MIN_SKIP = 64 * 1024;
const WINDOW = 64 * 1024;
const CHUNK = 64 * 1024 * 1024;

interface Field {
  field: number;
  wireType: number;
  valueStart: number;
  valueEnd: number;
}

/** Field headers of a message on disk, read through a small window. */
class FieldWalker {
  private window = new Uint8Array(0);
  private windowStart = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
  ) {}

  private async bytesAt(pos: number, n: number): Promise<Uint8Array> {
    const end = Math.min(pos + n, this.size);
    if (pos < this.windowStart || end > this.windowStart + this.window.length) {
      const length = Math.min(WINDOW, this.size - pos);
      const buffer = new Uint8Array(length);
      const { bytesRead } = await this.handle.read(buffer, 0, length, pos);
      this.window = buffer.subarray(0, bytesRead);
      this.windowStart = pos;
    }
    return this.window.subarray(
      pos - this.windowStart,
      Math.min(end, this.windowStart + this.window.length) - this.windowStart,
    );
  }

  /** The fields of the message spanning [start, end); throws (ONNX_DECODE) where decodeModel would. */
  async *fields(start: number, end: number): AsyncGenerator<Field> {
    let pos = start;
    while (pos < end) {
      // A key and a length take at most 20 bytes.
      const head = await this.bytesAt(pos, 20);
      const r = new WireReader(head, 'ONNX model', 0, Math.min(head.length, end - pos));
      const { field, wireType } = r.tag();
      let valueEnd: number;
      let valueStart: number;
      if (wireType === WireType.LEN) {
        const length = r.int64();
        valueStart = pos + r.pos;
        if (length < 0 || length > end - valueStart) r.fail('length runs past the end', pos);
        valueEnd = valueStart + length;
      } else if (wireType === WireType.VARINT) {
        r.int64();
        valueStart = valueEnd = pos + r.pos;
      } else {
        valueStart = pos + r.pos;
        valueEnd = valueStart + (wireType === WireType.I64 ? 8 : 4);
        if (valueEnd > end) r.fail('truncated field', valueStart);
      }
      yield { field, wireType, valueStart, valueEnd };
      pos = valueEnd;
    }
  }
}

/** Byte ranges of the main graph's initializers' raw_data (ModelProto.graph.initializer[].raw_data). */
async function weightRegions(walker: FieldWalker, size: number): Promise<Array<[number, number]>> {
  const regions: Array<[number, number]> = [];
  for await (const model of walker.fields(0, size)) {
    if (model.field !== 7 || model.wireType !== WireType.LEN) continue;
    for await (const graph of walker.fields(model.valueStart, model.valueEnd)) {
      if (graph.field !== 5 || graph.wireType !== WireType.LEN) continue;
      for await (const tensor of walker.fields(graph.valueStart, graph.valueEnd)) {
        if (tensor.field === 9 && tensor.wireType === WireType.LEN && tensor.valueEnd - tensor.valueStart >= MIN_SKIP) {
          regions.push([tensor.valueStart, tensor.valueEnd]);
        }
      }
    }
  }
  return regions;
}

export interface ModelSkeleton {
  /** As long as the file; zero where the weights were left out. */
  bytes: Uint8Array;
  /** Bytes of weights not read. */
  skipped: number;
}

export async function readModelSkeleton(file: string): Promise<ModelSkeleton> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    let regions: Array<[number, number]>;
    try {
      regions = await weightRegions(new FieldWalker(handle, size), size);
    } catch {
      // Not a model the walk understands: decodeModel will say what is wrong, from every byte.
      regions = [];
    }
    const bytes = Buffer.alloc(size);
    let skipped = 0;
    let pos = 0;
    for (const [start, end] of [...regions, [size, size] as [number, number]]) {
      while (pos < start) {
        const { bytesRead } = await handle.read(bytes, pos, Math.min(CHUNK, start - pos), pos);
        if (bytesRead === 0) throw new Error(`${file} ended at byte ${pos} of ${size} while being read.`);
        pos += bytesRead;
      }
      skipped += end - start;
      pos = end;
    }
    return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), skipped };
  } finally {
    await handle.close();
  }
}
