/**
 * Containment of external data. A model's tensors may point at files next to it; a hostile model can point
 * at anything the runner can read (`../../.ssh/id_rsa`, `/etc/passwd`, a symlink, a hard link). Every rule
 * of onnx.checker holds here, plus the byte count each tensor declares, so the runtime never reads a byte
 * outside the model folder or past the end of a file.
 */
import { lstat, open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { allTensors, bytesPerElement, elemTypeName, elementCount, type Finding } from './checks.js';
import { describeLfsPointer, LFS_POINTER_MAX_BYTES, parseLfsPointer } from './lfs-pointer.js';
import type { OnnxModel, TensorInfo } from './types.js';

export type ExternalDataCheckId = 'external-data.location' | 'external-data.file' | 'external-data.size';

export interface ExternalDataFile {
  /** As written in the model, e.g. `weights.bin`. */
  location: string;
  /** Absolute path inside the model folder. */
  path: string;
  size: number;
}

export interface ExternalDataResult {
  findings: Finding<ExternalDataCheckId>[];
  /** The files that passed every rule, sorted by location. */
  files: ExternalDataFile[];
  /** How many tensors keep their data outside the model file. */
  tensors: number;
}

/** Why a location may not be followed, or undefined when it is a plain relative path. */
export function unsafeLocation(location: string): string | undefined {
  if (location === '') return 'it is empty';
  if (location.includes('\0')) return 'it contains a NUL byte';
  if (location.startsWith('/') || location.startsWith('\\') || /^[A-Za-z]:/.test(location)) {
    return 'it is an absolute path';
  }
  if (location.split(/[\\/]/).some((segment) => segment === '..')) return "it contains '..'";
  return undefined;
}

interface FileVerdict {
  ok: boolean;
  size: number;
  path: string;
}

export async function checkExternalData(model: OnnxModel, modelDir: string): Promise<ExternalDataResult> {
  const findings: Finding<ExternalDataCheckId>[] = [];
  const fail = (check: ExternalDataCheckId, message: string) => findings.push({ check, severity: 'fail', message });
  const verdicts = new Map<string, Promise<FileVerdict>>();
  let tensors = 0;
  const folder = await realpath(modelDir);

  const users: Array<{ tensor: TensorInfo; where: string }> = [];
  for (const entry of allTensors(model.graph)) {
    if (entry.tensor.storage === 'external') users.push(entry);
  }
  for (const { tensor, where } of users) {
    tensors++;
    const label = `${where} '${tensor.name}'`;
    const location = tensor.external?.location;
    if (location === undefined) {
      fail('external-data.location', `${label} keeps its data externally but gives no location.`);
      continue;
    }
    const unsafe = unsafeLocation(location);
    if (unsafe) {
      fail(
        'external-data.location',
        `${label} points at '${location}', and ${unsafe}. External data must be a relative path inside the model ` +
          `folder; re-save the model with onnx.save_model(..., save_as_external_data=True, location='weights.bin').`,
      );
      continue;
    }
    const key = path.normalize(location);
    let verdict = verdicts.get(key);
    if (!verdict) {
      verdict = inspectFile(folder, location, fail);
      verdicts.set(key, verdict);
    }
    const file = await verdict;
    if (file.ok) checkTensorBytes(tensor, label, location, file.size, fail);
  }

  const files: ExternalDataFile[] = [];
  for (const [location, verdict] of verdicts) {
    const file = await verdict;
    if (file.ok) files.push({ location, path: file.path, size: file.size });
  }
  files.sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
  return { findings, files, tensors };
}

async function inspectFile(
  folder: string,
  location: string,
  fail: (check: ExternalDataCheckId, message: string) => void,
): Promise<FileVerdict> {
  const target = path.join(folder, location);
  const bad = (message: string): FileVerdict => {
    fail('external-data.file', `External data '${location}' ${message}`);
    return { ok: false, size: 0, path: target };
  };
  let stats;
  try {
    stats = await lstat(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return bad(
        `is missing from the model folder ${folder}. Keep the external data files next to model.onnx ` +
          `(pass the folder, not a copy of model.onnx alone).`,
      );
    }
    return bad(`cannot be read (${code ?? String(error)}).`);
  }
  if (stats.isSymbolicLink()) {
    return bad('is a symbolic link; external data must be a regular file inside the model folder. Copy the file in.');
  }
  let real: string;
  try {
    real = await realpath(target);
  } catch (error) {
    return bad(`cannot be resolved (${(error as NodeJS.ErrnoException).code ?? String(error)}).`);
  }
  if (!real.startsWith(folder + path.sep)) {
    return bad(`resolves to ${real}, outside the model folder (a linked directory). Copy the data into the folder.`);
  }
  if (!stats.isFile()) return bad('is not a regular file.');
  if (stats.nlink !== 1) {
    return bad(
      `has ${stats.nlink} hard links; a hard link can expose a file from outside the model folder. ` +
        `Store a plain copy instead.`,
    );
  }
  if (stats.size <= LFS_POINTER_MAX_BYTES) {
    const handle = await open(real, 'r');
    try {
      const head = Buffer.alloc(stats.size);
      await handle.read(head, 0, stats.size, 0);
      const pointer = parseLfsPointer(head);
      if (pointer) return bad(`is a Git LFS pointer (${describeLfsPointer(pointer)}), not the data. ${pointer.hint}`);
    } finally {
      await handle.close();
    }
  }
  return { ok: true, size: stats.size, path: real };
}

function checkTensorBytes(
  tensor: TensorInfo,
  label: string,
  location: string,
  fileSize: number,
  fail: (check: ExternalDataCheckId, message: string) => void,
): void {
  const offset = tensor.external?.offset ?? 0;
  const length = tensor.external?.length;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    fail('external-data.size', `${label} has offset ${offset} in '${location}'; it must be a non-negative integer.`);
    return;
  }
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
    fail('external-data.size', `${label} has length ${length} in '${location}'; it must be a non-negative integer.`);
    return;
  }
  const count = elementCount(tensor.dims);
  const size = bytesPerElement(tensor.elemType);
  const declared = count !== undefined && size !== undefined ? count * size : undefined;
  const span = length ?? declared;
  if (span !== undefined && offset + span > fileSize) {
    fail(
      'external-data.size',
      `${label} reads bytes ${offset}..${offset + span} of '${location}', which holds ${fileSize}. ` +
        `The data file is truncated or belongs to another model; re-export both together.`,
    );
    return;
  }
  if (length !== undefined && declared !== undefined && length !== declared) {
    fail(
      'external-data.size',
      `${label} declares dims [${tensor.dims.join(', ')}] of ${elemTypeName(tensor.elemType)} = ${declared} bytes, ` +
        `but its external data length is ${length}. Re-export the model.`,
    );
  }
}
