/**
 * Paces the client's requests under the gateway's per-connection message limit
 * (limits.ws_message_burst and ws_messages_per_s, by default 40 at once and 20 per second).
 * A resume packs many devices per batch `subscribe`, but against a gateway without the batch
 * form it sends one per device, and a plant of a hundred devices would otherwise trip the limit,
 * lose requests and never be in step again.
 *
 * A token bucket keeps the pace below the default limit. When the gateway still refuses
 * (`rate_limited`, which names no request) or a request stays unanswered, the pace halves and
 * every unanswered request is sent again after a pause. Sending a `subscribe` twice is harmless:
 * the second replay is dropped by seq, the second snapshot is the current state again.
 */
export type Request = Record<string, unknown> & { id: string };

export interface RequestQueueOptions {
  send: (msg: Request) => void;
  /** Requests sent at once (default 30). */
  burst?: number | undefined;
  /** Requests per second, sustained (default 15). */
  perSecond?: number | undefined;
  /** Pause after a refusal, and how long a request may stay unanswered before it is sent again (ms; default 1000 and 5000). */
  pauseMs?: number | undefined;
  answerTimeoutMs?: number | undefined;
  now?: (() => number) | undefined;
}

export class RequestQueue {
  private queue: Request[] = [];
  /** Sent and not answered yet, by id, with the time sent. */
  private readonly unanswered = new Map<string, { msg: Request; at: number }>();
  private burst: number;
  private perSecond: number;
  private tokens: number;
  private last: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: RequestQueueOptions) {
    this.now = options.now ?? Date.now;
    this.burst = options.burst ?? 30;
    this.perSecond = options.perSecond ?? 15;
    this.tokens = this.burst;
    this.last = this.now();
  }

  /** Requests queued or sent and not answered. */
  get outstanding(): number {
    return this.queue.length + this.unanswered.size;
  }

  push(msg: Request): void {
    this.queue.push(msg);
    this.pump();
  }

  answered(id: string): void {
    this.unanswered.delete(id);
  }

  /** The gateway refused a message: slow down, and send what it may have dropped again. */
  refused(): void {
    this.burst = Math.max(1, Math.floor(this.burst / 2));
    this.perSecond = Math.max(1, this.perSecond / 2);
    this.tokens = 0;
    this.last = this.now();
    this.requeueUnanswered();
    this.schedule(this.options.pauseMs ?? 1000);
  }

  /** The connection is gone: nothing outstanding survives it (the resume sends anew). */
  clear(): void {
    this.queue = [];
    this.unanswered.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    const timeout = this.options.answerTimeoutMs ?? 5000;
    if ([...this.unanswered.values()].some((u) => t - u.at > timeout)) {
      // Unanswered for long: dropped without a word (only the first refusal is told).
      this.refused();
      return;
    }
    while (this.queue.length > 0 && this.tokens >= 1) {
      const msg = this.queue.shift()!;
      this.tokens -= 1;
      this.unanswered.set(msg.id, { msg, at: t });
      this.options.send(msg);
    }
    if (this.queue.length > 0) this.schedule(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
    else if (this.unanswered.size > 0) this.schedule(timeout);
  }

  private requeueUnanswered(): void {
    const again = [...this.unanswered.values()].map((u) => u.msg);
    this.unanswered.clear();
    this.queue = [...again, ...this.queue];
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(1, ms));
  }
}
