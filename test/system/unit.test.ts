/**
 * The shipped unit file, checked by systemd's own tools. `systemd-analyze verify` exits 0 even
 * on unknown keys, so any output at all is a failure. The security exposure must stay at or
 * below 1.5 (systemd's scale: 0 best, 10 worst; a bare unit scores 9.6).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peers } from '../helpers/peers.js';

const UNIT = resolve(import.meta.dirname, '../../systemd/machine-gateway.service');
/** systemd-analyze --threshold is the exposure times ten. */
const MAX_EXPOSURE = 1.5;

describe.skipIf(!peers('systemd-analyze'))('systemd/machine-gateway.service', () => {
  it('passes systemd-analyze verify without a single line of output', () => {
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it(`has a security exposure of at most ${MAX_EXPOSURE}`, () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', `--threshold=${MAX_EXPOSURE * 10}`, '--no-pager', UNIT], { encoding: 'utf8' });
    const score = /Overall exposure level for machine-gateway\.service: ([\d.]+)/.exec(r.stdout)?.[1];
    expect(score, r.stdout + r.stderr).toBeDefined();
    expect(Number(score)).toBeLessThanOrEqual(MAX_EXPOSURE);
    expect(r.status, r.stdout).toBe(0);
  });

  it('keeps the settings the service depends on', () => {
    const unit = readFileSync(UNIT, 'utf8');
    for (const line of ['Type=notify', 'NotifyAccess=main', 'WatchdogSec=30s', 'Restart=on-failure', 'ExecReload=/usr/bin/node /opt/machine-gateway/current/dist/src/platform/reload-wait.js $MAINPID', 'RuntimeDirectory=machine-gateway', 'SupplementaryGroups=dialout', 'DevicePolicy=closed', 'DeviceAllow=char-ttyUSB rw', 'DeviceAllow=char-ttySC rw', 'DeviceAllow=char-ttyMAX rw', 'MemoryHigh=256M', 'MemoryMax=384M']) {
      expect(unit.split('\n')).toContain(line);
    }
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=yes/m);
    expect(unit).not.toMatch(/^PrivateDevices=yes/m);
  });
});
