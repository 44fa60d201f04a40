/**
 * Reconnect delays: exponential from `initialMs` up to `maxMs`, with jitter so that a hall full
 * of panels that lost the gateway at the same moment does not come back at the same moment.
 */
export interface BackoffOptions {
  /** First delay after a drop (ms, >= 0; default 250). */
  initialMs?: number;
  /** Largest delay (ms; default 10000). */
  maxMs?: number;
  /** Growth per failed attempt (>= 1; default 2). */
  factor?: number;
  /** Share of the delay that is random, 0..1 (default 0.5: the delay is 50..100 % of the step). */
  jitter?: number;
}

export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 250;
  const max = options.maxMs ?? 10_000;
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const step = Math.min(max, initial * factor ** Math.max(0, attempt));
  return Math.round(step * (1 - jitter * random()));
}
