import { ModelshipError } from '../errors.js';

/** A numeric flag value, or undefined when the flag was not given. */
export function cliNumber(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) {
    throw new ModelshipError(
      'CLI_USAGE',
      `${flag} must be a number, got '${value}'.`,
      `Run 'modelship ${command} --help'.`,
    );
  }
  return parsed;
}
