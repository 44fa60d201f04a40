/**
 * Fixtures for the client tests: a client wired to the `ws` package whose sockets the test can
 * cut, a recorder of what the client applied, a record of every state the server published,
 * and a waiter that polls a condition with a deadline (no sleeps).
 */
import WebSocket from 'ws';
import { GatewayClient, type GatewayClientOptions, type ResyncEvent, type WebSocketConstructor } from '../../src/client/index.js';
import type { Registry } from '../../src/core/registry.js';

export interface SocketControl {
  /** Every socket the client opened, newest last. */
  sockets: WebSocket[];
  /** While false, new connections go to a closed port and fail (the client keeps retrying). */
  open: boolean;
  /** Every message the client sent, in order, with the socket it went on. */
  sent: { on: WebSocket; data: string }[];
}

export function controlledWebSocket(): { ctor: WebSocketConstructor; control: SocketControl } {
  const control: SocketControl = { sockets: [], open: true, sent: [] };
  class ControlledWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(control.open ? url : 'ws://127.0.0.1:1/ws/devices', protocols);
      control.sockets.push(this);
    }
    override send(data: unknown, ...rest: unknown[]): void {
      control.sent.push({ on: this, data: String(data) });
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  }
  return { ctor: ControlledWebSocket as unknown as WebSocketConstructor, control };
}

export function newClient(url: string, extra: Partial<GatewayClientOptions> = {}): { client: GatewayClient; control: SocketControl } {
  const { ctor, control } = controlledWebSocket();
  const client = new GatewayClient({ url, WebSocket: ctor, backoff: { initialMs: 10, maxMs: 200 }, ...extra });
  return { client, control };
}

/** What the client applied, per device: every update seq, in order, and every resync. */
export class Recorder {
  readonly applied = new Map<string, number[]>();
  /** The seq each device started from (its last snapshot), per run of contiguous updates. */
  readonly base = new Map<string, number>();
  readonly resyncs: ResyncEvent[] = [];
  total = 0;
  synced = 0;
  private readonly waiters: { pred: () => boolean; resolve: () => void }[] = [];

  constructor(client: GatewayClient) {
    client.on('update', (u) => {
      const list = this.applied.get(u.device_id) ?? [];
      list.push(u.seq);
      this.applied.set(u.device_id, list);
      this.total++;
      this.poke();
    });
    client.on('resync', (r) => {
      this.resyncs.push(r);
      if (r.snapshot) {
        this.base.set(r.device_id, r.seq);
        this.applied.set(r.device_id, []);
      }
      this.poke();
    });
    client.on('synced', () => {
      this.synced++;
      this.poke();
    });
  }

  /** Resolves once pred() holds, checked after every client event. */
  when(pred: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  private poke(): void {
    for (const w of [...this.waiters]) {
      if (w.pred()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
}

/** Every state the server published, by device and seq: the reference for "equals the server's". */
export class ServerHistory {
  private readonly states = new Map<string, Map<number, { state: Record<string, unknown>; online: boolean }>>();
  private readonly stopListening: () => void;

  constructor(private readonly registry: Registry) {
    for (const id of registry.ids()) this.record(id);
    this.stopListening = registry.onDiff((diff) => this.record(diff.device_id));
  }

  at(id: string, seq: number): { state: Record<string, unknown>; online: boolean } | undefined {
    return this.states.get(id)?.get(seq);
  }

  close(): void {
    this.stopListening();
  }

  private record(id: string): void {
    const s = this.registry.snapshot(id)!;
    let m = this.states.get(id);
    if (m === undefined) this.states.set(id, (m = new Map()));
    m.set(s.seq, { state: s.state, online: s.online });
  }
}

/** Polls a condition until it holds (for state outside any event stream). */
export async function until(pred: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The seqs must be exactly from+1, from+2, ...: no gap, no duplicate. */
export function contiguityProblem(seqs: number[], from: number): string | undefined {
  for (let i = 0; i < seqs.length; i++) {
    if (seqs[i] !== from + 1 + i) return `expected seq ${from + 1 + i} at position ${i}, got ${seqs[i]} (${seqs.slice(Math.max(0, i - 3), i + 3).join(',')})`;
  }
  return undefined;
}
