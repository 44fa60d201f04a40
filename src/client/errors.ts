/**
 * Errors the client raises. Every error from the gateway keeps its stable `code` (the API's
 * `error_code`) and, for REST, the HTTP `status`, so callers branch on codes, not on text.
 */
export class GatewayClientError extends Error {
  /** The API's error_code, or a client-side code: `network_error`, `timeout`, `bad_response`, `closed`. */
  readonly code: string;
  /** HTTP status for REST errors; 0 when the request never got an answer or came over the WebSocket. */
  readonly status: number;
  /** The device the error is about, when known. */
  readonly deviceId: string | undefined;
  /** Extra fields of the error body (e.g. `point`, `rule` of a validation_error). */
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, options: { status?: number; deviceId?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayClientError';
    this.code = code;
    this.status = options.status ?? 0;
    this.deviceId = options.deviceId;
    this.details = options.details ?? {};
  }
}
