/**
 * One BusScheduler per physical line (a serial port, or a TCP connection that may front
 * several units). It is the only writer on the line and keeps exactly one transaction in
 * flight, because an RTU line is half-duplex and Modbus RTU replies carry no transaction id:
 * a second request before the first one's answer makes answers ambiguous.
 *
 * - Writes go ahead of polls: an operator waiting for a motor to stop outranks a routine read.
 * - Background transactions (a technician's read, write or scan through the running gateway)
 *   go last: only while no write or poll is queued, and for at most BACKGROUND_SHARE of the
 *   line's time, so a full scan cannot starve the polls. Their timeouts say nothing about the
 *   line or the polled units: no rest, no silent-line detection, no reconnect.
 * - Each attempt has a timeout (the bus's, or the transaction's own for a slow unit); a
 *   timed-out attempt is retried up to `retries` times. A transaction may ask for a pause
 *   since the previous one ended (`delayMs`), for slow converters.
 * - After a timeout the line stays quiet for `quietMs`, so a late reply to the abandoned
 *   request has arrived (and been discarded) before the next request goes out; bytes that
 *   arrive meanwhile push the next request on until the line has been silent for `gapMs`.
 * - A unit whose transaction failed after every retry rests with exponential backoff and
 *   jitter: its polls are refused without touching the line until the rest is over, so one
 *   dead unit costs the healthy ones at most one timeout sequence per backoff period. A
 *   transaction can opt out (`rest: false`) when its requester keeps finer rests itself (per
 *   read block of a unit that answers its other blocks).
 * - An answer that says the unit is absent (a gateway's "target device failed to respond")
 *   fails like a timeout, without a retry.
 * - A silent line: when units that were answering time out one after another with no answer
 *   from any unit in between, the line itself is silent (cable cut, adapter dead, power lost).
 *   It takes three units in a row (both units, on a line where only two answer): two units
 *   that die together (one power supply, one cabinet) are two dead units, and the next one
 *   polled, which answers, says the line is fine. The scheduler says so at once ('silent'),
 *   so every unit on it can go offline together, and then probes the line with one poll per
 *   rest, taking turns among the units, instead of letting each unit time out on its own. The
 *   first answer ends it ('answering') and lifts every unit's rest. After a unit falls silent,
 *   a queued poll of a unit still answering goes first, ahead of the retries: that witness is
 *   what tells dead units from a dead line, and it costs nothing.
 * - A lost line (port unplugged, peer restarted) is reopened with backoff while the daemon
 *   keeps running; transactions meanwhile fail fast with LinkDownError.
 *
 * Events: 'up'; 'down' (reason) when an open line is lost; 'connect_failed' (reason, retry ms)
 * after each failed attempt to open it; 'silent' (reason) and 'answering' for the whole line.
 *
 * Timing uses the global setTimeout and `now()`, so tests drive it with fake timers.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Transport } from './transport.js';
import { backoffDelay } from './backoff.js';
import { BackoffError, BusStoppedError, BusTimeoutError, isAbsentUnitAnswer, LinkDownError, TransactionCancelledError } from './errors.js';

/**
 * Tells a running attempt that it was abandoned (timed out). One is made per attempt on the
 * polling hot path, where an AbortController costs several times more.
 */
export class Attempt {
  private abandoned = false;
  private listener: (() => void) | undefined;

  get aborted(): boolean {
    return this.abandoned;
  }

  /** Calls `fn` once when the attempt is abandoned (at once if it already is). */
  onAbandon(fn: () => void): void {
    if (this.abandoned) fn();
    else this.listener = fn;
  }

  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    const fn = this.listener;
    this.listener = undefined;
    fn?.();
  }
}

/** Why a transaction ranks where it does: see the file comment. */
export type Priority = 'write' | 'poll' | 'background';

/**
 * The most of the line's time background work (commissioning reads, writes and scans through
 * the running gateway) may take: after a background transaction that held the line for t ms,
 * the next one waits at least t * (1 - share) / share, and it goes out only while no write or
 * poll is queued. Polls keep the rest of the line.
 */
// A fifth left the polls at most 80 % (the bound the product promises) and 69 % on a busy machine.
export const BACKGROUND_SHARE = 0.1;

/** Answering units that must fall silent in a row before the whole line counts as silent (see above). */
export const SILENT_AFTER_UNITS = 3;

export interface Transaction<T> {
  /** The unit the transaction addresses (for backoff and per-device counters). */
  device: string;
  priority: Priority;
  /** Sends one request and resolves with its decoded answer; `attempt` is abandoned when it timed out. */
  run: (attempt: Attempt) => Promise<T>;
  /** First backoff step for this device (its poll interval), ms. */
  backoffBaseMs?: number;
  /**
   * The requester gave up (a control write past its timeout): if the transaction is still
   * queued it is dropped, so a write the client was told failed does not happen later.
   */
  cancel?: AbortSignal;
  /** Extra attempts after a timeout for this transaction (default: the bus setting). */
  retries?: number;
  /** Per attempt for this transaction (ms; default: the bus setting): a slow unit on a fast line. */
  timeoutMs?: number;
  /** Silence after a timeout of this transaction (ms; default: the bus setting). */
  quietMs?: number;
  /**
   * Silence kept between the end of the previous transaction and this request (ms): slow
   * serial converters and units that need a pause between requests.
   */
  delayMs?: number;
  /** Short text for logs: `read holding 0+10`. */
  label?: string;
  /**
   * Whether the unit's rest applies (default true): a poll of a resting unit is refused, and a
   * failure puts the unit at rest. False when the requester keeps its own finer rests.
   */
  rest?: boolean;
  /**
   * The requester expects no answer may come (a read that went unanswered before and is tried
   * again after its rest): its silence says nothing about the line.
   */
  mayStaySilent?: boolean;
  /**
   * Whether a failed attempt that was not a timeout is tried again (with the retries a timeout
   * gets): a garbled answer on a noisy line, for a requester that asks for it.
   */
  retryOn?: (error: unknown) => boolean;
}

export interface BusSchedulerOptions {
  id: string;
  transport: Transport;
  /** Per attempt (ms). */
  timeoutMs: number;
  /** Extra attempts after a timeout. */
  retries: number;
  /** Silence after a timeout before the next request (ms). */
  quietMs: number;
  /** Silence between any two transactions (ms): the RTU inter-frame gap; 0 for TCP. */
  gapMs: number;
  /** Longest rest of a failing unit (ms). */
  backoffMaxMs: number;
  /**
   * Reopen the line after this many timeouts in a row with no answer from any unit (0: never).
   * For TCP: a gateway that rebooted without closing our connection answers nothing on it.
   */
  reconnectAfterTimeouts?: number;
  /** First and longest pause between attempts to reopen the line (ms). */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  log: Logger;
  random?: () => number;
  now?: () => number;
}

interface Pending {
  tx: Transaction<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  attempt: number;
}

interface DeviceStats {
  /** The unit's last transaction was answered (a timeout of such a unit may mean a silent line). */
  answering: boolean;
  /** The unit is polled (not only reached by a technician's background work). */
  polled: boolean;
  transactions: number;
  timeouts: number;
  retries: number;
  errors: number;
  rtt_ms_sum: number;
  rtt_count: number;
  failures: number;
  restUntil: number;
}

export interface BusCounters {
  transactions: number;
  answered: number;
  timeouts: number;
  retries: number;
  errors: number;
  link_failures: number;
  reconnects: number;
  rtt_ms_sum: number;
  rtt_count: number;
  rtt_ms_max: number;
  busy_ms: number;
  queue_depth: number;
  link_up: number;
  /** Times the whole line fell silent. */
  line_silences: number;
  /** 1 while the line is silent and being probed. */
  line_silent: number;
  /** Probes sent while the line was silent. */
  line_probes: number;
}

export class BusScheduler extends EventEmitter {
  private readonly writes: Pending[] = [];
  private readonly polls: Pending[] = [];
  private readonly background: Pending[] = [];
  /** A background transaction waits for its share of the line until then. */
  private backgroundAt = 0;
  private backgroundTimer: NodeJS.Timeout | undefined;
  private inFlight: { pending: Pending; fail: (e: Error) => void } | undefined;
  private readyAt = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAttempt = 0;
  private started = false;
  private stopped = false;
  private lastLinkError = '';
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly devices = new Map<string, DeviceStats>();
  private readonly stats: Omit<BusCounters, 'queue_depth' | 'link_up' | 'line_silent'> = {
    transactions: 0,
    answered: 0,
    timeouts: 0,
    retries: 0,
    errors: 0,
    link_failures: 0,
    reconnects: 0,
    rtt_ms_sum: 0,
    rtt_count: 0,
    rtt_ms_max: 0,
    busy_ms: 0,
    line_silences: 0,
    line_probes: 0,
  };
  /**
   * Milliseconds since epoch the scheduler last finished something: an answer, a timeout, a
   * failed attempt to reopen the line. A queue that froze stops it; a dead line does not (a
   * restart would not bring the line back, the reconnect loop will).
   */
  lastProgress: number | null = null;
  /** Timeouts in a row with no answer from any unit in between. */
  private silentTimeouts = 0;
  /** Units that were answering and then timed out, since the last answer from any unit. */
  private readonly fallenSilent = new Set<string>();
  /** Set while the whole line is silent: how it is probed. */
  private silence: { failures: number; probeAt: number; probing: boolean; probed: Set<string>; seen: Set<string> } | undefined;
  /** When the last byte arrived from the line. */
  private lastRxAt = 0;
  /** When the last transaction ended (answered, failed or timed out). */
  private lastEndAt = 0;

  constructor(private readonly options: BusSchedulerOptions) {
    super();
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.onTransportClose = this.onTransportClose.bind(this);
    this.onTransportData = this.onTransportData.bind(this);
  }

  get id(): string {
    return this.options.id;
  }

  get linkUp(): boolean {
    return this.options.transport.isOpen;
  }

  /** Starts opening the line. Resolves after the first attempt, whether or not it worked: a bus that is down must not stop the daemon. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopped = false;
    this.options.transport.on('close', this.onTransportClose);
    this.options.transport.on('data', this.onTransportData);
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pumpTimer);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.backgroundTimer);
    this.backgroundTimer = undefined;
    this.pumpTimer = undefined;
    this.reconnectTimer = undefined;
    this.options.transport.off('close', this.onTransportClose);
    this.options.transport.off('data', this.onTransportData);
    const err = new BusStoppedError(`bus ${this.id} stopped`);
    this.inFlight?.fail(err);
    this.failQueued(err);
    await this.options.transport.close();
    this.started = false;
  }

  /** Queues a transaction; resolves with its answer or rejects (BusTimeoutError, LinkDownError, BackoffError, or the run's own error). */
  submit<T>(tx: Transaction<T>): Promise<T> {
    if (this.stopped || !this.started) return Promise.reject(new BusStoppedError(`bus ${this.id} is not running`));
    if (!this.linkUp) return Promise.reject(new LinkDownError(this.linkDownMessage()));
    const { cancel } = tx;
    if (cancel?.aborted) return Promise.reject(new TransactionCancelledError(`${tx.label ?? 'the request'} for ${tx.device} was cancelled before it was sent`));
    if (tx.priority === 'poll') {
      const refused = this.refusePoll(tx);
      if (refused !== undefined) return Promise.reject(refused);
    }
    return new Promise<T>((resolve, reject) => {
      const queue = this.queueOf(tx);
      // A cancelled transaction leaves the queue; one already on the wire runs to its end.
      const onCancel = () => {
        const i = queue.indexOf(pending);
        if (i < 0) return;
        queue.splice(i, 1);
        reject(new TransactionCancelledError(`${tx.label ?? 'the request'} for ${tx.device} was cancelled before it was sent`));
      };
      const settle =
        <A>(fn: (a: A) => void) =>
        (a: A) => {
          cancel?.removeEventListener('abort', onCancel);
          fn(a);
        };
      const pending: Pending = { tx: tx as Transaction<unknown>, resolve: settle(resolve as (v: unknown) => void), reject: settle(reject), attempt: 0 };
      cancel?.addEventListener('abort', onCancel, { once: true });
      queue.push(pending);
      // A poll or write need not wait for background work's turn to come round.
      if (tx.priority !== 'background' && this.backgroundTimer !== undefined) {
        clearTimeout(this.backgroundTimer);
        this.backgroundTimer = undefined;
      }
      this.pump();
    });
  }

  private queueOf(tx: Transaction<unknown>): Pending[] {
    return tx.priority === 'write' ? this.writes : tx.priority === 'poll' ? this.polls : this.background;
  }

  /**
   * For the watchdog: when the scheduler last moved. An idle scheduler (nothing queued, nothing
   * in flight, e.g. between slow polls) is not stalled, so it reports now.
   */
  progressAt(): number | null {
    if (this.inFlight === undefined && this.writes.length === 0 && this.polls.length === 0 && this.background.length === 0) return this.now();
    return this.lastProgress;
  }

  /** Milliseconds until a failing unit may be polled again (0: now). */
  restRemaining(device: string): number {
    const d = this.devices.get(device);
    return d === undefined ? 0 : Math.max(0, d.restUntil - this.now());
  }

  /** True while the whole line is silent (see the file comment). */
  get lineSilent(): boolean {
    return this.silence !== undefined;
  }

  /**
   * Why a poll may not go on the line now, or undefined when it may. While the line is silent,
   * one poll per rest goes out as the probe, from a unit that has not probed yet this round.
   */
  private refusePoll(tx: Transaction<unknown>): BackoffError | undefined {
    if (tx.rest !== false) {
      const rest = this.restRemaining(tx.device);
      if (rest > 0) return new BackoffError(`${tx.device} is resting for ${rest} ms after failing to answer`, rest);
    }
    const s = this.silence;
    if (s === undefined) return undefined;
    s.seen.add(tx.device);
    const wait = s.probing ? this.options.timeoutMs : Math.max(0, s.probeAt - this.now());
    if (wait > 0) return new BackoffError(`bus ${this.id}: no unit answers on this line; it is probed again in ${wait} ms`, wait);
    if (s.probed.has(tx.device)) {
      // The units take turns: a new round once every unit that asked meanwhile had one.
      for (const d of s.seen) if (!s.probed.has(d)) return new BackoffError(`bus ${this.id}: no unit answers on this line; another unit probes it next`, 0);
      s.probed.clear();
    }
    s.probed.add(tx.device);
    s.probing = true;
    this.stats.line_probes++;
    return undefined;
  }

  counters(): BusCounters {
    return {
      ...this.stats,
      queue_depth: this.writes.length + this.polls.length + this.background.length,
      link_up: this.linkUp ? 1 : 0,
      line_silent: this.silence === undefined ? 0 : 1,
    };
  }

  deviceCounters(device: string): Record<string, number> {
    const d = this.deviceStats(device);
    return {
      transactions: d.transactions,
      timeouts: d.timeouts,
      retries: d.retries,
      errors: d.errors,
      rtt_ms_sum: d.rtt_ms_sum,
      rtt_count: d.rtt_count,
      consecutive_failures: d.failures,
    };
  }

  private pump(): void {
    if (this.inFlight !== undefined || this.stopped || this.pumpTimer !== undefined) return;
    let queue = this.writes.length > 0 ? this.writes : this.polls;
    if (queue.length === 0) {
      if (this.background.length === 0 || this.backgroundTimer !== undefined) return;
      // Background work waits for its share of the line, and one turn of the event loop: a
      // poll that just got its answer submits its next block in that turn and goes first.
      const wait = Math.max(0, this.backgroundAt - this.now());
      this.backgroundTimer = setTimeout(() => {
        this.backgroundTimer = undefined;
        if (this.inFlight !== undefined || this.writes.length > 0 || this.polls.length > 0 || this.pumpTimer !== undefined) return this.pump();
        this.pumpBackground();
      }, wait);
      return;
    }
    this.pumpQueue(queue);
  }

  private pumpBackground(): void {
    if (this.inFlight !== undefined || this.stopped || this.background.length === 0) return;
    this.pumpQueue(this.background);
  }

  private pumpQueue(queue: Pending[]): void {
    if (!this.linkUp) {
      this.failQueued(new LinkDownError(this.linkDownMessage()));
      return;
    }
    // A unit still sending (a late reply) keeps the line busy until it has been quiet for the gap.
    const delay = queue[0]!.tx.delayMs ?? 0;
    const wait = Math.max(this.readyAt, this.lastRxAt + this.options.gapMs, delay > 0 ? this.lastEndAt + delay : 0) - this.now();
    if (wait > 0) {
      this.pumpTimer = setTimeout(() => {
        this.pumpTimer = undefined;
        this.pump();
      }, wait);
      return;
    }
    this.execute(queue.shift()!);
  }

  private execute(pending: Pending): void {
    const { tx } = pending;
    const dev = this.deviceStats(tx.device);
    pending.attempt++;
    this.stats.transactions++;
    dev.transactions++;
    if (tx.priority === 'poll') dev.polled = true;
    const attempt = new Attempt();
    const started = this.now();
    const timeoutMs = tx.timeoutMs ?? this.options.timeoutMs;
    let settled = false;

    const background = tx.priority === 'background';
    const finish = (outcome: { ok: true; value: unknown } | { ok: false; error: unknown; timeout: boolean; link: boolean }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.inFlight = undefined;
      const t = this.now();
      this.lastEndAt = t;
      const elapsed = t - started;
      this.stats.busy_ms += elapsed;
      this.lastProgress = t;
      if (outcome.ok || !outcome.timeout) this.silentTimeouts = 0;
      if (!outcome.ok && !outcome.timeout && !outcome.link && isAbsentUnitAnswer(outcome.error)) {
        // The line answered for a unit that is not there: a failure like a timeout, no retry.
        this.stats.errors++;
        dev.errors++;
        this.readyAt = t + this.options.gapMs;
        if (!background) {
          this.unitSilent(tx);
          this.failed(tx);
        }
        pending.reject(outcome.error);
      } else if (outcome.ok) {
        this.stats.answered++;
        this.stats.rtt_ms_sum += elapsed;
        this.stats.rtt_count++;
        this.stats.rtt_ms_max = Math.max(this.stats.rtt_ms_max, elapsed);
        dev.rtt_ms_sum += elapsed;
        dev.rtt_count++;
        this.answered(tx.device);
        this.readyAt = t + this.options.gapMs;
        pending.resolve(outcome.value);
      } else if (outcome.timeout) {
        attempt.abandon();
        this.stats.timeouts++;
        dev.timeouts++;
        // Background work probes units that may not exist: its silence says nothing about the line.
        if (!background) this.silentTimeouts++;
        this.readyAt = t + Math.max(tx.quietMs ?? this.options.quietMs, this.options.gapMs);
        const silentNow = !background && this.unitSilent(tx);
        if (!silentNow && pending.attempt <= this.retriesOf(tx) && !this.stopped) {
          this.stats.retries++;
          dev.retries++;
          this.requeueRetry(pending);
        } else {
          if (!background) {
            this.failed(tx);
            this.maybeReopen();
          }
          pending.reject(
            new BusTimeoutError(
              `${tx.device} did not answer ${tx.label ?? 'the request'} within ${timeoutMs} ms (${pending.attempt} attempt${pending.attempt === 1 ? '' : 's'})`,
              pending.attempt,
            ),
          );
        }
      } else if (outcome.link) {
        attempt.abandon();
        this.stats.link_failures++;
        pending.reject(outcome.error);
      } else {
        // An answer that is an error (a Modbus exception, a malformed reply) still proves the unit is alive.
        this.stats.errors++;
        dev.errors++;
        this.answered(tx.device);
        this.readyAt = t + this.options.gapMs;
        if (tx.retryOn?.(outcome.error) === true && pending.attempt <= (tx.retries ?? this.options.retries) && !this.stopped) {
          this.stats.retries++;
          dev.retries++;
          this.requeueRetry(pending);
        } else {
          pending.reject(outcome.error);
        }
      }
      if (background) {
        // Its share of the line: the time it held the line (with the quiet after it) buys the polls nine times as much.
        const held = Math.max(this.readyAt, t) - started;
        this.backgroundAt = started + held + (held * (1 - BACKGROUND_SHARE)) / BACKGROUND_SHARE;
      }
      this.pump();
    };

    const timer = setTimeout(() => finish({ ok: false, error: undefined, timeout: true, link: false }), timeoutMs);
    this.inFlight = {
      pending,
      fail: (error) => finish({ ok: false, error, timeout: false, link: true }),
    };
    let run: Promise<unknown>;
    try {
      run = tx.run(attempt);
    } catch (error) {
      run = Promise.reject(error);
    }
    run.then(
      (value) => finish({ ok: true, value }),
      (error: unknown) => finish({ ok: false, error, timeout: false, link: error instanceof LinkDownError }),
    );
  }

  private retriesOf(tx: Transaction<unknown>): number {
    // A probe of a silent line is one attempt: the next probe is the retry.
    if (this.silence !== undefined && tx.priority === 'poll') return 0;
    return tx.retries ?? this.options.retries;
  }

  /**
   * A retry goes to the front of its queue, except a poll's retry while the line may be silent:
   * then one poll of another unit goes first, and its outcome tells a dead unit from a dead line.
   */
  private requeueRetry(pending: Pending): void {
    const queue = this.queueOf(pending.tx);
    const other = queue.length > 0 && queue[0]!.tx.device !== pending.tx.device;
    if (pending.tx.priority === 'poll' && this.fallenSilent.size > 0 && other) queue.splice(1, 0, pending);
    else queue.unshift(pending);
  }

  private answered(device: string): void {
    const d = this.deviceStats(device);
    d.failures = 0;
    d.restUntil = 0;
    d.answering = true;
    this.fallenSilent.clear();
    if (this.silence !== undefined) this.lineAnswers(device);
  }

  /**
   * A unit did not answer (a timeout, or an answer that it is absent). Returns true when that
   * made (or kept) the whole line silent.
   */
  private unitSilent(tx: Transaction<unknown>): boolean {
    const d = this.deviceStats(tx.device);
    const s = this.silence;
    if (s !== undefined) {
      if (s.probing && tx.priority === 'poll') {
        s.probing = false;
        s.failures++;
        s.probeAt = this.now() + backoffDelay(tx.backoffBaseMs ?? this.options.timeoutMs, this.options.backoffMaxMs, s.failures, this.random);
      }
      return true;
    }
    if (!d.answering || tx.mayStaySilent === true) return false;
    d.answering = false;
    this.fallenSilent.add(tx.device);
    if (this.fallenSilent.size < this.silentAfter()) {
      this.promoteWitness();
      return false;
    }
    this.enterSilence(tx);
    return true;
  }

  /** How many answering units must fall silent in a row before the line counts as silent. */
  private silentAfter(): number {
    // Units a technician's scan reached but nothing polls cannot be witnesses: not counted.
    let answering = this.fallenSilent.size;
    for (const d of this.devices.values()) if (d.answering && d.polled) answering++;
    return Math.max(2, Math.min(SILENT_AFTER_UNITS, answering));
  }

  /** The first queued poll of a unit that still answers goes next: its outcome tells a dead unit from a dead line. */
  private promoteWitness(): void {
    const i = this.polls.findIndex((p) => !this.fallenSilent.has(p.tx.device) && this.devices.get(p.tx.device)?.answering === true);
    if (i > 0) this.polls.unshift(...this.polls.splice(i, 1));
  }

  private enterSilence(tx: Transaction<unknown>): void {
    const units = [...this.fallenSilent];
    this.fallenSilent.clear();
    for (const d of this.devices.values()) d.answering = false;
    const first = backoffDelay(tx.backoffBaseMs ?? this.options.timeoutMs, this.options.backoffMaxMs, 1, this.random);
    this.silence = { failures: 1, probeAt: this.now() + first, probing: false, probed: new Set(), seen: new Set() };
    this.stats.line_silences++;
    const reason = `no unit on bus ${this.id} answers (${units.join(', ')} fell silent in a row)`;
    this.options.log.warn({ bus: this.id, units, probe_ms: first }, 'line silent; probing it');
    // The polls queued now would each time out in turn; the units go offline together instead.
    const queued = this.polls.splice(0);
    this.emit('silent', reason);
    for (const p of queued) p.reject(new BackoffError(`bus ${this.id}: ${reason}`, first));
  }

  private lineAnswers(device: string): void {
    this.silence = undefined;
    // The units' rests came from the line's silence, not from the units.
    for (const d of this.devices.values()) {
      d.failures = 0;
      d.restUntil = 0;
    }
    this.options.log.info({ bus: this.id, unit: device }, 'line answers again');
    this.emit('answering');
  }

  private onTransportData(): void {
    this.lastRxAt = this.now();
  }

  private maybeReopen(): void {
    const limit = this.options.reconnectAfterTimeouts ?? 0;
    if (limit <= 0 || this.silentTimeouts < limit || this.stopped) return;
    this.silentTimeouts = 0;
    const { transport, log } = this.options;
    log.warn({ bus: this.id, timeouts: limit }, 'no unit answers on this connection; reopening it');
    // Closing does not emit 'close'; take the same path a lost line takes.
    void transport.close().then(() => this.onTransportClose(new Error(`${limit} timeouts in a row; reopened`)));
  }

  private failed(tx: Transaction<unknown>): void {
    const d = this.deviceStats(tx.device);
    d.answering = false;
    if (tx.rest === false) return;
    d.failures++;
    const base = tx.backoffBaseMs ?? this.options.timeoutMs;
    d.restUntil = this.now() + backoffDelay(base, this.options.backoffMaxMs, d.failures, this.random);
  }

  private deviceStats(device: string): DeviceStats {
    let d = this.devices.get(device);
    if (d === undefined) {
      d = { answering: false, polled: false, transactions: 0, timeouts: 0, retries: 0, errors: 0, rtt_ms_sum: 0, rtt_count: 0, failures: 0, restUntil: 0 };
      this.devices.set(device, d);
    }
    return d;
  }

  private failQueued(err: Error): void {
    const all = [...this.writes.splice(0), ...this.polls.splice(0), ...this.background.splice(0)];
    for (const p of all) p.reject(err);
  }

  private linkDownMessage(): string {
    return `bus ${this.id} (${this.options.transport.description}) is not connected${this.lastLinkError ? `: ${this.lastLinkError}` : ''}`;
  }

  private async connect(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.stopped) return;
    const { transport, log } = this.options;
    try {
      await transport.open();
      if (this.stopped) {
        await transport.close();
        return;
      }
      if (this.reconnectAttempt > 0) this.stats.reconnects++;
      this.reconnectAttempt = 0;
      this.lastLinkError = '';
      this.readyAt = this.now() + this.options.gapMs;
      this.lastProgress = this.now();
      this.silentTimeouts = 0;
      this.silence = undefined;
      this.fallenSilent.clear();
      log.info({ bus: this.id, line: transport.description }, 'bus connected');
      this.emit('up');
      this.pump();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.lastProgress = this.now();
      this.reconnectAttempt++;
      const delay = backoffDelay(this.options.reconnectMinMs, this.options.reconnectMaxMs, this.reconnectAttempt, this.random);
      // Log a new reason at warn; repeats of the same reason at debug, so a long outage does not flood the journal.
      if (message !== this.lastLinkError) log.warn({ bus: this.id, retry_ms: delay, err: message }, 'bus cannot connect');
      else log.debug({ bus: this.id, retry_ms: delay, attempt: this.reconnectAttempt }, 'bus still cannot connect');
      this.lastLinkError = message;
      this.reconnectTimer = setTimeout(() => void this.connect(), delay);
      this.emit('connect_failed', message, delay);
    }
  }

  private onTransportClose(err?: Error): void {
    if (this.stopped) return;
    const message = err?.message ?? 'line closed';
    this.lastLinkError = message;
    this.options.log.warn({ bus: this.id, err: message }, 'bus lost; reconnecting');
    const down = new LinkDownError(`bus ${this.id} (${this.options.transport.description}) was lost: ${message}`);
    this.inFlight?.fail(down);
    this.failQueued(down);
    this.emit('down', message);
    this.reconnectAttempt = 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(
      () => void this.connect(),
      backoffDelay(this.options.reconnectMinMs, this.options.reconnectMaxMs, 1, this.random),
    );
  }
}
