/**
 * Fixtures: a real gateway (real uWS server on port 0, real drivers) and real WebSocket
 * clients that wait for events instead of sleeping.
 */
import WebSocket from 'ws';
import { Writable } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import type { GatewayConfig, GatewayConfigInput } from '../../src/config/schema.js';
import { createLogger } from '../../src/platform/logger.js';
import { Gateway } from '../../src/gateway.js';

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface RunningGateway {
  gateway: Gateway;
  config: GatewayConfig;
  port: number;
  url: string;
  wsUrl: string;
  logs: LogLine[];
  stop: () => Promise<void>;
}

export const SIM_DEVICES: GatewayConfigInput['devices'] = [
  { id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 50 },
  { id: 'motor_02', driver: 'simulator', model: 'motor', poll_interval_ms: 50 },
  { id: 'sensor_01', driver: 'simulator', model: 'sensor', poll_interval_ms: 50 },
  { id: 'sensor_02', driver: 'simulator', model: 'sensor', poll_interval_ms: 50 },
];

/**
 * Starts a gateway in this process with the given config (port 0 unless set). `beforeStart` sees
 * the gateway built and not started: a listener there misses no diff.
 */
export async function startGateway(input: Partial<GatewayConfigInput> = {}, beforeStart?: (gateway: Gateway) => void): Promise<RunningGateway> {
  const config = validateConfig({
    // Each gateway its own state (audit trail, history store), unless the test shares one.
    state_dir: mkdtempSync(join(tmpdir(), 'mgw-state-')),
    ...input,
    server: { port: 0, ...(input.server ?? {}) },
    log: { level: 'debug', ...(input.log ?? {}) },
    devices: input.devices ?? SIM_DEVICES,
  });
  const logs: LogLine[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  const log = createLogger({ level: config.log.level, destination: destination as never, journald: false });
  const gateway = new Gateway({ config, log });
  beforeStart?.(gateway);
  const port = await gateway.start();
  return {
    gateway,
    config,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws/devices`,
    logs,
    stop: () => gateway.stop(),
  };
}

export type Msg = Record<string, any>;

/** A WebSocket client that records every message and lets a test wait for one. */
export class TestClient {
  readonly messages: Msg[] = [];
  readonly ws: WebSocket;
  closed: { code: number; reason: string } | undefined;
  private waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void; from: number }[] = [];
  private closeWaiters: ((c: { code: number; reason: string }) => void)[] = [];

  private constructor(url: string, options: WebSocket.ClientOptions = {}, protocols?: string | string[]) {
    this.ws = new WebSocket(url, protocols, options);
    this.ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Msg;
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (w.pred(m)) {
          w.resolve(m);
          return false;
        }
        return true;
      });
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters) w(this.closed);
      this.closeWaiters = [];
    });
    this.ws.on('error', () => undefined);
  }

  /** Connects and waits for connection_established. */
  static async connect(url: string, options: WebSocket.ClientOptions = {}, protocols?: string | string[]): Promise<TestClient> {
    const c = new TestClient(url, options, protocols);
    await new Promise<void>((resolve, reject) => {
      c.ws.once('open', () => resolve());
      c.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      c.ws.once('error', reject);
    });
    await c.next((m) => m['type'] === 'connection_established');
    return c;
  }

  /** Opens without waiting for the welcome (for refused upgrades). */
  static raw(url: string, options: WebSocket.ClientOptions = {}, protocols?: string | string[]): TestClient {
    return new TestClient(url, options, protocols);
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Resolves with the first message (already received or future) matching pred. */
  next(pred: (m: Msg) => boolean, timeoutMs = 5000, from = 0): Promise<Msg> {
    const seen = this.messages.slice(from).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-5))}`)), timeoutMs);
      this.waiters.push({
        pred,
        from,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** Sends a request and waits for its direct reply (matched by id). */
  async request(msg: Record<string, unknown>, timeoutMs = 5000): Promise<Msg> {
    const id = `r${Math.random().toString(36).slice(2)}`;
    const from = this.messages.length;
    const p = this.next((m) => m['id'] === id, timeoutMs, from);
    this.send({ ...msg, id });
    return p;
  }

  waitClose(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
      this.closeWaiters.push((c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? null : JSON.parse(text) };
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, json: text === '' ? null : JSON.parse(text) };
}

/** Calls `fn` until `ok` holds for its value, with a deadline (no fixed sleeps); resolves with that value. */
export async function pollUntil<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms; last: ${JSON.stringify(v).slice(0, 300)}`);
    await new Promise((r) => setImmediate(r));
  }
}
