/**
 * `mgw set` on an enum point of a real Modbus device (pymodbus over TCP) behind a real gateway:
 * the number a data sheet gives is accepted as well as the label.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { mgw, startModbusPeer, type ModbusPeer } from './helpers.js';

describe.skipIf(!peers('/usr/bin/python3'))('mgw set on an enum point', () => {
  let peer: ModbusPeer;
  let gw: RunningGateway;

  beforeAll(async () => {
    peer = await startModbusPeer('tcp', '0', [1]);
    await peer.set(1, 'hr', 112, [0]);
    gw = await startGateway({
      log: { level: 'warn' },
      buses: [{ id: 'plc', kind: 'tcp', host: '127.0.0.1', port: Number(peer.where) }],
      devices: [
        {
          id: 'press_01',
          driver: 'modbus',
          bus: 'plc',
          unit: 1,
          poll_interval_ms: 100,
          points: { mode: { table: 'holding', address: 112, access: 'rw', enum: { '0': 'manual', '1': 'automatic', '5': 'service' } } },
        },
      ],
    });
    // Wait for the first reading: a write to a device not yet online is refused (503).
    const deadline = Date.now() + 15_000;
    while (!gw.gateway.registry.snapshot('press_01')?.online) {
      if (Date.now() > deadline) throw new Error('press_01 did not come online');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  afterAll(async () => {
    await gw?.stop();
    await peer?.stop();
  });

  it('takes the code as well as the label, and the device holds the code', async () => {
    const byCode = await mgw(['--url', gw.url, 'set', 'press_01', 'mode=1']);
    expect(byCode.stderr).toBe('');
    expect(byCode.code).toBe(0);
    expect(byCode.stdout).toBe('press_01.mode: manual -> automatic\n');
    expect(await peer.get(1, 'hr', 112, 1)).toEqual([1]);

    const sparse = await mgw(['--url', gw.url, 'set', 'press_01', 'mode=5']);
    expect(sparse.code).toBe(0);
    expect(await peer.get(1, 'hr', 112, 1)).toEqual([5]);

    const byLabel = await mgw(['--url', gw.url, 'set', 'press_01', 'mode=manual']);
    expect(byLabel.code).toBe(0);
    expect(await peer.get(1, 'hr', 112, 1)).toEqual([0]);
  });

  it('a code the point does not have is refused with the labels and their codes, exit 65', async () => {
    const r = await mgw(['--url', gw.url, 'set', 'press_01', 'mode=2']);
    expect(r.code).toBe(65);
    expect(r.stderr).toBe('mgw: validation_error: press_01.mode: must be one of manual (0), automatic (1), service (5), got number 2\n');
  });

  it('mgw get shows the codes next to the labels', async () => {
    const r = await mgw(['--url', gw.url, 'get', 'press_01']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^mode\s+\S+\s+rw\s+0=manual\|1=automatic\|5=service$/m);
  });
});
