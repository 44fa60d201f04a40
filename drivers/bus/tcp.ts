/**
 * TCP transport: one connection to a Modbus TCP server or serial-to-TCP gateway. Nagle is off
 * (requests are small and latency-bound); keep-alive finds connections that died silently.
 */
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import type { Transport } from './transport.js';

export interface TcpTransportOptions {
  host: string;
  port: number;
  /** How long a connection attempt may take (ms). */
  connectTimeoutMs: number;
}

export class TcpTransport extends EventEmitter implements Transport {
  readonly description: string;
  private socket: Socket | undefined;

  constructor(private readonly options: TcpTransportOptions) {
    super();
    this.description = `tcp ${options.host}:${options.port}`;
  }

  get isOpen(): boolean {
    return this.socket !== undefined && !this.socket.destroyed && this.socket.readyState === 'open';
  }

  async open(): Promise<void> {
    const { host, port, connectTimeoutMs } = this.options;
    const socket = new Socket();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`cannot connect to ${host}:${port}: no answer within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`cannot connect to ${host}:${port}: ${describeConnectError(err)}`));
      });
      socket.connect({ host, port }, () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve();
      });
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.emit('data', chunk));
    socket.on('error', () => {
      // 'close' follows every error; we react there.
    });
    socket.once('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.emit('close', new Error(`connection to ${host}:${port} closed by the peer`));
    });
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  write(data: Buffer): void {
    this.socket?.write(data);
  }
}

function describeConnectError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running and the port right?)';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable (check cabling and IP settings)';
    case 'ENOTFOUND':
      return 'unknown host name';
    default:
      return err.message;
  }
}
