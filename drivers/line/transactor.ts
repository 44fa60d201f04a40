/**
 * One outstanding request per port: a request is a line sent and (optionally) the first line
 * received that matches its answer pattern. Writes go before polls, because a technician waits
 * for them. Lines that are not the awaited answer are left to the caller (streams, unmatched).
 */
import { GatewayError } from '../../src/core/errors.js';

export type Verdict = 'answer' | 'error' | 'other';

export interface Request {
  /** The line to send, without delimiter. */
  line: string;
  /** Classifies a received line; undefined when no answer is awaited (fire and forget). */
  classify?: ((line: string) => Verdict) | undefined;
  priority: 'write' | 'poll';
  /** Who asked, for the error messages (`motor_01`). */
  deviceId: string;
  signal?: AbortSignal | undefined;
}

interface Job extends Request {
  resolve: (answer: string | null) => void;
  reject: (err: Error) => void;
}

export interface TransactorOptions {
  send: (line: string) => Promise<void>;
  /** How long an answer may take (ms). */
  timeoutMs: number;
  /** Called after a timeout, before the next request, to drop a half-received answer. */
  onTimeout: (req: Request) => void;
  /**
   * Silence kept after a timeout before the next request (ms): an answer that comes late is
   * dropped then, instead of being taken for the answer to the next request.
   */
  quietMs?: number;
  /** A late answer to a timed-out request was dropped. */
  onLate?: (line: string, req: Request) => void;
}

export class Transactor {
  private queue: Job[] = [];
  private current: Job | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The request that timed out last, while its late answer is still expected. */
  private late: Job | undefined;
  private quietTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TransactorOptions) {}

  /** Resolves with the answer line (null when none was awaited); rejects with a GatewayError. */
  request(req: Request): Promise<string | null> {
    return new Promise((resolve, reject) => {
      if (req.signal?.aborted) return reject(aborted(req));
      const job: Job = { ...req, resolve, reject };
      req.signal?.addEventListener('abort', () => this.abort(job), { once: true });
      if (req.priority === 'write') {
        const firstPoll = this.queue.findIndex((j) => j.priority === 'poll');
        this.queue.splice(firstPoll === -1 ? this.queue.length : firstPoll, 0, job);
      } else this.queue.push(job);
      this.pump();
    });
  }

  /** Offers a received line to the outstanding request; true when it took it. */
  offer(line: string): boolean {
    const job = this.current;
    if (job === undefined && this.late?.classify?.(line) === 'answer') {
      this.options.onLate?.(line, this.late);
      return true;
    }
    if (job?.classify === undefined) return false;
    const verdict = job.classify(line);
    if (verdict === 'other') return false;
    if (verdict === 'answer') this.finish(job, () => job.resolve(line));
    else this.finish(job, () => job.reject(new GatewayError('device_error', `${job.deviceId} answered "${job.line}" with "${line}"`)));
    return true;
  }

  /** Fails everything queued, e.g. when the port is lost. */
  failAll(err: GatewayError): void {
    const jobs = this.current ? [this.current, ...this.queue] : this.queue;
    this.queue = [];
    this.current = undefined;
    clearTimeout(this.timer);
    this.endQuiet();
    for (const j of jobs) j.reject(err);
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  private pump(): void {
    if (this.current !== undefined || this.late !== undefined) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    this.current = job;
    this.options.send(job.line).then(
      () => {
        if (this.current !== job) return;
        if (job.classify === undefined) return this.finish(job, () => job.resolve(null));
        this.timer = setTimeout(() => {
          if (this.current !== job) return;
          this.options.onTimeout(job);
          this.startQuiet(job);
          this.finish(job, () =>
            job.reject(new GatewayError('device_timeout', `${job.deviceId} did not answer "${job.line}" within ${this.options.timeoutMs} ms`)),
          );
        }, this.options.timeoutMs);
      },
      (err: Error) => {
        if (this.current !== job) return;
        this.finish(job, () => job.reject(new GatewayError('device_offline', `${job.deviceId}: cannot send "${job.line}": ${err.message}`)));
      },
    );
  }

  private startQuiet(job: Job): void {
    const quietMs = this.options.quietMs ?? 0;
    if (quietMs <= 0) return;
    this.late = job;
    this.quietTimer = setTimeout(() => {
      this.endQuiet();
      this.pump();
    }, quietMs);
  }

  private endQuiet(): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
    this.late = undefined;
  }

  private finish(job: Job, settle: () => void): void {
    if (this.current === job) {
      this.current = undefined;
      clearTimeout(this.timer);
    }
    settle();
    this.pump();
  }

  private abort(job: Job): void {
    const i = this.queue.indexOf(job);
    if (i !== -1) {
      this.queue.splice(i, 1);
      job.reject(aborted(job));
    } else if (this.current === job) {
      // Keep the port reserved until the answer or the timeout: a late answer must not be taken
      // for the next request's. The caller has already given up.
      job.reject(aborted(job));
    }
  }
}

function aborted(req: Request): GatewayError {
  return new GatewayError('device_timeout', `${req.deviceId}: "${req.line}" was abandoned (the write timed out)`);
}
