/**
 * The device detail view's history chart in a real browser against a real gateway whose
 * history store is filling: range buttons, drag-to-zoom, live extension, drawn pixels.
 */
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { HistoryStore } from '../../src/historian/store.js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { buildPage, launch, outputPath, watchErrors } from './browser.js';

let browser: Browser;
let gw: RunningGateway;

/**
 * Two hours of a drive's history written before the gateway starts, the way the store writes
 * it (batches every 5 minutes of store time), so the longer ranges have something to show.
 */
async function prefill(stateDir: string): Promise<void> {
  const end = Date.now();
  const start = end - 2 * 3_600_000;
  let now = start;
  const store = new HistoryStore({ dir: join(stateDir, 'history'), retentionMs: { raw: 7 * 86_400_000, '1m': 90 * 86_400_000, '1h': 730 * 86_400_000 }, maxBytes: 1 << 30, fsync: false, now: () => now, log: pino({ level: 'silent' }) });
  store.open();
  for (let t = start; t < end - 60_000; t += 2000) {
    // A load cycle of 40 minutes with some ripple.
    const load = Math.sin(((t - start) / 2_400_000) * 2 * Math.PI);
    const ripple = Math.sin((t - start) / 11_000) * Math.cos((t - start) / 37_000);
    store.add('motor_01', 'actual_speed', t, Math.round(1100 + 250 * load + 30 * ripple), 0);
    store.add('motor_01', 'current', t, +(5 + 1.6 * load + 0.5 * ripple).toFixed(2), 0);
    if (t - now >= 300_000 || t + 2000 >= end - 60_000) {
      now = t;
      await store.flush();
    }
  }
  now = end - 60_000;
  await store.close();
}

beforeAll(async () => {
  buildPage();
  browser = await launch();
  const stateDir = mkdtempSync(join(tmpdir(), 'mgw-chart-'));
  await prefill(stateDir);
  gw = await startGateway({
    state_dir: stateDir,
    log: { level: 'warn' },
    history: { store: { flush_s: 1, fsync: false } },
    devices: [
      { id: 'motor_01', name: 'Conveyor drive', driver: 'simulator', model: 'motor', poll_interval_ms: 200 },
      { id: 'sensor_01', name: 'Hall A climate', driver: 'simulator', model: 'sensor', poll_interval_ms: 500 },
    ],
  } as never);
});

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});

const chart = (page: Page) => page.locator('[data-detail="motor_01"] .chart');
const attr = async (page: Page, name: string) => Number(await chart(page).getAttribute(`data-${name}`));

/** Pixels of the canvas in a colour (the first series is drawn in #4da3ff). */
function pixelsOf(page: Page, rgb: [number, number, number]): Promise<number> {
  return page.evaluate((rgb) => {
    const c = document.querySelector('[data-detail="motor_01"] canvas') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i]! - rgb[0]) < 8 && Math.abs(d[i + 1]! - rgb[1]) < 8 && Math.abs(d[i + 2]! - rgb[2]) < 8 && d[i + 3]! > 200) n++;
    return n;
  }, rgb);
}

test.skipIf(!peers('chromium'))('the history chart: ranges, drag-to-zoom, live extension, two points on local-time axes', async () => {
  // Some history on disk first.
  const store = gw.gateway.historian!.store;
  while (store.counters.batches_written < 2) await new Promise((r) => setImmediate(r));
  const ctx = await browser.newContext({ viewport: { width: 1024, height: 600 } });
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  const firstLoad = page.waitForRequest((r) => r.url().includes('/devices/motor_01/history?') && r.url().includes('max_points='));
  await page.goto(`${gw.url}/#/device/motor_01`);
  const req = new URL((await firstLoad).url());
  expect(req.searchParams.get('points')).toBe('actual_speed,current');
  expect(Number(req.searchParams.get('to')) - Number(req.searchParams.get('from'))).toBeCloseTo(3600, 0);
  await page.waitForFunction(() => Number(document.querySelector('[data-detail="motor_01"] .chart')?.getAttribute('data-rows')) > 0);
  expect(await page.locator('#board').isHidden()).toBe(true);
  expect(await page.locator('.detail-ranges button[data-range="3600"]').getAttribute('aria-pressed')).toBe('true');
  // The last hour: the prefilled history in buckets with their min/max band, then the live minutes.
  await page.waitForFunction(() => /^\d+s$/.test(document.querySelector('[data-detail="motor_01"]')?.getAttribute('data-resolution') ?? ''));
  expect(await pixelsOf(page, [77, 163, 255])).toBeGreaterThan(300);
  // The chart is the device page's trends, below its points: bring it up.
  await page.locator('.dp-trends').evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: outputPath('history-chart.png') });
  copyFileSync(outputPath('history-chart.png'), 'test/e2e/history-chart.png');

  // 5 minutes: raw samples, drawn, extended live.
  const five = page.waitForRequest((r) => r.url().includes('history?') && Math.abs(Number(new URL(r.url()).searchParams.get('to')) - Number(new URL(r.url()).searchParams.get('from')) - 300) < 1);
  await page.click('.detail-ranges button[data-range="300"]');
  await five;
  await page.waitForFunction(() => document.querySelector('[data-detail="motor_01"]')?.getAttribute('data-resolution') === 'raw');
  const rows0 = await attr(page, 'rows');
  const to0 = await attr(page, 'to');
  await page.waitForFunction((n) => Number(document.querySelector('[data-detail="motor_01"] .chart')?.getAttribute('data-rows')) > n + 5, rows0);
  expect(await attr(page, 'to')).toBeGreaterThan(to0);
  expect(await pixelsOf(page, [77, 163, 255])).toBeGreaterThan(20);
  expect(await pixelsOf(page, [255, 197, 61])).toBeGreaterThan(20);

  // Drag across the middle fifth: the chart zooms there and stops following the present.
  const box = (await page.locator('[data-detail="motor_01"] canvas').boundingBox())!;
  const from0 = await attr(page, 'from');
  const span0 = (await attr(page, 'to')) - from0;
  const zoomed = page.waitForRequest((r) => r.url().includes('history?') && Number(new URL(r.url()).searchParams.get('to')) - Number(new URL(r.url()).searchParams.get('from')) < span0 / 2);
  await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 4 });
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 4 });
  await page.mouse.up();
  const zoomUrl = new URL((await zoomed).url());
  await page.waitForFunction(() => document.querySelector('[data-detail="motor_01"]')?.getAttribute('data-zoomed') === 'true');
  await page.waitForFunction((f) => Math.abs(Number(document.querySelector('[data-detail="motor_01"] .chart')?.getAttribute('data-from')) - f) < 0.01, Number(zoomUrl.searchParams.get('from')));
  const zf = await attr(page, "from");
  const zt = await attr(page, 'to');
  expect(zf).toBeGreaterThan(from0);
  expect(zt - zf).toBeGreaterThan(span0 * 0.1);
  expect(zt - zf).toBeLessThan(span0 * 0.3);
  expect(await page.locator('.detail-reset').isVisible()).toBe(true);

  // 7 days: buckets with a min/max band, from whatever tier reaches back.
  const week = page.waitForRequest((r) => r.url().includes('history?') && Number(new URL(r.url()).searchParams.get('to')) - Number(new URL(r.url()).searchParams.get('from')) > 6 * 86_400);
  await page.click('.detail-ranges button[data-range="604800"]');
  await week;
  await page.waitForFunction(() => /^\d+s$/.test(document.querySelector('[data-detail="motor_01"]')?.getAttribute('data-resolution') ?? ''));
  expect(await page.locator('.detail-reset').isVisible()).toBe(false);
  expect(await page.locator('.detail-status').innerText()).toMatch(/Mean with min–max band per \d+ (min|s|h)/);

  // A second unit on the chart: ticking temperature adds a line in its colour.
  await page.check('.detail-pick input[data-point="temperature"]');
  await page.click('.detail-ranges button[data-range="300"]');
  await page.waitForFunction(() => document.querySelector('[data-detail="motor_01"]')?.getAttribute('data-resolution') === 'raw');
  await page.waitForFunction(() => Number(document.querySelector('[data-detail="motor_01"] .chart')?.getAttribute('data-rows')) > 10);
  expect(await pixelsOf(page, [61, 220, 132])).toBeGreaterThan(20);

  // The device stops answering: from then on its values are stale, drawn grey and dashed, live
  // and again when the range is read back from the store.
  await page.uncheck('.detail-pick input[data-point="temperature"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-detail="motor_01"] .chart')?.getAttribute('data-rows')) > 10);
  expect(await pixelsOf(page, [125, 138, 150])).toBe(0);
  for (const d of gw.gateway.driverList()) await d.stop();
  gw.gateway.registry.setOnline('motor_01', false);
  await page.waitForFunction(() => document.querySelector('[data-detail="motor_01"]')?.getAttribute('data-live') !== null);
  await page.waitForFunction(() => {
    const c = document.querySelector('[data-detail="motor_01"] canvas') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i]! - 125) < 8 && Math.abs(d[i + 1]! - 138) < 8 && Math.abs(d[i + 2]! - 150) < 8) n++;
    return n > 20;
  });
  // The stale samples on disk now, not at the next batch.
  await store.flush();
  const reread = page.waitForResponse((r) => r.url().includes('history?'));
  await page.click('.detail-ranges button[data-range="300"]');
  const body = (await (await reread).json()) as { points: Record<string, { q?: string[] }> };
  expect(body.points['current']!.q?.at(-1)).toBe('stale');
  await page.waitForFunction(() => {
    const c = document.querySelector('[data-detail="motor_01"] canvas') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i]! - 125) < 8 && Math.abs(d[i + 1]! - 138) < 8 && Math.abs(d[i + 2]! - 150) < 8) n++;
    return n > 20;
  });

  // Back to the board.
  await page.click('.detail-close');
  await page.waitForFunction(() => document.querySelector('[data-detail]') === null);
  expect(await page.locator('#board').isVisible()).toBe(true);
  expect(errors).toEqual([]);
  await ctx.close();
}, 60_000);
