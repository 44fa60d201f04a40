/**
 * Footprint of the built CLI (`mgw serve`, dist/): time from spawn to the `gateway ready` log
 * line, and RSS (from /proc) and V8 heap (from a preloaded probe) with 100 simulated devices x
 * 20 points polled every second, first without clients, then with 100 WebSocket clients.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { nowMs, rssMiB } from './lib/proc.js';
import { spawnPinned, stopProcess, wrap } from './lib/spawn.js';
import { RawWsClient } from './lib/rawws.js';

export const FOOTPRINT_DEVICES = 100;
export const FOOTPRINT_CLIENTS = 100;

export interface FootprintResult {
  readyMs: number;
  idleRssMiB: number;
  idleHeapUsedMiB: number;
  clientsRssMiB: number;
  clientsHeapUsedMiB: number;
}

function writeConfig(dir: string): string {
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    stringify({
      server: { host: '127.0.0.1', port: 0, max_connections: FOOTPRINT_CLIENTS },
      log: { level: 'info' },
      devices: Array.from({ length: FOOTPRINT_DEVICES }, (_, i) => ({
        id: `rio_${String(i + 1).padStart(3, '0')}`,
        driver: 'simulator',
        model: 'io',
        poll_interval_ms: 1000,
      })),
    }),
  );
  return file;
}

/** Spawns `mgw serve` and resolves at its `gateway ready` line with the time taken and the port. */
async function startCli(config: string, probe: boolean) {
  const args = [...(probe ? ['--import', './test/bench/.build/probe.js'] : []), 'dist/src/cli/main.js', 'serve', '--config', config];
  const t0 = nowMs();
  const proc = spawnPinned(0, args, { stdout: 'pipe', ipc: probe });
  let port = 0;
  let buffered = '';
  const readyMs = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mgw serve was not ready within 30 s:\n${buffered.slice(-2000)}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      const at = nowMs();
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const m = /\{.*\}/.exec(line);
        if (m === null) continue;
        const ev = JSON.parse(m[0]) as { msg?: string; port?: number };
        if (ev.msg === 'listening' && typeof ev.port === 'number') port = ev.port;
        if (ev.msg === 'gateway ready') {
          clearTimeout(timer);
          resolve(at - t0);
        }
      }
    });
    proc.on('exit', (code) => reject(new Error(`mgw serve exited with ${code} before ready:\n${buffered.slice(-2000)}`)));
  });
  return { proc, port, readyMs };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function footprintOnce(opts: { settleMs: number }): Promise<FootprintResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mgw-bench-'));
  const clients: RawWsClient[] = [];
  try {
    const config = writeConfig(dir);
    // Start-up time without the probe: exactly what systemd would run.
    const plain = await startCli(config, false);
    await stopProcess(plain.proc);

    const { proc, port } = await startCli(config, true);
    const child = wrap(proc);
    try {
      const memory = async () => {
        child.send({ cmd: 'memory' });
        const m = await child.next<{ heapUsed: number }>('memory', 10_000);
        return { rss: rssMiB(child.pid), heap: m.heapUsed / 1048576 };
      };
      await settle(opts.settleMs);
      const idle = await memory();
      let established = 0;
      await new Promise<void>((resolve, reject) => {
        for (let i = 0; i < FOOTPRINT_CLIENTS; i++) {
          let first = true;
          const c = new RawWsClient({
            host: '127.0.0.1',
            port,
            path: '/ws/devices',
            handlers: {
              open: () => undefined,
              message: () => {
                if (first && ++established === FOOTPRINT_CLIENTS) resolve();
                first = false;
              },
              close: (reason) => {
                if (first) reject(new Error(`footprint client could not connect: ${reason}`));
              },
            },
          });
          clients.push(c);
          c.start();
        }
      });
      await settle(opts.settleMs);
      const withClients = await memory();
      return {
        readyMs: plain.readyMs,
        idleRssMiB: idle.rss,
        idleHeapUsedMiB: idle.heap,
        clientsRssMiB: withClients.rss,
        clientsHeapUsedMiB: withClients.heap,
      };
    } finally {
      for (const c of clients) c.stop();
      await child.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
