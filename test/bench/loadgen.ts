/**
 * The load generator: a separate process (pinned by the runner to the other core) that holds N
 * WebSocket clients, and for every device_update checks the per-device seq (drops, reorders)
 * and the latency from the stamp the source put in the message (its intended send time, so an
 * overloaded server cannot hide its queueing: no coordinated omission).
 *
 * Driven over IPC by the runner: connect -> measure -> report -> exit.
 */
import { RawWsClient } from './lib/rawws.js';
import { Samples, percentile } from './lib/stats.js';

export type LoadgenCommand =
  | { cmd: 'connect'; port: number; clients: number }
  | { cmd: 'measure'; from: number; to: number }
  | { cmd: 'report' }
  | { cmd: 'count' }
  | { cmd: 'exit' };

export interface LoadgenReport {
  /** device_update messages received since `measure`. */
  received: number;
  /** ... of which arrived inside [from, to]. */
  receivedInWindow: number;
  /** Missing seqs (a later seq arrived first or never came). */
  gaps: number;
  /** A seq at or below the last one seen for that device on that client. */
  reorders: number;
  closed: number;
  closeReasons: string[];
  latencyMs: { p50: number; p99: number; p999: number; max: number; n: number };
  /** CPU seconds this process used since `measure`. */
  cpuS: number;
  /** Arrival time of the last device_update (epoch ms). */
  lastAt: number;
}

const STAMP_KEY = '"new_state":{"ai01":';

interface ClientState {
  client: RawWsClient;
  lastSeq: Map<string, number>;
  established: boolean;
}

const clients: ClientState[] = [];
const latency = new Samples();
let from = 0;
let to = Infinity;
let received = 0;
let receivedInWindow = 0;
let gaps = 0;
let reorders = 0;
let closed = 0;
let lastAt = 0;
const closeReasons = new Set<string>();
let cpuAtMeasure = process.cpuUsage();

function onMessage(state: ClientState, text: string, at: number): void {
  if (!state.established) {
    // connection_established carries every device's seq: the baseline for gap detection.
    const m = JSON.parse(text) as { type: string; devices?: { device_id: string; seq: number }[] };
    if (m.type !== 'connection_established') throw new Error(`first message was ${m.type}`);
    for (const d of m.devices ?? []) state.lastSeq.set(d.device_id, d.seq);
    state.established = true;
    established++;
    welcomeBytes = Math.max(welcomeBytes, Buffer.byteLength(text));
    if (established === wanted) process.send!({ cmd: 'connected', clients: established, welcomeBytes });
    return;
  }
  if (!text.startsWith('{"type":"device_update"')) return;
  received++;
  lastAt = at;
  if (at >= from && at <= to) receivedInWindow++;
  const idStart = text.indexOf('"device_id":"') + 13;
  const device = text.slice(idStart, text.indexOf('"', idStart));
  const seqAt = text.lastIndexOf('"seq":') + 6;
  const seq = parseInt(text.slice(seqAt), 10);
  const last = state.lastSeq.get(device) ?? 0;
  if (seq > last + 1) gaps += seq - last - 1;
  if (seq <= last) reorders++;
  else state.lastSeq.set(device, seq);
  const stampAt = text.indexOf(STAMP_KEY);
  if (stampAt >= 0) latency.push(at - parseFloat(text.slice(stampAt + STAMP_KEY.length)));
}

let wanted = 0;
let established = 0;
/** The largest welcome a client got (bytes): what each connection costs to send. */
let welcomeBytes = 0;

/** Handshakes in flight at once: a burst of 1,000 SYNs overflows the listen backlog (511) and costs 1-3 s retransmits. */
const CONNECT_CONCURRENCY = 64;

function connectAll(port: number, n: number): void {
  wanted = n;
  let started = 0;
  const startNext = () => {
    if (started >= n) return;
    started++;
    const state: ClientState = { client: undefined as unknown as RawWsClient, lastSeq: new Map(), established: false };
    state.client = new RawWsClient({
      host: '127.0.0.1',
      port,
      path: '/ws/devices',
      handlers: {
        open: () => undefined,
        message: (text, at) => {
          const first = !state.established;
          onMessage(state, text, at);
          if (first) startNext();
        },
        close: (reason) => {
          closed++;
          if (closeReasons.size < 5) closeReasons.add(reason);
          if (!state.established) process.send!({ cmd: 'connect_failed', reason });
        },
      },
    });
    clients.push(state);
    state.client.start();
  };
  for (let i = 0; i < Math.min(n, CONNECT_CONCURRENCY); i++) startNext();
}

function report(): LoadgenReport {
  const sorted = latency.sorted();
  const cpu = process.cpuUsage(cpuAtMeasure);
  return {
    received,
    receivedInWindow,
    gaps,
    reorders,
    closed,
    closeReasons: [...closeReasons],
    latencyMs: {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: sorted.length ? sorted[sorted.length - 1]! : NaN,
      n: sorted.length,
    },
    cpuS: (cpu.user + cpu.system) / 1e6,
    lastAt,
  };
}

process.on('message', (msg: LoadgenCommand) => {
  switch (msg.cmd) {
    case 'connect':
      connectAll(msg.port, msg.clients);
      return;
    case 'measure':
      from = msg.from;
      to = msg.to;
      received = receivedInWindow = gaps = reorders = 0;
      latency.clear();
      cpuAtMeasure = process.cpuUsage();
      process.send!({ cmd: 'measuring' });
      return;
    case 'report':
      process.send!({ cmd: 'report', report: report() });
      return;
    case 'count':
      process.send!({ cmd: 'count', received, closed });
      return;
    case 'exit':
      for (const c of clients) c.client.stop();
      process.exit(0);
  }
});
process.send!({ cmd: 'ready' });
