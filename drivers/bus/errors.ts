/** Why a transaction on a bus did not produce an answer. */

/** No answer within the timeout, after every retry. */
export class BusTimeoutError extends Error {
  constructor(
    message: string,
    readonly attempts: number,
  ) {
    super(message);
    this.name = 'BusTimeoutError';
  }
}

/** The port or connection is not open (lost, or not yet reopened); nothing was sent. */
export class LinkDownError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkDownError';
  }
}

/** The unit failed recently and is resting; nothing was sent. */
export class BackoffError extends Error {
  constructor(
    message: string,
    readonly remainingMs: number,
  ) {
    super(message);
    this.name = 'BackoffError';
  }
}

/** The bus was stopped while the transaction waited. */
export class BusStoppedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BusStoppedError';
  }
}

/** The requester cancelled the transaction before it went on the line; nothing was sent. */
export class TransactionCancelledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransactionCancelledError';
  }
}

/**
 * An answer from the line that says the addressed unit is not there, such as a Modbus gateway's
 * exception 0x0A (no path to the unit) or 0x0B (the unit behind it did not respond). The line
 * answered, but for the unit it is the same as silence: it fails like a timeout (without a
 * retry: the gateway has already waited for the unit) and puts the unit at rest.
 */
export interface AbsentUnitAnswer {
  readonly unitAbsent: true;
}

export function isAbsentUnitAnswer(err: unknown): err is AbsentUnitAnswer {
  return typeof err === 'object' && err !== null && (err as { unitAbsent?: unknown }).unitAbsent === true;
}
