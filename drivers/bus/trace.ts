/**
 * A frame trace: wraps a transport and reports every chunk written and received, as hex, with
 * the time since the last request went out. For commissioning (`log.level: trace`,
 * `mgw modbus --trace`): the bytes are those on the line, before any framing looked at them.
 */
import { EventEmitter } from 'node:events';
import type { Transport } from './transport.js';

export interface TraceEntry {
  dir: 'tx' | 'rx';
  hex: string;
  /** Milliseconds since the last tx (0 for a tx). */
  ms: number;
}

/** "01 03 00 00 00 02 C4 0B" */
export function hexBytes(data: Buffer): string {
  return data.toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1 ');
}

export class TracingTransport extends EventEmitter implements Transport {
  private lastTx = performance.now();

  constructor(
    private readonly inner: Transport,
    private readonly report: (entry: TraceEntry) => void,
  ) {
    super();
    inner.on('data', (chunk: Buffer) => {
      this.report({ dir: 'rx', hex: hexBytes(chunk), ms: Number((performance.now() - this.lastTx).toFixed(1)) });
      this.emit('data', chunk);
    });
    inner.on('close', (err?: Error) => this.emit('close', err));
  }

  get description(): string {
    return this.inner.description;
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  open(): Promise<void> {
    return this.inner.open();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  write(data: Buffer): void {
    this.lastTx = performance.now();
    this.report({ dir: 'tx', hex: hexBytes(data), ms: 0 });
    this.inner.write(data);
  }
}
