/**
 * A line-protocol port on the shared field-I/O engine: the serial transport carries the bytes,
 * the bus scheduler keeps one request in flight (writes before polls, timeouts, quiet after a
 * timeout, reopening a lost port with jittered backoff), and this file frames the bytes into
 * lines and tells the answer to the request in flight from every other line. Lines that are not
 * the answer (streamed values, noise) go to `onLine` while a request is outstanding.
 *
 * Line devices answer one by one and stream between the answers, so the scheduler's unit rests
 * and silent-line probing are off: a device that times out is counted by the driver
 * (offline_after), and a quiet device must not take its neighbours on the port offline.
 */
import type { Logger } from 'pino';
import { GatewayError } from '../../src/core/errors.js';
import { BusScheduler, type Attempt } from '../bus/scheduler.js';
import { SerialTransport } from '../bus/serial.js';
import type { Transport } from '../bus/transport.js';
import { BackoffError, BusStoppedError, BusTimeoutError, LinkDownError, TransactionCancelledError } from '../bus/errors.js';
import { delimiterText, type LinePortConfig } from './config.js';
import { LineFramer, type DiscardKind } from './framer.js';

export type Verdict = 'answer' | 'error' | 'other';

export interface LineRequest {
  /** The line to send, without delimiter. */
  line: string;
  /** Classifies a received line; undefined when no answer is awaited (fire and forget). */
  classify?: ((line: string) => Verdict) | undefined;
  priority: 'write' | 'poll';
  /** Who asked, for the error messages (`motor_01`). */
  deviceId: string;
  /** The requester gave up: a queued request is dropped, one on the wire keeps the port until it ends. */
  signal?: AbortSignal | undefined;
}

export interface LineLinkOptions {
  settings: LinePortConfig;
  log: Logger;
  onLine: (line: string) => void;
  onDiscard: (kind: DiscardKind, head: string) => void;
  onUp: () => void;
  onDown: (reason: string) => void;
  /** Every attempt to open the port that came to an end, opened or not (driver progress). */
  onAttempt?: () => void;
  /** A request went unanswered; its partial answer was dropped. */
  onTimeout?: (req: LineRequest) => void;
  /** A late answer to a timed-out request was dropped. */
  onLate?: (line: string, req: LineRequest) => void;
  /** Another carrier of the bytes (tests); a serial port by default. */
  transport?: Transport;
  random?: () => number;
}

/** First pause before reopening a lost port (ms); it doubles up to reconnect_max_ms. */
const FIRST_RETRY_MS = 100;

interface InFlight {
  req: LineRequest;
  resolve: (line: string) => void;
  reject: (err: Error) => void;
}

export class LineLink {
  readonly scheduler: BusScheduler;
  private readonly transport: Transport;
  private readonly delimiter: string;
  private readonly path: string;
  private framer: LineFramer;
  private current: InFlight | undefined;
  /** The request that timed out last, while its late answer is still expected. */
  private late: { req: LineRequest; until: number } | undefined;
  private downReported = false;
  private stopping = false;
  /** A technician's raw send through the gateway: the next lines received are its answer. */
  private capture: { want: number; lines: string[]; resolve: (lines: string[]) => void } | undefined;

  constructor(private readonly options: LineLinkOptions) {
    const s = options.settings;
    this.path = s.path;
    this.delimiter = delimiterText(s.delimiter);
    this.transport =
      options.transport ?? new SerialTransport({ path: s.path, baud: s.baud, parity: s.parity, dataBits: s.data_bits, stopBits: s.stop_bits });
    this.scheduler = new BusScheduler({
      id: `line:${s.path}`,
      transport: this.transport,
      timeoutMs: s.timeout_ms,
      retries: 0,
      quietMs: s.quiet_ms,
      gapMs: 0,
      backoffMaxMs: s.reconnect_max_ms,
      reconnectMinMs: Math.min(FIRST_RETRY_MS, s.reconnect_max_ms),
      reconnectMaxMs: s.reconnect_max_ms,
      log: options.log,
      ...(options.random === undefined ? {} : { random: options.random }),
    });
    this.framer = this.newFramer();
    this.transport.on('data', (chunk: Buffer) => this.framer.write(chunk));
    this.scheduler.on('up', () => this.up());
    this.scheduler.on('down', (reason: string) => this.down(`port ${s.path} lost: ${reason}`, 'port lost; reopening', reason));
    this.scheduler.on('connect_failed', (reason: string) => {
      this.options.onAttempt?.();
      // The first failure is news (the devices go offline); the next ones are the scheduler's debug lines.
      if (!this.downReported) this.down(`cannot open ${s.path}: ${reason}`, 'cannot open port; retrying', reason);
    });
  }

  get isOpen(): boolean {
    return this.scheduler.linkUp;
  }

  /** Bytes received since the last delimiter: a line still arriving, or a device that sends none. */
  get partialBytes(): number {
    return this.framer.pending;
  }

  /** How often the port was opened again after it was lost or could not be opened. */
  get reopens(): number {
    return this.scheduler.counters().reconnects;
  }

  async start(): Promise<void> {
    this.stopping = false;
    await this.scheduler.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.scheduler.stop();
  }

  /** Resolves with the answer line (null when none was awaited); rejects with a GatewayError. */
  request(req: LineRequest): Promise<string | null> {
    const { signal } = req;
    if (signal?.aborted) return Promise.reject(abandoned(req));
    const done = this.scheduler
      .submit<string | null>({
        device: req.deviceId,
        priority: req.priority,
        label: `"${req.line}"`,
        retries: 0,
        rest: false,
        mayStaySilent: true,
        ...(signal === undefined ? {} : { cancel: signal }),
        run: (attempt) => this.exchange(req, attempt),
      })
      .catch((err: unknown) => {
        throw this.toGatewayError(err, req);
      });
    if (signal === undefined) return done;
    // A requester that gave up hears so at once, even while its request still holds the port.
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(abandoned(req));
      signal.addEventListener('abort', onAbort, { once: true });
      done.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /**
   * `mgw line send` through the running gateway: sends `payload` as given (with the line ending
   * the technician chose) at background priority, between the polls, and resolves with the next
   * `lines` lines received on the port, whoever sent them, as the CLI's own `line send` does.
   * Rejects with unit_timeout after `timeoutMs` per line awaited, saying what did arrive.
   */
  send(payload: Buffer, lines: number, timeoutMs: number): Promise<string[]> {
    let got: string[] = [];
    return this.scheduler
      .submit<string[]>({
        device: 'commissioning',
        priority: 'background',
        label: JSON.stringify(payload.toString('latin1')),
        retries: 0,
        rest: false,
        mayStaySilent: true,
        timeoutMs: timeoutMs * Math.max(1, lines),
        run: (attempt) => {
          this.late = undefined;
          if (lines === 0) {
            this.transport.write(payload);
            return Promise.resolve([]);
          }
          return new Promise<string[]>((resolve) => {
            const capture = { want: lines, lines: [] as string[], resolve };
            got = capture.lines;
            this.capture = capture;
            attempt.onAbandon(() => {
              if (this.capture === capture) this.capture = undefined;
            });
            this.transport.write(payload);
          });
        },
      })
      .catch((err: unknown) => {
        if (err instanceof BusTimeoutError) {
          throw new GatewayError('unit_timeout', `no answer on ${this.path} within ${timeoutMs * Math.max(1, lines)} ms (got ${got.length === 0 ? 'nothing' : `${got.length} of ${lines} lines: ${JSON.stringify(got)}`})`);
        }
        if (err instanceof LinkDownError) throw new GatewayError('bus_down', `${err.message}; nothing was sent`);
        if (err instanceof BusStoppedError) throw new GatewayError('not_ready', `line:${this.path} is stopping`);
        throw new GatewayError('internal_error', `sending to ${this.path} failed: ${err instanceof Error ? err.message : String(err)}`);
      });
  }

  private exchange(req: LineRequest, attempt: Attempt): Promise<string | null> {
    const { log, settings } = this.options;
    this.late = undefined;
    const bytes = Buffer.from(req.line + this.delimiter, settings.encoding);
    if (log.isLevelEnabled('trace')) log.trace({ path: this.path, tx: req.line }, 'line sent');
    if (req.classify === undefined) {
      this.transport.write(bytes);
      return Promise.resolve(null);
    }
    return new Promise<string>((resolve, reject) => {
      const inFlight: InFlight = { req, resolve, reject };
      this.current = inFlight;
      attempt.onAbandon(() => {
        if (this.current !== inFlight) return;
        this.current = undefined;
        // A lost port or a stop is not the device's silence.
        if (this.stopping || !this.scheduler.linkUp) return;
        // Bytes of a cut-off answer must not prefix the next one.
        this.framer.reset();
        if (settings.quiet_ms > 0) this.late = { req, until: Date.now() + settings.quiet_ms };
        this.options.onTimeout?.(req);
      });
      this.transport.write(bytes);
    });
  }

  /** Gives a received line to the request in flight when it is its answer, else to `onLine`. */
  private received(line: string): void {
    const { log } = this.options;
    if (log.isLevelEnabled('trace')) log.trace({ path: this.path, rx: line }, 'line received');
    const capture = this.capture;
    if (capture !== undefined) {
      capture.lines.push(line);
      if (capture.lines.length >= capture.want) {
        this.capture = undefined;
        capture.resolve(capture.lines);
      }
      return;
    }
    const cur = this.current;
    if (cur === undefined) {
      const late = this.late;
      if (late !== undefined && Date.now() < late.until && late.req.classify?.(line) === 'answer') {
        this.options.onLate?.(line, late.req);
        return;
      }
      this.options.onLine(line);
      return;
    }
    const verdict = cur.req.classify!(line);
    if (verdict === 'other') {
      this.options.onLine(line);
      return;
    }
    this.current = undefined;
    if (verdict === 'answer') cur.resolve(line);
    else cur.reject(new GatewayError('device_error', `${cur.req.deviceId} answered "${cur.req.line}" with "${line}"`));
  }

  private up(): void {
    this.downReported = false;
    this.late = undefined;
    this.framer = this.newFramer();
    this.options.onAttempt?.();
    this.options.log.info({ path: this.path, baud: this.options.settings.baud }, 'port open');
    this.options.onUp();
  }

  private down(reason: string, msg: string, cause: string): void {
    this.downReported = true;
    this.current = undefined;
    this.late = undefined;
    // A line cut off by the loss is counted as incomplete, not taken for a line.
    this.framer.end();
    this.framer = this.newFramer();
    // The scheduler has warned already ('bus lost', 'bus cannot connect'); this line names the port.
    this.options.log.info({ path: this.path, reason: cause }, msg);
    this.options.onDown(reason);
  }

  private newFramer(): LineFramer {
    const s = this.options.settings;
    const framer = new LineFramer({ delimiter: this.delimiter, encoding: s.encoding, maxLength: s.max_line_length, onDiscard: this.options.onDiscard });
    framer.on('data', (line: string) => this.received(line));
    return framer;
  }

  private toGatewayError(err: unknown, req: LineRequest): GatewayError {
    if (err instanceof GatewayError) return err;
    if (err instanceof BusTimeoutError) return new GatewayError('device_timeout', `${req.deviceId} did not answer "${req.line}" within ${this.options.settings.timeout_ms} ms`);
    if (err instanceof TransactionCancelledError) return abandoned(req);
    if (err instanceof LinkDownError) return new GatewayError('device_offline', `${req.deviceId}: ${err.message}`);
    if (err instanceof BusStoppedError) return new GatewayError('device_offline', `line:${this.path} is stopping`);
    if (err instanceof BackoffError) return new GatewayError('device_offline', `${req.deviceId}: ${err.message}`);
    return new GatewayError('internal_error', `${req.deviceId}: "${req.line}" failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function abandoned(req: LineRequest): GatewayError {
  return new GatewayError('device_timeout', `${req.deviceId}: "${req.line}" was abandoned (the write timed out)`);
}
