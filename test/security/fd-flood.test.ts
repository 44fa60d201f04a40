/**
 * File descriptors under a connection flood: with the open-files limit the unit sets
 * (LimitNOFILE=), 1,100 idle sockets leave the health probe answering. With the default 1024
 * they made 11 of 13 /healthz probes fail.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { peers } from '../helpers/peers.js';
import { motorsYaml, serve, type Daemon } from './daemon.js';

const UNIT = resolve(import.meta.dirname, '../../systemd/machine-gateway.service');
const dirs: string[] = [];
const daemons: Daemon[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const d of daemons.splice(0)) {
    d.child.kill('SIGKILL');
    await d.exited;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function idleSocket(port: number): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect(port, '127.0.0.1', () => res(s));
    s.on('error', rej);
  });
}

describe.skipIf(!peers('prlimit'))('a flood of idle connections', () => {
  it("leaves /healthz answering under the unit's open-files limit", async () => {
    const limit = /^LimitNOFILE=(\d+)$/m.exec(readFileSync(UNIT, 'utf8'))?.[1];
    expect(limit, 'the unit sets LimitNOFILE=').toBeDefined();
    expect(Number(limit)).toBeGreaterThanOrEqual(4096);
    const dir = mkdtempSync(join(tmpdir(), 'mgw-fds-'));
    dirs.push(dir);
    const gw = await serve(dir, motorsYaml(dir), { wrap: ['prlimit', `--nofile=${limit}:${limit}`] });
    daemons.push(gw);
    for (let i = 0; i < 1100; i++) sockets.push(await idleSocket(gw.port));
    const probes = await Promise.all(Array.from({ length: 13 }, () => fetch(`${gw.url}/healthz`).then((r) => r.status, () => 0)));
    expect(probes).toEqual(Array(13).fill(200));
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^process_max_fds ${limit}$`, 'm'));
    expect(Number(/^process_open_fds (\d+)$/m.exec(metrics)![1])).toBeGreaterThan(1100);
  }, 60_000);
});
