/**
 * The cards' trend history at plant size: batched, visible first, and after a reconnect only
 * what is missing.
 *
 * - On load (and when cards come into view: the cards view chosen, an area picked, a filter
 *   cleared) the window of the shown cards not loaded yet is asked for in one request for
 *   those on screen, then one for the rest (`GET /api/v1/history?devices=...`).
 * - After a reconnect the page's client resumes with `since`: the gateway replays the missed
 *   diffs and they reach the trends as live updates, so nothing is fetched. Only a device the
 *   gateway answered with a snapshot (its replay ring overflowed, or the gateway restarted)
 *   missed a span: those devices get the span since the drop, in one request.
 */
import type { Api } from './api.js';
import type { HistoryReply } from './types.js';

/** Longest request URL the page builds (a few kB pass any proxy and the gateway's header limit). */
const MAX_URL = 2000;

export interface HistoryLoaderOptions {
  api: () => Api;
  windowS: number;
  /** Gives a device's samples to its card. */
  apply: (deviceId: string, points: HistoryReply['points']) => void;
  /** The gateway's clock when it answered (seconds since the epoch). */
  clock: (now: number) => void;
}

export class HistoryLoader {
  /** Devices whose trends hold the window, or have it on the way. */
  private readonly loaded = new Set<string>();
  /** Devices that came back as a snapshot after the drop: their trends miss a span. */
  private readonly gaps = new Set<string>();
  /** The gateway time of the last value heard before the link dropped. */
  private droppedAt: number | undefined;

  constructor(private readonly options: HistoryLoaderOptions) {}

  /**
   * Fetches the window of shown cards not loaded yet: those on screen in one request, then the
   * rest. Cards hidden (filtered out, another area, the overview shown) wait until shown.
   */
  async load(cards: { id: string; el: HTMLElement }[]): Promise<void> {
    const first: string[] = [];
    const rest: string[] = [];
    const height = window.innerHeight;
    for (const { id, el } of cards) {
      if (this.loaded.has(id)) continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue; // not displayed
      (box.bottom > 0 && box.top < height ? first : rest).push(id);
      this.loaded.add(id);
    }
    await this.fetch(first, -this.options.windowS);
    await this.fetch(rest, -this.options.windowS);
  }

  forget(id: string): void {
    this.loaded.delete(id);
    this.gaps.delete(id);
  }

  /** The link went down; `lastHeard` is the gateway time of the last value received. */
  dropped(lastHeard: number): void {
    this.droppedAt ??= lastHeard;
  }

  /** A device came back as a snapshot, not a replay: its trend misses the span since the drop. */
  snapshot(id: string): void {
    if (this.droppedAt !== undefined && this.loaded.has(id)) this.gaps.add(id);
  }

  /** Every device is in step again: fetch the missed span of those that need it. */
  async resumed(): Promise<void> {
    const from = this.droppedAt;
    this.droppedAt = undefined;
    const ids = [...this.gaps];
    this.gaps.clear();
    if (from !== undefined && ids.length > 0) await this.fetch(ids, from);
  }

  private async fetch(ids: string[], since: number): Promise<void> {
    for (const chunk of chunks(ids, MAX_URL)) {
      try {
        const reply = await this.options.api().historyBatch(chunk, since);
        this.options.clock(reply.now);
        for (const [id, d] of Object.entries(reply.devices)) this.options.apply(id, d.points);
      } catch {
        // The trends fill from live values instead; a later load asks again.
        for (const id of chunk) this.loaded.delete(id);
      }
    }
  }
}

/** Splits ids into lists whose URL stays under `maxUrl` characters. */
function chunks(ids: string[], maxUrl: number): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let len = 0;
  for (const id of ids) {
    const n = encodeURIComponent(id).length + 1;
    if (cur.length > 0 && len + n > maxUrl - 80) {
      out.push(cur);
      cur = [];
      len = 0;
    }
    cur.push(id);
    len += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
