/**
 * Rotating the audit trail: after `mv audit.jsonl audit.jsonl.1; kill -HUP`, new records go to
 * a new audit.jsonl, not into the moved file; and the shipped logrotate snippet, run by the real
 * logrotate against a running gateway, rotates the file with the gateway following.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { AUDIT_FILE, type AuditLine } from '../../src/platform/audit.js';
import { motorsYaml, serve, type Daemon } from './daemon.js';

const SNIPPET = resolve(import.meta.dirname, '../../systemd/machine-gateway.logrotate');
const dirs: string[] = [];
const daemons: Daemon[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) {
    if (d.child.exitCode === null && d.child.signalCode === null) {
      d.child.kill('SIGTERM');
      await d.exited;
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const speeds = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditLine)
    .flatMap((l) => (l.action === 'reload' ? [] : [l.requested['speed']]));

async function start(): Promise<{ dir: string; gw: Daemon; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'mgw-rotate-'));
  dirs.push(dir);
  const gw = await serve(dir, motorsYaml(dir));
  daemons.push(gw);
  return { dir, gw, file: join(dir, AUDIT_FILE) };
}

describe('audit trail rotation', () => {
  it('after mv and SIGHUP, new records go to a new audit.jsonl', async () => {
    const { gw, file } = await start();
    expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 101 })).status).toBe(200);
    renameSync(file, `${file}.1`);
    const reopened = gw.logs.length;
    gw.child.kill('SIGHUP');
    await gw.next((l) => l['msg'] === 'audit trail reopened' && gw.logs.indexOf(l) >= reopened);
    expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 102 })).status).toBe(200);
    expect(speeds(`${file}.1`)).toEqual([101]);
    expect(speeds(file)).toEqual([102]);
    // The reload that SIGHUP started is recorded in the new file, as by "signal".
    expect(readFileSync(file, 'utf8')).toMatch(/"action":"reload","token":"signal"/);
  });

  it.skipIf(!peers('logrotate'))('the shipped logrotate snippet rotates the file and the gateway follows', async () => {
    const { dir, gw, file } = await start();
    expect((await postJson(`${gw.url}/api/v1/devices/motor_02`, { speed: 201 })).status).toBe(200);
    // The snippet as shipped, pointed at this gateway: its file, this user, this process.
    const snippet = readFileSync(SNIPPET, 'utf8')
      .replace('/var/lib/machine-gateway/audit.jsonl', file)
      .replaceAll('machine-gateway machine-gateway', 'root root')
      .replace('systemctl reload machine-gateway.service', `kill -HUP ${gw.child.pid}`)
      .replace('size 10M', 'size 1');
    writeFileSync(join(dir, 'logrotate.conf'), snippet);
    const mark = gw.logs.length;
    execFileSync('logrotate', ['-s', join(dir, 'logrotate.state'), join(dir, 'logrotate.conf')]);
    await gw.next((l) => l['msg'] === 'audit trail reopened' && gw.logs.indexOf(l) >= mark);
    expect((await postJson(`${gw.url}/api/v1/devices/motor_02`, { speed: 202 })).status).toBe(200);
    expect(speeds(`${file}.1`)).toEqual([201]);
    expect(speeds(file)).toEqual([202]);
    expect(existsSync(`${file}.2.gz`)).toBe(false);
  });
});
