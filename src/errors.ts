/**
 * The one error type a step throws on purpose. The action entry turns it into a single `::error`
 * annotation (with file and line when known) and the CLI into one readable line; anything else is a bug.
 */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

export class ModelshipError extends Error {
  override readonly name = 'ModelshipError';
  constructor(
    /** Stable machine-readable code, e.g. `CONFIG_INVALID`, `MODEL_NOT_FOUND`. */
    readonly code: string,
    message: string,
    /** What the user can do about it. */
    readonly hint?: string,
    readonly location?: SourceLocation,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isModelshipError(error: unknown): error is ModelshipError {
  return error instanceof ModelshipError;
}

/** One line for a terminal or an annotation: message, then the hint. */
export function describeError(error: unknown): string {
  if (isModelshipError(error)) {
    if (!error.hint) return error.message;
    return `${error.message}${/[.!?:]$/.test(error.message) ? '' : '.'} ${error.hint}`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
