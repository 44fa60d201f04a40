/**
 * Exit statuses of `mgw` (sysexits.h), documented in `mgw --help` and README.md.
 */
export const EXIT = {
  ok: 0,
  /** bad arguments or options */
  usage: 64,
  /** the gateway or device refused the input (validation, unknown device) */
  dataerr: 65,
  /** the gateway is unreachable, or a device is offline */
  unavailable: 69,
  /** a bug: see the log */
  software: 70,
  /** temporary: timeout, no answer on the bus, rate limit; try again */
  tempfail: 75,
  /** the device answered with an error (e.g. a Modbus exception) */
  protocol: 76,
  /** not allowed: missing or wrong token */
  noperm: 77,
  /** the configuration is invalid */
  config: 78,
} as const;

export const EXIT_HELP = `Exit status:
  0   ok
  64  usage: bad arguments or options
  65  rejected input: validation error, unknown device or point
  69  unavailable: gateway unreachable, device offline
  70  internal error (a bug; see the log)
  75  temporary failure: timeout, no answer on the bus, or rate limit; try again
  76  the device answered with an error (e.g. a Modbus exception)
  77  not allowed: missing or wrong token, or role too low
  78  invalid configuration`;

/** An error the CLI prints as one line and exits with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
