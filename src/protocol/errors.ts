/**
 * Every `error_code` the gateway answers with, stable and documented in README.md: `status` is
 * the HTTP status a REST client sees, `exit` what `mgw` exits with when the gateway answers it
 * (sysexits.h numbering, as src/cli/exit.ts lists them). One table, read by the server and the
 * CLI alike. Browser-safe.
 */
export const ERROR_CODES = {
  invalid_json: { status: 400, exit: 65, about: 'the body or message is not valid JSON' },
  invalid_request: { status: 400, exit: 65, about: 'the request is not of the expected shape' },
  invalid_message: { status: 400, exit: 65, about: 'a WebSocket message misses a field or has a wrong one' },
  unknown_action: { status: 400, exit: 65, about: 'a WebSocket message names an action the server does not know' },
  unauthorized: { status: 401, exit: 77, about: 'no valid token was given' },
  forbidden: { status: 403, exit: 77, about: "the token's role may not do this" },
  not_found: { status: 404, exit: 65, about: 'no such path' },
  device_not_found: { status: 404, exit: 65, about: 'no device with that id' },
  alarm_not_found: { status: 404, exit: 65, about: 'no alarm with that id' },
  method_not_allowed: { status: 405, exit: 65, about: 'the path exists but not for this method' },
  history_limit: { status: 422, exit: 65, about: 'a history request spans more time or returns more rows than history.store allows; narrow it or use max_points' },
  alarm_state: { status: 409, exit: 65, about: 'the alarm is not in a state where that action means anything (e.g. ack of an acknowledged alarm)' },
  payload_too_large: { status: 413, exit: 65, about: 'the body is larger than server.max_body_bytes' },
  unsupported_media_type: { status: 415, exit: 65, about: 'the body is not application/json' },
  validation_error: { status: 422, exit: 65, about: 'unknown point, read-only point, wrong type or out of range' },
  rate_limited: { status: 429, exit: 75, about: 'too many requests or messages; slow down' },
  too_many_subscriptions: { status: 429, exit: 75, about: 'a WebSocket connection reached limits.max_subscriptions' },
  too_many_connections: { status: 503, exit: 75, about: 'server.max_connections reached' },
  not_ready: { status: 503, exit: 69, about: 'the gateway is starting or stopping' },
  audit_unavailable: { status: 503, exit: 69, about: 'the audit trail cannot be written (full disk, read-only file system); control writes are refused until it can' },
  device_offline: { status: 503, exit: 69, about: 'the device does not answer; the write was not attempted' },
  device_timeout: { status: 504, exit: 75, about: 'the device did not confirm the write in time' },
  device_error: { status: 502, exit: 76, about: 'the device refused the write (e.g. a Modbus exception)' },
  bus_not_found: { status: 404, exit: 65, about: 'no Modbus bus with that id in the configuration' },
  bus_not_held: { status: 409, exit: 69, about: 'the bus is configured but this gateway does not hold its line (no device on it): talk to it directly (`mgw modbus --direct`)' },
  bus_down: { status: 503, exit: 69, about: "the bus's port or connection is not open right now (lost, refused); nothing was sent" },
  unit_timeout: { status: 504, exit: 75, about: 'the Modbus unit did not answer a commissioning request (after every try)' },
  modbus_exception: { status: 502, exit: 76, about: 'the Modbus unit answered a commissioning request with an exception (exception_code, exception)' },
  invalid_config: { status: 422, exit: 78, about: 'a reload found errors in the configuration file; the gateway keeps running on the previous one' },
  internal_error: { status: 500, exit: 70, about: 'a bug in the gateway; the log has the details' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** What `mgw` exits with when the gateway answers `code`; a code this table lacks is a bug (70). */
export function exitForCode(code: string): number {
  return Object.hasOwn(ERROR_CODES, code) ? ERROR_CODES[code as ErrorCode].exit : 70;
}
