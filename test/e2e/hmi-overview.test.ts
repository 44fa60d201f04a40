/**
 * The HMI at plant size, in a real browser (Debian's chromium via playwright-core) against a
 * real gateway running config/examples/simulator-100.yaml: the overview (one row per device,
 * grouped by area, sortable, filtered, remembered), the area in the URL, and how many requests
 * the page makes on load and after a reconnect.
 */
import { copyFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { loadConfigFile } from '../../src/config/load.js';
import { browserSuite, outputPath, pageOwnErrors, watchErrors } from './browser.js';
import { Relay } from './relay.js';

const PLANT = loadConfigFile('config/examples/simulator-100.yaml').devices;

/** Ids of the rows shown, in order. */
function shownRows(page: Page, area?: string): Promise<string[]> {
  return page.evaluate(
    (area) =>
      [...document.querySelectorAll<HTMLElement>(`${area === null ? '' : `tbody[data-area="${area}"] `}tr[data-row]`)]
        .filter((r) => r.offsetParent !== null)
        .map((r) => r.dataset['row']!),
    area ?? null,
  );
}

/** Runs every timer the page has queued by now (the history loader waits one for the burst of devices). */
function settleTimers(page: Page): Promise<void> {
  return page.evaluate(() => new Promise<void>((r) => setTimeout(() => setTimeout(r, 0), 0)));
}

describe.skipIf(!peers('chromium'))('the HMI overview at 100 devices', () => {
  const suite = browserSuite({ devices: PLANT });
  const gateway = () => suite.gateway();
  const context = (viewport = { width: 1024, height: 600 }) => suite.context({ viewport });
  const open = (ctx: BrowserContext, url: string) => suite.open(url, {}, ctx);
  const cleanup = suite.cleanup;

  test('opens as the overview: a row per device with live values and alarms, grouped by area, a few panel screens tall', async () => {
    const gw = await gateway();
    const { page, errors } = await open(await context(), `${gw.url}/`);
    await page.locator('tr[data-row="util_io_02"]').waitFor();
    expect(await page.locator('body').getAttribute('data-view')).toBe('table');
    expect(await shownRows(page)).toHaveLength(100);
    expect(await page.locator('[data-device]:visible').count()).toBe(0);
    await expect.poll(() => page.locator('header.top').getAttribute('data-link')).toBe('connected');

    // Grouped by area, in order, each with its count.
    const areas = await page.locator('tbody[data-area]').evaluateAll((bodies) => bodies.map((b) => `${b.getAttribute('data-area')}: ${b.querySelector('.area-sum')?.textContent}`));
    expect(areas).toEqual(['hall-1: 30 devices', 'hall-2: 30 devices', 'packaging: 28 devices', 'utilities: 12 devices']);

    // A row: name, line, type, online, key values with units, age.
    const row = page.locator('tr[data-row="l3_drive_02"]');
    expect(await row.locator('.c-name a').innerText()).toBe('L3 Transfer conveyor');
    expect(await row.locator('.c-line').innerText()).toBe('line-3');
    expect(await row.locator('.c-type').innerText()).toMatch(/motor/i);
    expect(await row.locator('.st').innerText()).toMatch(/online/i);
    expect(await row.locator('.kv').evaluateAll((kvs) => kvs.map((k) => k.getAttribute('data-point')))).toEqual(['running', 'actual_speed', 'current']);
    expect(await row.locator('[data-point="running"] .v').innerText()).toBe('ON');
    expect(await row.locator('[data-point="current"] .u').innerText()).toBe('A');
    await expect.poll(() => row.locator('.c-age').innerText()).toMatch(/^\d+ s$/);
    // Values move live.
    const hum = page.locator('tr[data-row="l2_climate_03"] [data-point="humidity"] .v');
    const before = await hum.innerText();
    await expect.poll(() => hum.innerText(), { timeout: 30_000 }).not.toBe(before);

    // An alarm shows on its device's row (word and shape) and in its area's summary.
    await Promise.all(['l1_drive_01', 'util_drive_01'].map((id) => gw.gateway.control.write(id, { speed: 3000 })));
    await page.locator('tr[data-row="util_drive_01"] .al[data-alarm]').waitFor({ timeout: 30_000 });
    expect(await page.locator('tr[data-row="util_drive_01"] .al').innerText()).toMatch(/^[◆▲●▼] (Critical|High|Medium|Low)/);
    await expect.poll(() => page.locator('tbody[data-area="utilities"] .area-sum').innerText()).toMatch(/1 in alarm/);

    // The cards made 26 screens of a 1024x600 panel at this size; the overview takes a few.
    const screens = await page.evaluate(() => document.documentElement.scrollHeight / window.innerHeight);
    expect(screens).toBeLessThan(6.5);
    await page.locator('tr[data-row="l1_drive_01"] .al[data-alarm]').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: outputPath('hmi-overview-1024x600.png') });

    const phone = await open(await context({ width: 390, height: 844 }), `${gw.url}/`);
    await phone.page.locator('tr[data-row="util_io_02"]').waitFor();
    await phone.page.locator('tr[data-row="l1_drive_01"] .al[data-alarm]').waitFor({ timeout: 30_000 });
    // Nothing sideways on a phone: the table fits the width.
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await phone.page.locator('tr[data-row="l3_drive_02"] .kv:visible').count()).toBe(2);
    await phone.page.screenshot({ path: outputPath('hmi-overview-phone.png') });
    expect([...errors, ...phone.errors]).toEqual([]);
  }, 120_000);

  test('sorts by a column header from the keyboard, filters, collapses an area, and remembers it all in this browser', async () => {
    const gw = await gateway();
    const ctx = await context();
    const { page, errors } = await open(ctx, `${gw.url}/`);
    await page.locator('tr[data-row="util_io_02"]').waitFor();
    const hall1 = PLANT.filter((d) => d.area === 'hall-1');
    const byName = (a: (typeof PLANT)[number], b: (typeof PLANT)[number]) => a.name!.localeCompare(b.name!, undefined, { numeric: true });
    // Unsorted: the config's order.
    expect(await shownRows(page, 'hall-1')).toEqual(hall1.map((d) => d.id));

    // Tab to the Device header and sort with Enter, then again for descending.
    await page.locator('th.c-name .sort').focus();
    await page.keyboard.press('Enter');
    expect(await page.locator('thead th.c-name').getAttribute('aria-sort')).toBe('ascending');
    expect(await shownRows(page, 'hall-1')).toEqual([...hall1].sort(byName).map((d) => d.id));
    await page.keyboard.press('Enter');
    expect(await page.locator('thead th.c-name').getAttribute('aria-sort')).toBe('descending');
    expect(await shownRows(page, 'hall-1')).toEqual([...hall1].sort(byName).reverse().map((d) => d.id));
    // Sort by type: sensors after motors within an area.
    await page.locator('th.c-type .sort').press('Space');
    expect(await page.locator('thead th.c-name').getAttribute('aria-sort')).toBe('none');
    const types = await page.locator('tbody[data-area="packaging"] tr[data-row] .c-type').allInnerTexts();
    expect(types.map((t) => t.toLowerCase())).toEqual([...types].map((t) => t.toLowerCase()).sort());
    await page.locator('th.c-name .sort').press('Enter');

    // Filter by name, id, type, area or line.
    await page.fill('#filter', 'pump');
    const pumps = PLANT.filter((d) => `${d.name} ${d.id}`.toLowerCase().includes('pump')).map((d) => d.id);
    expect(pumps.length).toBe(8);
    await expect.poll(async () => (await shownRows(page)).sort()).toEqual([...pumps].sort());
    expect(await page.locator('#overview .ov-count').innerText()).toBe('8 of 100 devices');
    await page.fill('#filter', 'line-5');
    await expect.poll(async () => (await shownRows(page)).length).toBe(PLANT.filter((d) => d.line === 'line-5').length);
    await page.fill('#filter', 'pump');

    // Collapse an area from the keyboard: its rows go, its header says what is inside.
    const utilities = page.locator('tbody[data-area="utilities"] .area-toggle');
    await utilities.focus();
    await page.keyboard.press('Space');
    expect(await utilities.getAttribute('aria-expanded')).toBe('false');
    await expect.poll(async () => (await shownRows(page)).sort()).toEqual(pumps.filter((id) => id.startsWith('l')).sort());
    expect(await page.locator('tbody[data-area="utilities"] .area-sum').innerText()).toBe('2 devices');

    // Reload: the same view, sort, filter and collapsed area.
    await page.reload();
    await page.locator('tr[data-row="util_io_02"]').waitFor({ state: 'attached' });
    expect(await page.locator('#filter').inputValue()).toBe('pump');
    expect(await page.locator('thead th.c-name').getAttribute('aria-sort')).toBe('ascending');
    expect(await page.locator('tbody[data-area="utilities"] .area-toggle').getAttribute('aria-expanded')).toBe('false');
    await expect.poll(async () => (await shownRows(page)).sort()).toEqual(pumps.filter((id) => id.startsWith('l')).sort());

    // The cards for the selection: the same filter and collapsed area, grouped the same way.
    await page.locator('#view-cards').press('Enter');
    expect(await page.locator('body').getAttribute('data-view')).toBe('cards');
    expect(await page.locator('#overview-table').isVisible()).toBe(false);
    await expect.poll(async () => (await page.locator('[data-device]:visible').evaluateAll((c) => c.map((x) => x.getAttribute('data-device')))).sort()).toEqual(
      pumps.filter((id) => id.startsWith('l')).sort(),
    );
    expect(await page.locator('section.area-group[data-area="utilities"] .area-toggle').getAttribute('aria-expanded')).toBe('false');
    await page.reload();
    await page.locator('[data-device="l1_drive_05"]').waitFor();
    expect(await page.locator('body').getAttribute('data-view')).toBe('cards');

    // A kiosk hides the filter box: the remembered filter is not applied unseen there.
    await page.goto(`${gw.url}/?kiosk=1`);
    await page.locator('[data-device="l1_drive_01"]').waitFor();
    expect(await page.locator('#filter').isVisible()).toBe(false);
    expect(await page.locator('#filter').inputValue()).toBe('');
    await expect.poll(() => page.locator('[data-device]:visible').count()).toBe(PLANT.filter((d) => d.area !== 'utilities').length);
    expect(errors).toEqual([]);
  }, 120_000);

  test('the URL pins an area, a row leads to its device, and an unknown area says so instead of an empty page', async () => {
    const gw = await gateway();
    const { page, errors } = await open(await context(), `${gw.url}/#/?area=hall-2`);
    await page.locator('tr[data-row="util_io_02"]').waitFor({ state: 'attached' });
    const hall2 = PLANT.filter((d) => d.area === 'hall-2').map((d) => d.id);
    await expect.poll(() => shownRows(page)).toEqual(hall2);
    expect(await page.locator('#area').inputValue()).toBe('hall-2');
    expect(await page.locator('tbody[data-area]:visible').count()).toBe(1);

    // Picking an area puts it in the URL.
    await page.selectOption('#area', 'packaging');
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/?area=packaging');
    await expect.poll(async () => (await shownRows(page)).length).toBe(28);
    // The cards follow the area.
    await page.click('#view-cards');
    await expect.poll(() => page.locator('[data-device]:visible').count()).toBe(28);
    await page.click('#view-table');

    // A row leads to the device's page, by mouse anywhere on the row or by keyboard on its name.
    await page.locator('tr[data-row="l5_drive_03"] .c-status').click();
    expect(await page.evaluate(() => location.hash)).toBe('#/devices/l5_drive_03');
    await page.locator('[data-device-page="l5_drive_03"]').waitFor();
    expect(await page.locator('#overview').isVisible()).toBe(false);
    // Closing it returns to the area the panel is pinned to.
    await page.click('.detail-close');
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/?area=packaging');
    await expect.poll(async () => (await shownRows(page)).length).toBe(28);
    await page.locator('tr[data-row="l5_drive_04"] .c-name a').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/devices/l5_drive_04');

    // An area the gateway does not have: a message naming the areas there are, and every device.
    await page.goto(`${gw.url}/#/?area=hall-9`);
    await page.locator('#area-note').waitFor();
    expect(await page.locator('#area-note').innerText()).toBe('No area "hall-9" on this gateway: showing all devices. Areas: hall-1, hall-2, packaging, utilities');
    expect(await page.locator('#area-note a').evaluateAll((a) => a.map((x) => x.getAttribute('href')))).toEqual(['#/?area=hall-1', '#/?area=hall-2', '#/?area=packaging', '#/?area=utilities']);
    await expect.poll(async () => (await shownRows(page)).length).toBe(100);
    await page.click('#area-note a[href="#/?area=utilities"]');
    await expect.poll(async () => (await shownRows(page)).length).toBe(12);
    expect(await page.locator('#area-note').isVisible()).toBe(false);
    expect(errors).toEqual([]);
  }, 120_000);

  test('history in batches: none for the overview, the cards on screen first, nothing after a resumed reconnect, one request for the span a restart lost', async () => {
    const gw = await gateway();
    const relay = new Relay(gw.port);
    await relay.start();
    cleanup(() => relay.stop());
    let current = gw;
    const { page, errors } = await open(await context(), `http://127.0.0.1:${relay.port}/`);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const history = () => requests.filter((u) => u.includes('/history'));
    await page.locator('tr[data-row="util_io_02"]').waitFor();
    await expect.poll(() => page.locator('header.top').getAttribute('data-link')).toBe('connected');
    await settleTimers(page);
    // The overview has no trends: it asks for no history.
    expect(history()).toEqual([]);

    // The cards: one request for those on screen, then one for the rest; never one per device.
    const first = page.waitForResponse((r) => r.url().includes('/api/v1/history?'));
    await page.click('#view-cards');
    await first;
    await expect.poll(() => history().length).toBe(2);
    const ids = (url: string) => new URL(url).searchParams.get('devices')!.split(',');
    const [a, b] = history().map(ids) as [string[], string[]];
    const onScreen = await page.locator('[data-device]').evaluateAll((cards) =>
      cards.filter((c) => c.getBoundingClientRect().bottom > 0 && c.getBoundingClientRect().top < window.innerHeight).map((c) => c.getAttribute('data-device')!),
    );
    expect(a.sort()).toEqual(onScreen.sort());
    expect([...a, ...b].sort()).toEqual(PLANT.map((d) => d.id).sort());
    expect(history().every((u) => new URL(u).pathname === '/api/v1/history')).toBe(true);
    await page.waitForFunction(() => ((document.querySelector('[data-device="l1_drive_01"] [data-point="current"] .trend path') as SVGPathElement | null)?.getAttribute('d') ?? '').length > 0);

    // A pulled cable: the page resumes with `since`, the gateway replays what was missed.
    const atCut = requests.length;
    relay.cut();
    await expect.poll(() => page.locator('header.top').getAttribute('data-link'), { timeout: 30_000 }).toBe('resynced');
    await settleTimers(page);

    // The gateway restarts: a new instance, every device comes back as a snapshot, so every
    // trend misses the span since the drop: one request for it, for all of them.
    const atRestart = requests.length;
    await current.stop();
    current = await gateway();
    relay.target = current.port;
    relay.cut();
    await expect.poll(() => page.locator('header.top').getAttribute('data-link'), { timeout: 30_000 }).toBe('resynced');
    await expect.poll(() => requests.length - atRestart, { timeout: 30_000 }).toBe(1);
    await settleTimers(page);
    // Request events arrive in order, the restart's one seen. After the cut the gateway replays
    // what was missed; only devices it had to send as snapshots instead (a long drop on a busy
    // machine outlasts the replay) have their gap fetched, all in one request from `since`.
    const afterCut = requests.slice(atCut, atRestart);
    expect(afterCut.length).toBeLessThanOrEqual(1);
    for (const u of afterCut) expect(new URL(u).searchParams.get('since')).not.toBeNull();
    const gap = new URL(requests.at(-1)!);
    expect(gap.pathname).toBe('/api/v1/history');
    expect(gap.searchParams.get('devices')!.split(',').sort()).toEqual(PLANT.map((d) => d.id).sort());
    // From the last value heard, not the whole window again.
    expect(Number(gap.searchParams.get('since'))).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(requests.length - atRestart).toBe(1);
    // The gateway was away on purpose: the browser's own messages about it are not the page's.
    expect(pageOwnErrors(errors)).toEqual([]);
  }, 180_000);
});

/** Refreshes the README screenshots from the last run when asked (UPDATE_SCREENSHOT=1). */
afterAll(() => {
  if (process.env['UPDATE_SCREENSHOT'] === '1') {
    copyFileSync(outputPath('hmi-overview-1024x600.png'), 'test/e2e/hmi-overview.png');
    copyFileSync(outputPath('hmi-overview-phone.png'), 'test/e2e/hmi-overview-phone.png');
  }
});
