// The one error type the evaluator throws. `type` follows the Prometheus HTTP API's
// errorType values so routes can pass it through unchanged.

export type PromQLErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'too_many_samples';

export class PromQLError extends Error {
  readonly type: PromQLErrorType;
  /** 0-based character offset into the query, for parse errors. */
  readonly position?: number;

  constructor(type: PromQLErrorType, message: string, position?: number) {
    super(message);
    this.name = 'PromQLError';
    this.type = type;
    if (position !== undefined) this.position = position;
  }
}

export function badData(message: string, position?: number): PromQLError {
  return new PromQLError('bad_data', message, position);
}

export function execError(message: string): PromQLError {
  return new PromQLError('execution', message);
}
