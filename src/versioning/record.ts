/**
 * The machine-readable record of a released version. It rides in the annotated tag's message and in
 * the release body as an HTML comment (invisible when rendered), so the next run can learn the
 * previous version's digest and signature from the tag or the release alone, without the model file.
 */
import type { Signature } from '../runtime/tensor.js';

export const RECORD_SCHEMA = 'modelship/version@1';

export interface VersionRecord {
  schema: typeof RECORD_SCHEMA;
  name: string;
  version: string;
  digest: string;
  signature: Signature;
  labels?: string[];
  bump?: string;
  /** The commit the tag points at. */
  commit?: string;
}

const MARKER = 'modelship:version';
const blockRe = /<!--\s*modelship:version\s+([\s\S]*?)\s*-->/;

/** One line: `<!-- modelship:version {...} -->`. `<` and `>` are escaped so no label can end the comment. */
export function embedRecord(record: VersionRecord): string {
  const json = JSON.stringify(record).replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
  return `<!-- ${MARKER} ${json} -->`;
}

/** The record in a tag message or release body; undefined when there is none or it does not read. */
export function extractRecord(text: string | null | undefined): VersionRecord | undefined {
  const match = text ? blockRe.exec(text) : null;
  if (!match) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(match[1]);
  } catch {
    return undefined;
  }
  return isRecord(value) ? value : undefined;
}

const isTensorList = (value: unknown): boolean =>
  Array.isArray(value) &&
  value.every(
    (t) =>
      typeof t === 'object' &&
      t !== null &&
      typeof (t as { name?: unknown }).name === 'string' &&
      typeof (t as { datatype?: unknown }).datatype === 'string' &&
      Array.isArray((t as { shape?: unknown }).shape),
  );

function isRecord(value: unknown): value is VersionRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  const signature = r.signature as Record<string, unknown> | undefined;
  return (
    r.schema === RECORD_SCHEMA &&
    typeof r.name === 'string' &&
    typeof r.version === 'string' &&
    typeof r.digest === 'string' &&
    typeof signature === 'object' &&
    signature !== null &&
    isTensorList(signature.inputs) &&
    isTensorList(signature.outputs) &&
    (r.labels === undefined || (Array.isArray(r.labels) && r.labels.every((l) => typeof l === 'string')))
  );
}

/** The annotated tag's message: a human line, the digest, and the record. */
export function tagMessage(record: VersionRecord, reason: string): string {
  return [
    `Register ${record.name} version ${record.version}`,
    '',
    `digest: ${record.digest}`,
    `bump: ${record.bump ?? 'first version'} (${reason})`,
    '',
    embedRecord(record),
    '',
  ].join('\n');
}
