/**
 * `mgw_http_requests_total` counts every HTTP request once, in the router: REST, /metrics (a
 * scrape counts itself), /healthz, /readyz, the HMI's files, HEAD and 404/405 answers; a
 * WebSocket upgrade counts as a connection, not as an HTTP request. Real requests to a real
 * gateway on port 0.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getJson, postJson, startGateway, TestClient, type RunningGateway } from '../helpers/gateway.js';

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw.stop());

async function counted(): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const m = /^mgw_http_requests_total (\d+)$/m.exec(text);
  expect(m, 'mgw_http_requests_total in /metrics').not.toBeNull();
  return Number(m![1]);
}

it('counts each request once, whatever the path, the method or the answer', async () => {
  const before = await counted();
  const answers: number[] = [];
  answers.push((await getJson(`${gw.url}/api/v1/devices`)).status);
  answers.push((await getJson(`${gw.url}/api/v1/devices/motor_01`)).status);
  answers.push((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1234 })).status);
  answers.push((await fetch(`${gw.url}/healthz`)).status);
  answers.push((await fetch(`${gw.url}/readyz`)).status);
  answers.push((await fetch(`${gw.url}/api/v1/status`)).status);
  answers.push((await fetch(`${gw.url}/api/v1/alarms`)).status);
  answers.push((await fetch(`${gw.url}/no/such/path`)).status);
  answers.push((await fetch(`${gw.url}/api/v1/devices`, { method: 'DELETE' })).status);
  answers.push((await fetch(`${gw.url}/api/v1/devices`, { method: 'HEAD' })).status);
  answers.push((await fetch(`${gw.url}/`)).status);
  expect(answers).toEqual([200, 200, 200, 200, 200, 200, 200, 404, 405, 405, expect.any(Number)]);
  // A scrape counts itself: `before` includes the first one; 11 requests, then the second scrape.
  expect(await counted()).toBe(before + answers.length + 1);
});

it('does not count a WebSocket upgrade as an HTTP request', async () => {
  const before = await counted();
  const c = await TestClient.connect(gw.wsUrl);
  c.close();
  expect(await counted()).toBe(before + 1);
});

it('is counted nowhere but in the router (a route that counts by hand would count twice)', () => {
  const dir = fileURLToPath(new URL('../../src/server/', import.meta.url));
  const counting = readdirSync(dir).filter((f) => f.endsWith('.ts') && /httpRequests\s*(\+\+|\+=)/.test(readFileSync(join(dir, f), 'utf8')));
  expect(counting).toEqual(['router.ts']);
});
