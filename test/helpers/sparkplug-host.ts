/**
 * Drives test/peers/sparkplug_host.py: an independent Sparkplug host (paho-mqtt + a decoder that
 * protoc generates here, at test time, from src/northbound/sparkplug_b.proto).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export interface HostMetric {
  name: string | null;
  alias: number | null;
  datatype: number | null;
  timestamp: number | null;
  value: number | boolean | string | null;
  is_null: boolean;
  is_historical: boolean;
  properties: Record<string, unknown>;
}

export interface HostEvent {
  event: 'message' | 'violation' | 'connected' | 'subscribed' | 'sent';
  type?: string;
  node?: string;
  device?: string | null;
  seq?: number | null;
  metrics?: HostMetric[];
  rule?: string;
  detail?: string;
}

export class SparkplugHost {
  readonly events: HostEvent[] = [];
  private waiters: { pred: (e: HostEvent) => boolean; resolve: (e: HostEvent) => void }[] = [];
  private stderr = '';

  private constructor(
    private readonly proc: ChildProcess,
    private readonly dir: string,
  ) {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let e: HostEvent;
      try {
        e = JSON.parse(line) as HostEvent;
      } catch {
        return;
      }
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => (w.pred(e) ? (w.resolve(e), false) : true));
    });
    proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  static async start(opts: { port: number; group: string; hostId?: string; clientId?: string; waitSubscribed?: boolean }): Promise<SparkplugHost> {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-sphost-'));
    const proto = resolve('src/northbound/sparkplug_b.proto');
    execFileSync('protoc', [`--proto_path=${resolve('src/northbound')}`, `--python_out=${dir}`, proto]);
    const args = [resolve('test/peers/sparkplug_host.py'), '--port', String(opts.port), '--group', opts.group, '--pb-dir', dir];
    if (opts.hostId !== undefined) args.push('--host-id', opts.hostId);
    if (opts.clientId !== undefined) args.push('--client-id', opts.clientId);
    const proc = spawn('/usr/bin/python3', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const host = new SparkplugHost(proc, dir);
    if (opts.waitSubscribed !== false) await host.waitFor((e) => e.event === 'subscribed', 'the host to subscribe', 10_000);
    return host;
  }

  messages(type?: string, device?: string): HostEvent[] {
    return this.events.filter((e) => e.event === 'message' && (type === undefined || e.type === type) && (device === undefined || e.device === device));
  }

  violations(): HostEvent[] {
    return this.events.filter((e) => e.event === 'violation');
  }

  waitFor(pred: (e: HostEvent) => boolean, what: string, timeoutMs = 15_000, from = 0): Promise<HostEvent> {
    const seen = this.events.slice(from).find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what}; ${this.events.length} events, violations: ${JSON.stringify(this.violations().slice(0, 5))}; stderr: ${this.stderr.slice(-500)}`)),
        timeoutMs,
      );
      this.waiters.push({ pred, resolve: (e) => (clearTimeout(timer), resolvePromise(e)) });
    });
  }

  send(cmd: Record<string, unknown>): void {
    this.proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      await new Promise<void>((r) => {
        this.proc.once('exit', () => r());
        this.proc.kill('SIGTERM');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
