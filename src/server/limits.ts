/**
 * Rate limiting building blocks: a token bucket, a bounded map of buckets keyed by token name or
 * remote address, and the per-connection gate that turns a flood into one `rate_limited` error
 * and then a close.
 */

export interface BucketOptions {
  /** Tokens added per second (sustained rate). */
  ratePerS: number;
  /** Bucket size: how many may pass at once. */
  burst: number;
  /** Clock in milliseconds; injectable for tests. */
  now?: () => number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly now: () => number;

  constructor(private readonly options: BucketOptions) {
    this.now = options.now ?? Date.now;
    this.tokens = options.burst;
    this.last = this.now();
  }

  private refill(): void {
    const t = this.now();
    if (t > this.last) {
      this.tokens = Math.min(this.options.burst, this.tokens + ((t - this.last) / 1000) * this.options.ratePerS);
      this.last = t;
    }
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether a token is available, without taking it. */
  available(): boolean {
    this.refill();
    return this.tokens >= 1;
  }

  /** Seconds until the next token. */
  retryAfterS(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.options.ratePerS);
  }
}

export interface KeyedLimiterOptions extends BucketOptions {
  /** Most keys tracked at once; the least recently used is forgotten first (memory stays bounded). */
  maxKeys?: number;
}

/** One bucket per key (token name, remote address), bounded in memory. */
export class KeyedLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly maxKeys: number;

  constructor(private readonly options: KeyedLimiterOptions) {
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  private bucket(key: string): TokenBucket {
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = new TokenBucket(this.options);
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    } else {
      this.buckets.delete(key); // re-insert: Map order is the LRU order
    }
    this.buckets.set(key, b);
    return b;
  }

  take(key: string): boolean {
    return this.bucket(key).take();
  }

  /** Whether `key` may still pass, without counting this call. */
  available(key: string): boolean {
    const b = this.buckets.get(key);
    return b === undefined || b.available();
  }

  retryAfterS(key: string): number {
    return this.buckets.get(key)?.retryAfterS() ?? 0;
  }

  get size(): number {
    return this.buckets.size;
  }
}

export type GateVerdict = 'pass' | 'refuse_and_tell' | 'refuse' | 'close';

export interface MessageGateOptions {
  ratePerS: number;
  burst: number;
  /** Refusals (within about 10 s) after which the connection is closed. */
  refusalsBeforeClose: number;
  now?: () => number;
}

/**
 * Per-connection message gate. Over the rate, the first refused message of a run is answered
 * with one rate_limited error (later ones are dropped silently, so a flood does not turn into a
 * flood of errors); a client that keeps going uses up its patience and is closed.
 */
export class MessageGate {
  private readonly rate: TokenBucket;
  private readonly patience: TokenBucket;
  private told = false;
  refused = 0;

  constructor(options: MessageGateOptions) {
    this.rate = new TokenBucket({ ratePerS: options.ratePerS, burst: options.burst, ...(options.now ? { now: options.now } : {}) });
    this.patience = new TokenBucket({
      ratePerS: options.refusalsBeforeClose / 10,
      burst: options.refusalsBeforeClose,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  admit(): GateVerdict {
    if (this.rate.take()) {
      this.told = false;
      return 'pass';
    }
    this.refused++;
    if (!this.patience.take()) return 'close';
    if (this.told) return 'refuse';
    this.told = true;
    return 'refuse_and_tell';
  }
}
