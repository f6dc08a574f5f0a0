/**
 * What every action entry shares: reading inputs the way the runner passes them, a Logger backed by
 * @actions/core, and the one place a thrown error becomes an annotation and a failed step.
 */
import * as core from '@actions/core';
import { ModelshipError, isModelshipError } from '../errors.js';
import type { Logger } from '../log.js';

/** `''` (an input the user left out) becomes undefined. */
export function getOptionalInput(name: string): string | undefined {
  const value = core.getInput(name);
  return value === '' ? undefined : value;
}

export function getRequiredInput(name: string): string {
  const value = getOptionalInput(name);
  if (value === undefined) {
    throw new ModelshipError(
      'INPUT_MISSING',
      `Input '${name}' is required.`,
      `Add '${name}:' under 'with:' in the workflow step.`,
    );
  }
  return value;
}

export function getBooleanInput(name: string, fallback: boolean): boolean {
  const value = getOptionalInput(name);
  if (value === undefined) return fallback;
  if (/^(true|yes|on|1)$/i.test(value)) return true;
  if (/^(false|no|off|0)$/i.test(value)) return false;
  throw new ModelshipError('INPUT_INVALID', `Input '${name}' must be true or false, got '${value}'.`);
}

export function getNumberInput(name: string): number | undefined {
  const value = getOptionalInput(name);
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) {
    throw new ModelshipError('INPUT_INVALID', `Input '${name}' must be a number, got '${value}'.`);
  }
  return parsed;
}

type AnnotationLocation = { file?: string; line?: number; column?: number };
const toProperties = (location?: AnnotationLocation): core.AnnotationProperties | undefined =>
  location?.file ? { file: location.file, startLine: location.line, startColumn: location.column } : undefined;

export const actionLogger: Logger = {
  info: (message) => core.info(message),
  warn: (message, location) => core.warning(message, toProperties(location)),
  error: (message, location) => core.error(message, toProperties(location)),
  debug: (message) => core.debug(message),
  group: (name, work) => core.group(name, work),
};

/**
 * Runs an action body; any failure becomes one `::error` annotation and a failed step, never a stack trace.
 * (core.setFailed would print a second `::error`, so the exit code is set directly.)
 */
export async function runAction(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (isModelshipError(error)) {
      const text = error.hint ? `${error.message} ${error.hint}` : error.message;
      core.error(text, { title: error.code, ...toProperties(error.location) });
    } else {
      const message = error instanceof Error ? error.message : String(error);
      core.error(`Unexpected error: ${message}`);
      if (error instanceof Error && error.stack) core.debug(error.stack);
    }
    process.exitCode = core.ExitCode.Failure;
  }
}
