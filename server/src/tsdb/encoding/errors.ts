// Typed errors shared by the tsdb packages.

/**
 * Data on disk does not match the format: bad magic, checksum mismatch, a field
 * that runs past its section, an unsorted table... `file` names the file (as the
 * caller passed it, usually a path) and `offset` the byte position where the bad
 * structure starts (-1 when no position applies, e.g. a missing file).
 */
export class CorruptionError extends Error {
  override readonly name = 'CorruptionError';
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, message: string, options?: {cause?: unknown}) {
    super(`${file}${offset >= 0 ? `@${offset}` : ''}: ${message}`, options);
    this.file = file;
    this.offset = offset;
    /** The message without the location prefix. */
    this.reason = message;
  }

  readonly reason: string;
}

/** Narrowing helper. */
export function isCorruptionError(e: unknown): e is CorruptionError {
  return e instanceof CorruptionError;
}

/** A writer was called out of order or with invalid input (a programming error, not corruption). */
export class WriterError extends Error {
  override readonly name = 'WriterError';
}
