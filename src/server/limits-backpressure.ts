/**
 * Slow consumers. A client that stops reading (a frozen panel, a laptop that went to sleep) must
 * not make the gateway buffer for it without end. uWS stops queueing for a socket once it holds
 * server.max_backpressure_bytes, but in the version we ship that socket stays in the open set,
 * silently missing updates. So we close it (1013, "try again later"): the client reconnects and
 * resumes with `since`, and nothing is lost silently.
 */
import type { WebSocket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import type { ConnectionGuard } from './auth-guard.js';

type Guarded = { guard: ConnectionGuard; clientId?: string };

export const SLOW_CLOSE_CODE = 1013;

/** Closes a socket whose queue is over its limit; safe to call more than once. */
export function closeSlowConsumer(ws: WebSocket<Guarded>, log: Logger, queued = ws.getBufferedAmount()): void {
  const data = ws.getUserData();
  if (data.guard.closing) return;
  data.guard.closing = true;
  log.warn({ client: data.clientId, token: data.guard.principal.name, queued_bytes: queued }, 'websocket closed: slow consumer over its backpressure limit');
  ws.end(SLOW_CLOSE_CODE, 'too slow: over the backpressure limit; reconnect and resume with since');
}

export interface BackpressureSweepOptions {
  sockets: ReadonlySet<WebSocket<Guarded>>;
  /** server.max_backpressure_bytes */
  limitBytes: number;
  log: Logger;
  /** How often queues are checked (ms). Published updates are fanned out natively, so a
   *  subscriber that only receives them is found by this sweep rather than by a send result. */
  intervalMs?: number;
}

export class BackpressureSweep {
  private timer: NodeJS.Timeout | undefined;
  closed = 0;

  constructor(private readonly options: BackpressureSweepOptions) {}

  start(): void {
    this.timer = setInterval(() => this.sweep(), this.options.intervalMs ?? 250);
    this.timer.unref();
  }

  /** Closes every socket over the limit; returns how many. */
  sweep(): number {
    const over: WebSocket<Guarded>[] = [];
    for (const ws of this.options.sockets) if (ws.getBufferedAmount() > this.options.limitBytes) over.push(ws);
    for (const ws of over) closeSlowConsumer(ws, this.options.log);
    this.closed += over.length;
    return over.length;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
