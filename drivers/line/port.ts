/**
 * One serial port carrying a line protocol: opens it (autoOpen off, so a missing port is our
 * error to handle, not an unhandled event), flushes stale bytes, frames lines, and when the port
 * disappears (USB unplugged, PTY peer gone) reopens it with backoff until it returns.
 */
import { SerialPort } from 'serialport';
import type { Logger } from 'pino';
import { LineFramer, type DiscardKind } from './framer.js';
import { delimiterText, type LinePortConfig } from './config.js';

export interface LinePortOptions {
  settings: LinePortConfig;
  log: Logger;
  onLine: (line: string) => void;
  onDiscard: (kind: DiscardKind, head: string) => void;
  onOpen: () => void;
  onClose: (reason: string) => void;
  /** Every attempt to open the port that came to an end, opened or not (driver progress). */
  onAttempt?: () => void;
}

const FIRST_RETRY_MS = 100;

export class LinePort {
  private port: SerialPort | undefined;
  private framer: LineFramer | undefined;
  private running = false;
  private ready = false;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private failedOpens = 0;
  /** How often the port was opened again after it was lost. */
  reopens = 0;
  private everOpened = false;
  readonly delimiter: string;

  constructor(private readonly options: LinePortOptions) {
    this.delimiter = delimiterText(options.settings.delimiter);
  }

  get isOpen(): boolean {
    return this.ready;
  }

  start(): void {
    this.running = true;
    this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    const port = this.port;
    this.port = undefined;
    this.ready = false;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  /** Sends one line (the delimiter is appended) and resolves once it left the buffer. */
  async send(line: string): Promise<void> {
    const port = this.port;
    if (!this.ready || port === undefined) throw new Error('port is not open');
    const { log } = this.options;
    if (log.isLevelEnabled('trace')) log.trace({ path: this.options.settings.path, tx: line }, 'line sent');
    await new Promise<void>((resolve, reject) => {
      port.write(line + this.delimiter, this.options.settings.encoding, (err) => (err ? reject(err) : undefined));
      port.drain((err) => (err ? reject(err) : resolve()));
    });
  }

  /** Drops a partial line, so bytes of a late or cut-off answer cannot prefix the next one. */
  discardPartial(): void {
    this.framer?.reset();
  }

  private connect(): void {
    if (!this.running) return;
    const s = this.options.settings;
    const port = new SerialPort({
      path: s.path,
      baudRate: s.baud,
      parity: s.parity,
      dataBits: s.data_bits,
      stopBits: s.stop_bits,
      autoOpen: false,
    });
    this.port = port;
    port.on('error', (err) => this.options.log.debug({ path: s.path, err: err.message }, 'port error'));
    port.open((err) => {
      this.options.onAttempt?.();
      if (err) return this.openFailed(port, err.message);
      // Bytes that queued up while nobody listened belong to no request of ours. The Unix binding
      // flushes while it sets the termios; this flush also covers bytes that arrived since.
      port.flush((flushErr) => {
        if (flushErr) return this.openFailed(port, flushErr.message);
        if (!this.running || this.port !== port) {
          port.close(() => undefined);
          return;
        }
        while (port.read() !== null) {
          // drain whatever the stream buffered before the flush
        }
        this.attach(port);
      });
    });
  }

  private attach(port: SerialPort): void {
    const s = this.options.settings;
    const framer = new LineFramer({
      delimiter: this.delimiter,
      encoding: s.encoding,
      maxLength: s.max_line_length,
      onDiscard: this.options.onDiscard,
    });
    this.framer = framer;
    framer.on('data', (line: string) => {
      if (this.options.log.isLevelEnabled('trace')) this.options.log.trace({ path: s.path, rx: line }, 'line received');
      this.options.onLine(line);
    });
    port.pipe(framer);
    port.once('close', (err: (Error & { disconnected?: boolean }) | null) => {
      port.unpipe(framer);
      framer.end();
      this.lost(port, err?.message ?? 'closed');
    });
    this.ready = true;
    this.retryMs = FIRST_RETRY_MS;
    this.failedOpens = 0;
    if (this.everOpened) this.reopens++;
    this.everOpened = true;
    this.options.log.info({ path: s.path, baud: s.baud }, 'port open');
    this.options.onOpen();
  }

  private lost(port: SerialPort, reason: string): void {
    if (this.port !== port) return;
    this.ready = false;
    if (!this.running) return;
    this.options.log.warn({ path: this.options.settings.path, reason }, 'port lost; reopening');
    this.options.onClose(`port ${this.options.settings.path} lost: ${reason}`);
    this.scheduleRetry();
  }

  private openFailed(port: SerialPort, reason: string): void {
    if (port.isOpen) port.close(() => undefined);
    if (!this.running || this.port !== port) return;
    this.failedOpens++;
    // The first failure is news; the next ones (once per backoff step) are not.
    const level = this.failedOpens === 1 ? 'warn' : 'debug';
    this.options.log[level]({ path: this.options.settings.path, reason, retry_ms: this.retryMs }, 'cannot open port; retrying');
    if (this.failedOpens === 1) this.options.onClose(`cannot open ${this.options.settings.path}: ${reason}`);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.options.settings.reconnect_max_ms);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
