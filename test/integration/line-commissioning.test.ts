/**
 * `mgw line send` through the running gateway that holds the serial port (a socat PTY with the
 * line peer playing a motor controller): the answer comes back between the gateway's polls, the
 * send is in the audit trail, a viewer token is refused and --direct finds the port in use.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { mgw } from '../cli/helpers.js';
import { hashToken, newToken } from '../../src/server/auth.js';
import { stateDir } from '../../src/platform/audit.js';
import { LinePeer, ptyPair, waitFor, type PtyPair } from './line-pty.js';

const ADMIN = newToken();
const VIEWER = newToken();
const dir = mkdtempSync(join(tmpdir(), 'mgw-line-cm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!peers('socat', 'python3'))('mgw line send through the running gateway', () => {
  let pair: PtyPair;
  let peer: LinePeer;
  let gw: RunningGateway;

  beforeAll(async () => {
    pair = await ptyPair(join(dir, 'gw'), join(dir, 'dev'));
    peer = await LinePeer.start(pair.peerEnd);
    gw = await startGateway({
      auth: { tokens: [{ name: 'tech', role: 'admin', hash: hashToken(ADMIN) }, { name: 'panel', role: 'viewer', hash: hashToken(VIEWER) }] } as never,
      devices: [
        {
          id: 'motor_l1',
          driver: 'line',
          poll_interval_ms: 100,
          port: { path: pair.driverEnd, baud: 19200, timeout_ms: 500 },
          points: { speed: { type: 'int', command: 'SPEED?', pattern: '^SPEED=(-?\\d+)$' } },
        },
      ] as never,
    });
    await waitFor('motor online', () => gw.gateway.registry.snapshot('motor_l1')?.online, 20_000);
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await peer?.stop();
    await pair?.stop();
  });

  it('sends through the gateway, prints the answer, and audits the send', async () => {
    const r = await mgw(['--json', 'line', 'send', '--port', pair.driverEnd, 'SPEED?'], { MGW_URL: gw.url, MGW_TOKEN: ADMIN }, 60_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ port: pair.driverEnd, answer: ['SPEED=1200'] });
    const trail = readFileSync(join(stateDir(gw.config.state_dir), 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(trail.at(-1)).toMatchObject({ action: 'line_send', token: 'tech', device: 'motor_l1', port: pair.driverEnd, sent: 'SPEED?\r\n', answer: ['SPEED=1200'], outcome: 'ok' });
    expect(gw.gateway.registry.snapshot('motor_l1')!.online).toBe(true);
  }, 60_000);

  it('a viewer token is refused (exit 77), and --direct finds the port in use (exit 69)', async () => {
    const viewer = await mgw(['line', 'send', '--port', pair.driverEnd, 'SPEED?'], { MGW_URL: gw.url, MGW_TOKEN: VIEWER }, 60_000);
    expect(viewer.code).toBe(77);
    expect(viewer.stderr).toContain('has role viewer; sending lines through the gateway needs role admin');
    const direct = await mgw(['line', 'send', '--port', pair.driverEnd, '--direct', 'SPEED?'], { MGW_URL: gw.url, MGW_TOKEN: ADMIN }, 60_000);
    expect(direct.code).toBe(69);
    expect(direct.stderr).toContain('is in use by another program');
  }, 60_000);
});
