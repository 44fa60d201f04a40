/**
 * Exponential backoff with jitter: base, 2x base, 4x base, ... capped at max, each spread by
 * +-25% so units (or buses) that failed together do not retry in lockstep.
 */
export function backoffDelay(baseMs: number, maxMs: number, attempt: number, random: () => number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  const jittered = exp * (0.75 + 0.5 * random());
  return Math.max(1, Math.min(maxMs, Math.round(jittered)));
}
