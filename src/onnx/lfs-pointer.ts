/**
 * Git LFS pointer files: what a checkout without LFS leaves where the model should be. They are small text
 * files (the spec keeps them under 1024 bytes) that start with a version line.
 */

export const LFS_POINTER_MAX_BYTES = 1024;

export interface LfsPointer {
  oid?: string;
  size?: number;
  /** What to do about it. */
  hint: string;
}

const VERSION_LINE = /^version https:\/\/(git-lfs\.github\.com\/spec\/v\d+|hawser\.github\.com\/spec\/v1)\s*$/;

export function parseLfsPointer(bytes: Uint8Array): LfsPointer | undefined {
  if (bytes.byteLength > LFS_POINTER_MAX_BYTES || bytes.byteLength < 8) return undefined;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const lines = text.split('\n');
  if (!VERSION_LINE.test(lines[0].trimEnd())) return undefined;
  const pointer: LfsPointer = {
    hint:
      "Check the repository out with LFS: 'lfs: true' on actions/checkout, or 'git lfs pull' locally " +
      '(and make sure the file was pushed to LFS storage).',
  };
  for (const line of lines.slice(1)) {
    const [key, ...rest] = line.trim().split(' ');
    const value = rest.join(' ');
    if (key === 'oid') pointer.oid = value;
    if (key === 'size' && /^\d+$/.test(value)) pointer.size = Number(value);
  }
  return pointer;
}

export function describeLfsPointer(pointer: LfsPointer): string {
  const parts = [pointer.oid, pointer.size !== undefined ? `${pointer.size} bytes` : undefined].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no object id';
}
