/**
 * The protobuf wire format, by hand.
 *
 * Why not protobufjs with onnx.proto: the reader must not copy weights. A length-delimited field
 * (raw_data above all) is returned as a `subarray` view of the input bytes, so a 200 MB model parses
 * without a second copy of its weights, and the parser only walks the fields ONNX needs. The writer
 * keeps large byte fields as references too: a message is a list of chunks, and nesting a message
 * only prepends a tag and a length, so writing a model never concatenates its weights until the
 * caller asks for one buffer (or streams the chunks to a file).
 *
 * Every read is bounds-checked: malformed input throws ModelshipError('ONNX_DECODE') naming what
 * was wrong and at which byte, never a RangeError, a hang, or an allocation sized by a corrupt field.
 */
import { ModelshipError } from '../errors.js';

export const WireType = {
  VARINT: 0,
  I64: 1,
  LEN: 2,
  SGROUP: 3,
  EGROUP: 4,
  I32: 5,
} as const;

/** Message nesting deeper than this is refused (ONNX graphs nest through attributes). */
export const MAX_DEPTH = 64;

const DECODE_HINT =
  'The file is not a valid ONNX protobuf (truncated, corrupted, or not a model). Re-export the model, and if it is stored with Git LFS, run `git lfs pull`.';

/** The one shape of a decoding error: what was wrong, and where. */
export function decodeError(subject: string, what: string, at: number): ModelshipError {
  return new ModelshipError('ONNX_DECODE', `Cannot decode ${subject}: ${what} at byte ${at}`, DECODE_HINT);
}

export class WireReader {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    /** Named in errors: 'ONNX model', 'ONNX tensor'. */
    readonly subject: string = 'ONNX model',
    start = 0,
    readonly end: number = bytes.length,
    readonly depth = 0,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(what: string, at: number = this.pos): never {
    throw decodeError(this.subject, what, at);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a field key; field number 0 and the deprecated group wire types are rejected. */
  tag(): { field: number; wireType: number; at: number } {
    const at = this.pos;
    const key = this.uint32();
    const field = key >>> 3;
    const wireType = key & 7;
    if (field === 0) this.fail('field number 0', at);
    if (wireType !== 0 && wireType !== 1 && wireType !== 2 && wireType !== 5)
      this.fail(`bad wire type ${wireType}`, at);
    return { field, wireType, at };
  }

  /** A varint as two 32-bit halves (low, high). */
  private varintParts(): [number, number] {
    const start = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint', start);
      const b = this.bytes[this.pos++];
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    return this.fail('varint too long', start);
  }

  /** uint32/int32/enum/bool: the low 32 bits, as protobuf truncates. */
  uint32(): number {
    return this.varintParts()[0];
  }

  /** int32 fields: negative values arrive as 10-byte varints whose low 32 bits are two's complement. */
  int32(): number {
    return this.varintParts()[0] | 0;
  }

  /** int64 as a number; exact up to 2^53, which holds for dims, versions and attributes in practice. */
  int64(): number {
    const [lo, hi] = this.varintParts();
    if (hi === 0) return lo;
    return Number(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)));
  }

  int64Big(): bigint {
    const [lo, hi] = this.varintParts();
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  uint64Big(): bigint {
    const [lo, hi] = this.varintParts();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  float(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  private need(n: number): void {
    if (this.end - this.pos < n) this.fail(`truncated field (${n} bytes needed, ${this.end - this.pos} left)`);
  }

  /** A length-delimited field as a view of the input (no copy). */
  bytesView(): Uint8Array {
    const at = this.pos;
    const [lo, hi] = this.varintParts();
    const left = this.end - this.pos;
    if (hi !== 0 || lo > left)
      this.fail(`length ${hi === 0 ? lo : 'over 4 GiB'} runs past the end (${left} bytes left)`, at);
    const view = this.bytes.subarray(this.pos, this.pos + lo);
    this.pos += lo;
    return view;
  }

  string(): string {
    return textDecoder.decode(this.bytesView());
  }

  /** A reader over an embedded message, one level deeper. */
  message(): WireReader {
    if (this.depth + 1 > MAX_DEPTH) this.fail(`messages nested deeper than ${MAX_DEPTH}`);
    const view = this.bytesView();
    const start = view.byteOffset - this.bytes.byteOffset;
    return new WireReader(this.bytes, this.subject, start, start + view.length, this.depth + 1);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.varintParts();
        return;
      case WireType.I64:
        this.need(8);
        this.pos += 8;
        return;
      case WireType.LEN:
        this.bytesView();
        return;
      case WireType.I32:
        this.need(4);
        this.pos += 4;
        return;
      default:
        this.fail(`bad wire type ${wireType}`);
    }
  }

  /**
   * A repeated scalar, packed (one LEN field) or not (one value per field): calls `read` for each value.
   * `scalarWire` is the wire type of one unpacked value; any other wire type is an error.
   */
  repeated(wireType: number, scalarWire: number, read: (r: WireReader) => void): void {
    if (wireType === WireType.LEN) {
      const inner = this.message();
      while (!inner.done) read(inner);
      return;
    }
    if (wireType !== scalarWire) this.fail(`wire type ${wireType} where ${scalarWire} or a packed field was expected`);
    read(this);
  }

  /** Fails unless the field has the expected wire type. */
  expect(wireType: number, expected: number, at: number): void {
    if (wireType !== expected) this.fail(`wire type ${wireType} where ${expected} was expected`, at);
  }
}

export const textDecoder = new TextDecoder('utf-8');
const textEncoder = new TextEncoder();

/** Byte fields at least this long are kept by reference instead of copied into the scratch buffer. */
const REFERENCE_THRESHOLD = 1024;

/**
 * Builds a message as a list of chunks. Small writes go to a scratch buffer; large byte fields are
 * kept by reference. `length` is always the total encoded size.
 */
export class WireWriter {
  private readonly chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(64);
  private used = 0;
  length = 0;

  private room(n: number): void {
    if (this.used + n <= this.scratch.length) return;
    const next = new Uint8Array(Math.max(this.scratch.length * 2, this.used + n));
    next.set(this.scratch.subarray(0, this.used));
    this.scratch = next;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.chunks.push(this.scratch.subarray(0, this.used));
    this.scratch = new Uint8Array(64);
    this.used = 0;
  }

  private byte(b: number): void {
    this.room(1);
    this.scratch[this.used++] = b;
    this.length++;
  }

  /** A varint; negative numbers are written as 64-bit two's complement (10 bytes), as protobuf does. */
  varint(value: number | bigint): this {
    if (typeof value === 'number' && value >= 0 && value <= 0x7fffffff && Number.isInteger(value)) {
      let v = value;
      while (v > 0x7f) {
        this.byte((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      this.byte(v);
      return this;
    }
    if (typeof value === 'number' && !Number.isInteger(value)) throw new Error(`varint of a non-integer: ${value}`);
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
    return this;
  }

  tag(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }

  varintField(field: number, value: number | bigint): this {
    return this.tag(field, WireType.VARINT).varint(value);
  }

  floatField(field: number, value: number): this {
    this.tag(field, WireType.I32);
    this.room(4);
    new DataView(this.scratch.buffer).setFloat32(this.used, value, true);
    this.used += 4;
    this.length += 4;
    return this;
  }

  raw(bytes: Uint8Array): this {
    if (bytes.length >= REFERENCE_THRESHOLD) {
      this.flush();
      this.chunks.push(bytes);
    } else {
      this.room(bytes.length);
      this.scratch.set(bytes, this.used);
      this.used += bytes.length;
    }
    this.length += bytes.length;
    return this;
  }

  bytesField(field: number, bytes: Uint8Array): this {
    return this.tag(field, WireType.LEN).varint(bytes.length).raw(bytes);
  }

  stringField(field: number, value: string): this {
    return this.bytesField(field, textEncoder.encode(value));
  }

  /** Embeds a finished message as a field (its chunks are moved, not copied). */
  messageField(field: number, message: WireWriter): this {
    this.tag(field, WireType.LEN).varint(message.length);
    this.flush();
    for (const chunk of message.finish()) this.chunks.push(chunk);
    this.length += message.length;
    return this;
  }

  /** The encoded message as chunks, in order. */
  finish(): Uint8Array[] {
    this.flush();
    return this.chunks;
  }

  /** The encoded message as one buffer. */
  toBytes(): Uint8Array {
    const chunks = this.finish();
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

/** Encodes a string as UTF-8 bytes. */
export const utf8 = (value: string): Uint8Array => textEncoder.encode(value);
