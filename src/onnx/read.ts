/** Reading a model file from disk, with errors a user can act on. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelshipError } from '../errors.js';
import { decodeModel } from './decode.js';
import type { OnnxModel } from './types.js';

const LFS_POINTER_PREFIX = 'version https://git-lfs.github.com/spec/';

/** A folder stands for `<folder>/model.onnx`; anything else must be an existing file. */
export async function resolveModelPath(path: string): Promise<string> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') {
      throw new ModelshipError(
        'MODEL_NOT_FOUND',
        `Model not found: ${path}`,
        'Check the model path (relative to the repository root).',
        {
          file: path,
        },
      );
    }
    throw new ModelshipError(
      'MODEL_UNREADABLE',
      `Cannot read model ${path}: ${error.message}`,
      'Check the file permissions.',
      {
        file: path,
      },
    );
  });
  if (info.isDirectory()) {
    const inner = join(path, 'model.onnx');
    const innerInfo = await stat(inner).catch(() => undefined);
    if (!innerInfo?.isFile()) {
      throw new ModelshipError(
        'MODEL_NOT_FOUND',
        `No model.onnx in folder ${path}`,
        'Point the model path at the .onnx file, or name the file model.onnx.',
        { file: path },
      );
    }
    return inner;
  }
  if (!info.isFile()) {
    throw new ModelshipError(
      'MODEL_NOT_FOUND',
      `Model path is not a file: ${path}`,
      'Point the model path at an .onnx file.',
      {
        file: path,
      },
    );
  }
  return path;
}

/** True when the bytes are a Git LFS pointer (the model itself was never fetched). */
export function isLfsPointer(bytes: Uint8Array): boolean {
  if (bytes.length > 1024 || bytes.length < LFS_POINTER_PREFIX.length) return false;
  return (
    Buffer.from(bytes.buffer, bytes.byteOffset, LFS_POINTER_PREFIX.length).toString('latin1') === LFS_POINTER_PREFIX
  );
}

/**
 * Reads and decodes a model (a file, or a folder holding model.onnx). The returned model's raw_data
 * views point into `bytes`; `path` is the file actually read.
 */
export async function readModelFile(path: string): Promise<{ model: OnnxModel; bytes: Uint8Array; path: string }> {
  const file = await resolveModelPath(path);
  const buffer = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new ModelshipError(
      'MODEL_UNREADABLE',
      `Cannot read model ${file}: ${error.message}`,
      'Check the file permissions.',
      {
        file,
      },
    );
  });
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (isLfsPointer(bytes)) {
    throw new ModelshipError(
      'MODEL_LFS_POINTER',
      `${file} is a Git LFS pointer, not the model`,
      'Fetch the LFS objects: `git lfs pull`, or `lfs: true` on actions/checkout.',
      { file },
    );
  }
  try {
    return { model: decodeModel(bytes), bytes, path: file };
  } catch (error) {
    if (error instanceof ModelshipError) {
      throw new ModelshipError(error.code, error.message, error.hint, { file }, { cause: error });
    }
    throw error;
  }
}
