/**
 * Alarms in the HMI, in real browsers (Debian's chromium) against a real gateway: the banner
 * appears, the card's point shows the alarm, an ack from one operator's list reaches a second
 * browser, a viewer gets no buttons and is refused by the gateway, shelving from the list.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { hashToken, newToken } from '../../src/server/auth.js';
import { buildPage, launch, outputPath, watchErrors } from './browser.js';

describe.skipIf(!peers('chromium'))('alarms in the HMI', () => {
  let browser: Browser;
  const cleanups: (() => Promise<void> | void)[] = [];
  const contexts: BrowserContext[] = [];
  const viewer = newToken();
  const operator = newToken();
  const admin = newToken();

  beforeAll(async () => {
    buildPage();
    browser = await launch();
  });
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function gateway(): Promise<RunningGateway> {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-hmi-alarms-'));
    const gw = await startGateway({
      log: { level: 'warn' },
      state_dir: dir,
      auth: {
        tokens: [
          { name: 'hall_panel', role: 'viewer', hash: hashToken(viewer) },
          { name: 'shift_lead', role: 'operator', hash: hashToken(operator) },
          { name: 'plant_admin', role: 'admin', hash: hashToken(admin) },
        ],
      },
      devices: [
        {
          id: 'motor_01',
          name: 'Conveyor drive',
          driver: 'simulator',
          model: 'motor',
          poll_interval_ms: 100,
          alarms: { points: { speed: { hi: { limit: 2500, message: 'Conveyor overspeed' }, hihi: { limit: 2900, priority: 'critical', message: 'Conveyor at its mechanical limit' } } } },
        },
        { id: 'motor_02', name: 'Mixer drive', driver: 'simulator', model: 'motor', poll_interval_ms: 100, alarms: { points: { speed: { hi: { limit: 2500, priority: 'low' } } } } },
      ],
    } as never);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanups.push(() => gw.stop());
    return gw;
  }

  async function open(gw: RunningGateway, token: string, hash = ''): Promise<{ page: Page; errors: string[]; sockets: string[] }> {
    const ctx = await browser.newContext({ viewport: { width: 1024, height: 600 } });
    ctx.setDefaultTimeout(15_000);
    contexts.push(ctx);
    await ctx.addInitScript((t) => sessionStorage.setItem('mgw.token', t), token);
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    // Every WebSocket the page opens, from the first moment.
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(`${gw.url}/${hash}`);
    await page.locator('#alarm-banner').waitFor();
    return { page, errors, sockets };
  }

  async function setSpeed(gw: RunningGateway, device: string, speed: number): Promise<void> {
    expect((await postJson(`${gw.url}/api/v1/devices/${device}`, { speed }, { Authorization: `Bearer ${operator}` })).status).toBe(200);
  }

  const row = (id: string) => `#alarm-table tr[data-alarm="${id}"]`;

  test('the banner appears, the point is marked, an ack from the list reaches a second browser, a viewer cannot ack', async () => {
    const gw = await gateway();
    const a = await open(gw, operator);
    const b = await open(gw, operator, '#alarms');
    const v = await open(gw, viewer, '#alarms');
    expect(await a.page.locator('#alarm-banner').getAttribute('data-unacked')).toBe('false');
    expect(await a.page.locator('#alarm-banner .ab-newest').innerText()).toBe('No alarms');

    await setSpeed(gw, 'motor_01', 3000);
    await setSpeed(gw, 'motor_02', 2600);
    // The banner: counts per priority, the newest unacknowledged alarm, flashing.
    await a.page.waitForFunction(() => document.querySelector('#alarm-banner')?.getAttribute('data-count') === '3');
    expect(await a.page.locator('#alarm-banner').getAttribute('data-unacked')).toBe('true');
    expect(await a.page.locator('#alarm-banner [data-priority="critical"] b').innerText()).toBe('1');
    expect(await a.page.locator('#alarm-banner .ab-newest').innerText()).toMatch(/Unacknowledged$/);
    const flashing = await a.page.locator('#alarm-banner .ab-newest').evaluate((el) => getComputedStyle(el).animationName);
    expect(flashing).toBe('alarm-flash');
    // The card's point: the priority's shape and the limit's letters, not colour alone.
    const mark = a.page.locator('[data-device="motor_01"] [data-point="speed"] .alarm-mark');
    await mark.waitFor();
    expect(await mark.innerText()).toBe('◆ HH');
    expect(await a.page.locator('[data-device="motor_01"] [data-point="speed"]').getAttribute('data-alarm')).toBe('critical');
    await a.page.screenshot({ path: outputPath('hmi-alarm-banner.png') });

    // The list on the second browser: sorted by priority, then time.
    await b.page.locator(row('motor_02.speed.hi')).waitFor();
    expect(await b.page.locator('#alarm-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-alarm')))).toEqual([
      'motor_01.speed.hihi',
      'motor_01.speed.hi',
      'motor_02.speed.hi',
    ]);
    await b.page.screenshot({ path: outputPath('hmi-alarm-list.png') });

    // The viewer sees the alarms but no buttons; the gateway refuses an ack sent anyway.
    await v.page.locator(row('motor_01.speed.hihi')).waitFor();
    expect(await v.page.locator('.al-ack').count()).toBe(0);
    expect(await v.page.locator('#ack-visible').isHidden()).toBe(true);
    const refused = await v.page.evaluate(async (t) => {
      const r = await fetch('/api/v1/alarms/motor_01.speed.hihi/ack', { method: 'POST', headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' }, body: '{}' });
      return { status: r.status, body: (await r.json()) as { error_code: string } };
    }, viewer);
    expect(refused).toMatchObject({ status: 403, body: { error_code: 'forbidden' } });

    // Operator A acknowledges from the list; B and the viewer follow.
    await a.page.goto(`${gw.url}/#alarms`);
    await a.page.locator(`${row('motor_01.speed.hihi')} .al-ack`).click();
    for (const p of [b.page, v.page]) {
      await p.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-state') === 'active_ack', row('motor_01.speed.hihi'));
    }
    expect(await b.page.locator(`${row('motor_01.speed.hihi')} .al-ack`).count()).toBe(0);
    // Acknowledge every alarm shown (filtered to the low one first, then all).
    await a.page.selectOption('#alarm-priority', 'low');
    await a.page.click('#ack-visible');
    await b.page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-state') === 'active_ack', row('motor_02.speed.hi'));
    expect(await b.page.locator(row('motor_01.speed.hi')).getAttribute('data-state')).toBe('active_unack');
    await a.page.selectOption('#alarm-priority', '');
    await a.page.click('#ack-visible');
    await b.page.waitForFunction(() => document.querySelector('#alarm-banner')?.getAttribute('data-unacked') === 'false');
    expect(await b.page.locator('#alarm-banner .ab-newest').evaluate((el) => getComputedStyle(el).animationName)).toBe('none');

    // Shelve for 30 minutes from the list; the viewer sees it shelved, the banner no longer counts it.
    await a.page.selectOption(`${row('motor_02.speed.hi')} select`, '1800');
    await a.page.click(`${row('motor_02.speed.hi')} [data-shelve]`);
    await v.page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-state') === 'shelved', row('motor_02.speed.hi'));
    expect(await v.page.locator(row('motor_02.speed.hi')).innerText()).toMatch(/Shelved until .* by shift_lead/);
    expect(await v.page.locator('#alarm-banner [data-priority="low"] b').innerText()).toBe('0');
    // The journal tab lists the transitions with who did them.
    await v.page.click('#alarm-journal-tab');
    await v.page.locator('#alarm-journal tbody tr').first().waitFor();
    expect(await v.page.locator('#alarm-journal tbody tr').first().innerText()).toMatch(/shelve.*shift_lead/s);
    // Sound: off by default, the toggle is remembered by the browser across a reload.
    expect(await a.page.locator('#alarm-sound').getAttribute('aria-pressed')).toBe('false');
    await a.page.click('#alarm-sound');
    expect(await a.page.locator('#alarm-sound').getAttribute('aria-pressed')).toBe('true');
    await a.page.reload();
    await a.page.locator('#alarm-banner').waitFor();
    expect(await a.page.locator('#alarm-sound').getAttribute('aria-pressed')).toBe('true');
    expect(await b.page.locator('#alarm-sound').getAttribute('aria-pressed')).toBe('false');
    for (const p of [a, b]) expect(p.errors).toEqual([]);
    // The viewer's page logged only the refusal this test provoked.
    expect(v.errors).toEqual(['console: Failed to load resource: the server responded with a status of 403 (Forbidden)']);
  }, 90_000);
  test('a flood of 100 alarms: the banner keeps its size and stays usable, the list acknowledges all shown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-hmi-flood-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const ids = Array.from({ length: 100 }, (_, i) => `m${String(i + 1).padStart(3, '0')}`);
    const gw = await startGateway({
      log: { level: 'warn' },
      state_dir: dir,
      devices: ids.map((id) => ({ id, driver: 'simulator' as const, model: 'motor' as const, poll_interval_ms: 500, alarms: { points: { speed: { hi: 2500 } } } })),
    });
    cleanups.push(() => gw.stop());
    const { page, errors } = await open(gw, '');
    // A hundred devices open as the overview: one row each.
    await page.locator('[data-row="m100"]').waitFor();
    const before = (await page.locator('#alarm-banner').boundingBox())!;
    await Promise.all(ids.map((id) => gw.gateway.control.write(id, { speed: 3000 })));
    await page.waitForFunction(() => document.querySelector('#alarm-banner')?.getAttribute('data-count') === '100');
    const after = (await page.locator('#alarm-banner').boundingBox())!;
    expect(after.height).toBe(before.height);
    expect(await page.locator('#alarm-banner [data-priority="medium"] b').innerText()).toBe('100');
    // Still usable: the link to the list works, and the list holds every alarm.
    await page.click('#alarm-link');
    await page.waitForFunction(() => document.querySelectorAll('#alarm-table tbody tr[data-alarm]').length === 100);
    await page.click('#ack-visible');
    await page.waitForFunction(() => document.querySelector('#alarm-banner')?.getAttribute('data-unacked') === 'false');
    expect(await page.locator('.al-ack').count()).toBe(0);
    expect(gw.gateway.alarms.list().filter((a) => a.state === 'active_ack').length).toBe(100);
    expect(errors).toEqual([]);
  }, 90_000);

  test('one WebSocket per page carries devices and alarms; an admin takes an alarm out of service after confirming, and returns it', async () => {
    const gw = await gateway();
    const ad = await open(gw, admin, '#alarms');
    const op = await open(gw, operator, '#alarms');
    await setSpeed(gw, 'motor_01', 2600);
    for (const p of [ad, op]) await p.page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-state') === 'active_unack', row('motor_01.speed.hi'));
    // The cards are live over the same connection as the list.
    await ad.page.evaluate(() => (location.hash = ''));
    await ad.page.locator('[data-device="motor_01"] [data-point="speed"] .alarm-mark').waitFor();
    await ad.page.evaluate(() => (location.hash = '#alarms'));

    // An operator may acknowledge and shelve, not take out of service.
    expect(await op.page.locator('[data-out-of-service]').count()).toBe(0);
    const button = ad.page.locator(`${row('motor_01.speed.hi')} [data-out-of-service]`);
    // Cancelled: nothing happens.
    await button.click();
    await ad.page.locator('#oos-dialog').waitFor({ state: 'visible' });
    expect(await ad.page.locator('#oos-text').innerText()).toMatch(/motor_01\.speed\.hi.*will not be annunciated.*until an admin returns it to service/);
    await ad.page.click('#oos-cancel');
    await ad.page.locator('#oos-dialog').waitFor({ state: 'hidden' });
    expect(gw.gateway.alarms.table.view('motor_01.speed.hi')!.state).toBe('active_unack');
    // Confirmed, with a reason: every page follows; the banner no longer counts it.
    await button.click();
    await ad.page.fill('#oos-comment', 'speed sensor replaced');
    await ad.page.click('#oos-confirm');
    await op.page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-state') === 'out_of_service', row('motor_01.speed.hi'));
    expect(gw.gateway.alarms.table.view('motor_01.speed.hi')).toMatchObject({ state: 'out_of_service', comment: 'speed sensor replaced' });
    expect(await ad.page.locator('.al-status').innerText()).toBe('1 alarm taken out of service.');
    await op.page.waitForFunction(() => document.querySelector('#alarm-banner')?.getAttribute('data-count') === '0');
    // Back in service: the drive is still too fast, so the alarm is annunciated afresh.
    await ad.page.click(`${row('motor_01.speed.hi')} [data-return-to-service]`);
    await op.page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-state') === 'active_unack', row('motor_01.speed.hi'));
    await gw.gateway.audit.flush();
    const audit = readFileSync(join(gw.config.state_dir!, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    expect(audit.filter((r) => r['action'] === 'alarm').map((r) => `${r['token']} ${r['requested']['alarm_action']} ${r['outcome']}`)).toEqual(['plant_admin out_of_service ok', 'plant_admin return_to_service ok']);

    // Exactly one WebSocket per page, the device connection, through all of it.
    expect(ad.sockets).toHaveLength(1);
    expect(op.sockets).toHaveLength(1);
    expect(op.sockets[0]).toMatch(/\/ws\/devices/);
    for (const p of [ad, op]) expect(p.errors).toEqual([]);
  }, 90_000);
});

/** Refreshes the README screenshots from the last run when asked (UPDATE_SCREENSHOT=1). */
afterAll(() => {
  if (process.env['UPDATE_SCREENSHOT'] === '1' && existsSync(outputPath('hmi-alarm-list.png'))) {
    copyFileSync(outputPath('hmi-alarm-banner.png'), 'test/e2e/hmi-alarm-banner.png');
    copyFileSync(outputPath('hmi-alarm-list.png'), 'test/e2e/hmi-alarm-list.png');
  }
});
