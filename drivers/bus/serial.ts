/**
 * Serial transport on `serialport`. The port is created with `autoOpen: false` so opening is
 * the scheduler's decision (and its retry loop), and a fresh SerialPort object is made for each
 * open: after a USB adapter is unplugged the old handle is useless.
 */
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import type { Transport } from './transport.js';

export interface SerialTransportOptions {
  path: string;
  baud: number;
  parity: 'none' | 'even' | 'odd' | 'mark' | 'space';
  dataBits: 5 | 6 | 7 | 8;
  stopBits: 1 | 2;
}

export class SerialTransport extends EventEmitter implements Transport {
  readonly description: string;
  private port: SerialPort | undefined;
  private closing = false;

  constructor(private readonly options: SerialTransportOptions) {
    super();
    const { path, baud, parity, dataBits, stopBits } = options;
    this.description = `${path} ${baud} ${dataBits}${parity[0]!.toUpperCase()}${stopBits}`;
  }

  get isOpen(): boolean {
    return this.port?.isOpen === true;
  }

  async open(): Promise<void> {
    const { path, baud, parity, dataBits, stopBits } = this.options;
    const port = new SerialPort({ path, baudRate: baud, parity, dataBits, stopBits, autoOpen: false });
    await new Promise<void>((resolve, reject) => {
      port.open((err) => {
        if (err) reject(new Error(`cannot open serial port ${path}: ${describeOpenError(err)}`));
        else resolve();
      });
    });
    // Bytes a device sent before we were listening belong to no request of ours.
    await new Promise<void>((resolve) => port.flush(() => resolve()));
    this.closing = false;
    this.port = port;
    port.on('data', (chunk: Buffer) => this.emit('data', chunk));
    port.on('error', () => {
      // Errors on an open port are followed by 'close'; that is where we react.
    });
    port.once('close', (err: Error | null) => {
      if (this.port === port) this.port = undefined;
      if (!this.closing) this.emit('close', err ?? new Error(`serial port ${path} closed`));
    });
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    this.closing = true;
    if (port === undefined || !port.isOpen) return;
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  write(data: Buffer): void {
    this.port?.write(data);
  }
}

function describeOpenError(err: Error): string {
  const m = err.message;
  if (/ENOENT|No such file/i.test(m)) return 'no such device (unplugged, or a wrong path?)';
  if (/EACCES|Permission denied/i.test(m)) return 'permission denied (is the service user in the dialout group?)';
  if (/EBUSY|Resource busy|Cannot lock/i.test(m)) return 'busy (another program holds the port)';
  return m;
}
