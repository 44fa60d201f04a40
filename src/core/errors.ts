/**
 * One error class for the whole gateway. `code` is the API's `error_code`; its HTTP status and
 * CLI exit status come from the one table in src/protocol/errors.ts.
 */
import { ERROR_CODES, type ErrorCode } from '../protocol/errors.js';

export { ERROR_CODES, type ErrorCode };

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.details = options.details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  /** The JSON body a client sees: never a stack trace. */
  toJSON(): { error_code: ErrorCode; message: string } & Record<string, unknown> {
    return { error_code: this.code, message: this.message, ...(this.details ?? {}) };
  }
}

/** Wraps anything thrown into a GatewayError; unknown errors become internal_error. */
export function asGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('internal_error', 'internal error', { cause: err });
}
