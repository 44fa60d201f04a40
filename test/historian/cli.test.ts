import { afterEach, expect, test } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { mgw } from '../cli/helpers.js';

const running: RunningGateway[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.stop();
});

test('mgw history DEVICE POINT --since 1h prints the samples; --csv prints CSV; a bad --since is a usage error', async () => {
  const gw = await startGateway({ history: { store: { flush_s: 1, fsync: false } } } as never);
  running.push(gw);
  const store = gw.gateway.historian!.store;
  while (store.counters.samples_written === 0) await new Promise((r) => setImmediate(r));
  const env = { MGW_URL: gw.url };
  const table = await mgw(['history', 'motor_01', 'current', '--since', '1h', '--resolution', 'raw'], env);
  expect(table.stderr).toBe('');
  expect(table.code).toBe(0);
  const lines = table.stdout.trim().split('\n');
  expect(lines[1]).toMatch(/^TIME\s+POINT\s+VALUE\s+MIN\s+MAX\s+N\s+QUALITY$/);
  expect(lines.slice(2).every((l) => /\scurrent\s+[\d.]+\s+good$/.test(l))).toBe(true);
  expect(lines.length).toBeGreaterThan(3);

  const csv = await mgw(['history', 'sensor_01', '--since', '10m', '--csv'], env);
  expect(csv.code).toBe(0);
  const rows = csv.stdout.trim().split('\n');
  expect(rows[0]).toBe('time,epoch_s,device,point,unit,value,min,max,count,quality');
  expect(rows.slice(1).every((r) => /^[^,]+,[\d.]+,sensor_01,(temperature|humidity),/.test(r))).toBe(true);

  const bad = await mgw(['history', 'motor_01', '--since', 'yesterday'], env);
  expect(bad.code).toBe(64);
  expect(bad.stderr).toContain('--since must be a duration');
  const missing = await mgw(['history', 'motor_99', '--since', '1h'], env);
  expect(missing.code).toBe(65);
  expect(missing.stderr).toContain('motor_99');
});
