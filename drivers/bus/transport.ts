/**
 * A transport carries bytes to and from one physical line: a serial port or a TCP connection.
 * It knows nothing of Modbus. The bus scheduler opens it, reopens it when it is lost, and is
 * the only writer.
 *
 * Events: 'data' (Buffer) for every chunk received; 'close' (Error | undefined) when the line
 * was lost without close() being called (port unplugged, peer closed the connection).
 */
import type { EventEmitter } from 'node:events';

export interface Transport extends EventEmitter {
  /** For logs and error messages: `/dev/ttyUSB0 19200 8E1`, `tcp 10.0.0.7:502`. */
  readonly description: string;
  readonly isOpen: boolean;
  /** Opens the line; rejects with a message a technician can act on. */
  open(): Promise<void>;
  /** Closes the line; never rejects; no 'close' event follows. */
  close(): Promise<void>;
  write(data: Buffer): void;
}
