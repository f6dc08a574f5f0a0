/**
 * Evaluation over numpy arrays (a folder of .npy files or an .npz archive, one array per field): each
 * batch of rows is read from the arrays straight into the input tensors, with no parsing and no copy
 * when an array already has its input's datatype, and the next batch is read while the models run on
 * this one.
 */
import { ModelshipError } from '../errors.js';
import { openNpyFixture, type NpyArray } from '../fixtures/npy.js';
import { ArrayFeeds, arrayFixtureError, fieldArray, planInputArrays, plainValues } from '../fixtures/npy-rows.js';
import type { Logger } from '../log.js';
import type { LoadedModel } from '../runtime/loaded-model.js';
import { datatypeFromOip } from '../runtime/datatypes.js';
import { autoBatchSize, hasBatchDimension } from '../runtime/row-batches.js';
import { createScorer, type BatchRows, type RunOptions, type RunResult } from './fixture-run.js';

/** The rows of one read: the bytes of every array in use, and where they start in the file. */
class RowChunk {
  readonly bytes = new Map<NpyArray, Uint8Array>();
  rows = 0;
  /** File row index of the chunk's first row. */
  start = 0;
  /** File row index of each row in the chunk, in a sharded run (rows of other shards already dropped). */
  readonly index: number[] = [];
  /** Where each array's 64-bit integers are read as numbers (labels, ids, slices), reused by every batch. */
  private readonly numbers = new Map<NpyArray, Float64Array>();

  constructor(arrays: NpyArray[], capacity: number) {
    // Each array's own ArrayBuffer: aligned for any element size, so a typed view needs no copy.
    for (const a of arrays) {
      this.bytes.set(a, new Uint8Array(Math.max(1, capacity * a.rowBytes)));
      const { element } = a;
      if (element.kind === 'number' && (element.datatype === 'INT64' || element.datatype === 'UINT64')) {
        this.numbers.set(a, new Float64Array(capacity * a.rowElements));
      }
    }
  }

  /** One value per row of `array` (a label, id or slice array) as plain numbers or strings. */
  values(array: NpyArray): ArrayLike<number | string> {
    return plainValues(array, this.bytes.get(array)!, this.rows, this.numbers.get(array));
  }
}

const NO_SLICES: ReadonlyArray<string | undefined> = [];

/**
 * A chunk's rows as scoring reads them: labels straight from their array; index, line, id and slices
 * made into a list each only when asked for (row by row scoring, or an error message).
 */
class ChunkRows implements BatchRows {
  readonly count: number;
  readonly expected: ReadonlyArray<undefined> = [];
  private columns?: Pick<BatchRows, 'index' | 'line' | 'id' | 'slices'>;

  constructor(
    private readonly chunk: RowChunk,
    readonly label: ArrayLike<number | string>,
    private readonly ids: ArrayLike<number | string> | undefined,
    private readonly sliceValues: Array<ArrayLike<number | string>>,
  ) {
    this.count = chunk.rows;
  }

  get index(): ArrayLike<number> {
    return this.column().index;
  }
  get line(): ArrayLike<number> {
    return this.column().line;
  }
  get id(): ArrayLike<string | undefined> {
    return this.column().id;
  }
  get slices(): ArrayLike<ReadonlyArray<string | undefined>> {
    return this.column().slices;
  }

  private column(): Pick<BatchRows, 'index' | 'line' | 'id' | 'slices'> {
    if (this.columns) return this.columns;
    const { chunk, ids, sliceValues, count } = this;
    // Plain loops into arrays of the right length: Array.from with a function costs several times more.
    const index = new Float64Array(count);
    const line = new Float64Array(count);
    for (let r = 0; r < count; r++) {
      index[r] = chunk.index.length > 0 ? chunk.index[r] : chunk.start + r;
      line[r] = index[r] + 1;
    }
    const id = new Array<string | undefined>(count).fill(undefined);
    if (ids) for (let r = 0; r < count; r++) id[r] = String(ids[r]);
    const slices = new Array<ReadonlyArray<string | undefined>>(count).fill(NO_SLICES);
    if (sliceValues.length > 0) {
      for (let r = 0; r < count; r++) {
        slices[r] = sliceValues.map((values) => (values[r] === '' ? undefined : String(values[r])));
      }
    }
    return (this.columns = { index, line, id, slices });
  }
}

/** The most a sharded run reads at once to pick its rows from. */
const MAX_SHARD_READ_BYTES = 64 << 20;

export async function runArrays(
  options: RunOptions,
  candidate: LoadedModel,
  baseline: LoadedModel | undefined,
  log: Logger,
): Promise<RunResult> {
  const { task, fixtures: file, fields, shard } = options;
  if (task === 'golden') {
    throw new ModelshipError(
      'FIXTURE_INVALID',
      'A golden check compares expected outputs, which numpy fixtures do not carry.',
      'Use ONNX test data sets (test_data_set_N folders) or JSONL rows with "outputs" for golden checks.',
      { file },
    );
  }
  const fixture = await openNpyFixture(file);
  let reading: Promise<RowChunk> | undefined;
  try {
    const total = fixture.rows;
    if (total === 0) {
      throw arrayFixtureError(`${file} has no rows.`, 'The first axis of every array counts the rows.', fixture);
    }
    const signature = candidate.session.signature;
    const inputs = planInputArrays(fixture, signature.inputs, fields, options.mapping);
    const label = fieldArray(fixture, fields.label, 'label');
    if (!label) {
      throw arrayFixtureError(
        `${file} has no '${fields.label}' array of true labels.`,
        `Save the labels as ${fields.label}.npy (or np.savez(..., ${fields.label}=y)), or name their array in modelship.yml (fixtures.label).`,
        fixture,
      );
    }
    const id = fieldArray(fixture, fields.id, 'id');
    const slices = fields.slices.map((name) => {
      const array = fieldArray(fixture, name, 'slice');
      if (!array)
        throw arrayFixtureError(
          `${file} has no '${name}' array to slice by.`,
          'Save one value per row for each slice field.',
          fixture,
        );
      return array;
    });

    const batched = hasBatchDimension(signature);
    // A row's real size, as stored or as the model takes it, whichever is larger: the batch holds both.
    const inputRowBytes = inputs.reduce(
      (n, { input, array }) =>
        n + Math.max(array.rowBytes, array.rowElements * (datatypeFromOip(input.datatype)?.bytes ?? 0)),
      0,
    );
    const batchSize = batched
      ? Math.max(1, Math.floor(options.batchSize ?? autoBatchSize(signature, inputRowBytes)))
      : 1;
    const scorer = createScorer(options, candidate, baseline, log, 'Row');
    const { evaluation, latency, progress } = scorer.ctx;
    const plan = scorer.ctx.plan!;

    // A shard reads every row and keeps its own (row index mod count), so a read spans count batches,
    // up to a size that keeps memory small however many shards there are.
    const used = [...new Set([...inputs.map((i) => i.array), label, ...(id ? [id] : []), ...slices])];
    const rowBytes = used.reduce((n, a) => n + a.rowBytes, 0);
    // No more room than the file has rows, however large the batch size.
    const chunkRows = Math.min(
      total,
      Math.max(
        batchSize,
        Math.min(batchSize * (shard?.count ?? 1), Math.floor(MAX_SHARD_READ_BYTES / Math.max(1, rowBytes))),
      ),
    );
    let chunks: RowChunk[];
    let feeder: ArrayFeeds;
    try {
      chunks = [new RowChunk(used, chunkRows), new RowChunk(used, chunkRows)];
      feeder = new ArrayFeeds(inputs, chunkRows);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new ModelshipError(
        'EVALUATE_OPTIONS_INVALID',
        `A batch of ${chunkRows} rows of ${rowBytes} bytes each is more memory than this process can hold.`,
        'Set a smaller batch-size.',
        { file },
      );
    }
    let next = 0;
    const read = async (chunk: RowChunk): Promise<RowChunk> => {
      const start = next;
      const rows = Math.min(chunkRows, total - start);
      next += rows;
      await Promise.all(used.map((a) => a.readRows(chunk.bytes.get(a)!, rows)));
      chunk.index.length = 0;
      chunk.start = start;
      if (!shard) {
        chunk.rows = rows;
        return chunk;
      }
      // Keep this shard's rows, moved to the front of each array's bytes.
      let kept = 0;
      for (let r = 0; r < rows; r++) {
        if ((start + r) % shard.count !== shard.index) continue;
        for (const a of used) {
          const bytes = chunk.bytes.get(a)!;
          if (kept !== r) bytes.copyWithin(kept * a.rowBytes, r * a.rowBytes, (r + 1) * a.rowBytes);
        }
        chunk.index.push(start + r);
        kept++;
      }
      chunk.rows = kept;
      return chunk;
    };

    let turn = 0;
    reading = read(chunks[turn]);
    while (reading) {
      const chunk = await reading;
      turn ^= 1;
      reading = next < total ? read(chunks[turn]) : undefined;
      // A failed read surfaces when it is awaited; until then it must not count as unhandled.
      reading?.catch(() => undefined);
      const rows = chunk.rows;
      if (rows === 0) continue;
      const batch = new ChunkRows(
        chunk,
        chunk.values(label),
        id ? chunk.values(id) : undefined,
        slices.map((s) => chunk.values(s)),
      );
      const feeds = feeder.feeds((a) => chunk.bytes.get(a)!, rows);
      await scorer.score(feeds, batch);
    }
    progress.done(evaluation.rows);
    return {
      evaluation,
      latency,
      batchSize: Math.min(batchSize, evaluation.rows),
      totalRows: total,
      outputs: plan.fetch,
    };
  } finally {
    await reading?.catch(() => undefined);
    await fixture.close();
  }
}
