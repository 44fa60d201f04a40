/**
 * A device whose points can be made good, bad and stale from outside, with nothing faked: a
 * line-protocol controller on a real PTY pair (socat) played by test/integration/line_peer.py.
 * - `speed` turns bad when the peer is told a speed that is not a number (`SPEED=x` does not
 *   convert to an integer), and good again with a number;
 * - `load` is always bad: the peer answers `LOAD?` with `ERR unknown command`;
 * - every point turns stale, then the device offline, when the peer stops answering.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { LinePeer, ptyPair, type PtyPair } from './line-pty.js';

export const QUALITY_DEVICE = 'press_q';

export function qualityDevice(path: string): GatewayConfigInput['devices'][number] {
  return {
    id: QUALITY_DEVICE,
    name: 'Press drive',
    driver: 'line',
    type: 'motor',
    poll_interval_ms: 100,
    offline_after: 2,
    port: { path, baud: 19200, timeout_ms: 300, reconnect_max_ms: 400 },
    error_pattern: '^ERR (.*)$',
    points: {
      speed: { type: 'int', command: 'SPEED?', pattern: '^SPEED=(\\S+)$', unit: 'rpm' },
      temperature: { type: 'float', command: 'STATUS?', pattern: 'TEMP=(?<temperature>-?[\\d.]+)$', unit: '°C' },
      load: { type: 'float', command: 'LOAD?', pattern: '^LOAD=([\\d.]+)$', unit: '%' },
    },
  } as GatewayConfigInput['devices'][number];
}

export interface QualityRig {
  pair: PtyPair;
  peer: LinePeer;
  /** The gateway's end of the PTY pair. */
  path: string;
  /** The peer answers a speed that does not convert (bad), or a number again (good). */
  speed(value: number | string): Promise<void>;
  /** The peer stops (false) or starts again (true) answering. */
  answer(on: boolean): Promise<void>;
  stop(): Promise<void>;
}

export async function startQualityRig(): Promise<QualityRig> {
  const dir = mkdtempSync(join(tmpdir(), 'mgw-quality-'));
  const pair = await ptyPair(join(dir, 'gw'), join(dir, 'dev'));
  const peer = await LinePeer.start(pair.peerEnd);
  return {
    pair,
    peer,
    path: pair.driverEnd,
    speed: (value) => peer.command({ speed: value as number }),
    answer: (on) => peer.command({ answer: on }),
    async stop() {
      await peer.stop();
      await pair.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
