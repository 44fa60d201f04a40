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
