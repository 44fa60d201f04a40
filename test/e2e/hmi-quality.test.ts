/**
 * Each point's quality on the HMI page, in a real browser (Debian's chromium via playwright-core)
 * against a real gateway whose line controller (a real PTY peer) turns points bad and stale.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { QUALITY_DEVICE as ID, qualityDevice, startQualityRig, type QualityRig } from '../integration/quality-fixtures.js';
import { waitFor } from '../integration/line-pty.js';
import { buildPage, launch, outputPath, pointValue, watchErrors } from './browser.js';

const row = (point: string) => `[data-device="${ID}"] [data-point="${point}"]`;

/** What a point shows: its value, the word beside it, its quality attribute and how opaque the numeral is. */
function shown(page: Page, point: string): Promise<{ value: string; word: string; quality: string | null; wordVisible: boolean; opacity: number }> {
  return page.locator(row(point)).evaluate((el) => {
    const q = el.querySelector('.q') as HTMLElement;
    const num = el.querySelector('.num') as HTMLElement;
    return {
      value: num.textContent ?? '',
      word: q.textContent ?? '',
      quality: el.getAttribute('data-quality'),
      wordVisible: q.offsetWidth > 0 && getComputedStyle(q).visibility !== 'hidden',
      opacity: Number(getComputedStyle(num).opacity),
    };
  });
}

const ageSeconds = async (page: Page) => {
  const text = await page.locator(`[data-device="${ID}"] .age`).innerText();
  const m = /^updated (\d+) s ago$/.exec(text);
  if (m === null) throw new Error(`unexpected age text ${JSON.stringify(text)}`);
  return Number(m[1]);
};

describe.skipIf(!peers('chromium', 'socat', 'python3'))('the HMI page marks each point by its quality', () => {
  let browser: Browser;
  let rig: QualityRig;
  let gw: RunningGateway;

  beforeAll(async () => {
    buildPage();
    browser = await launch();
    rig = await startQualityRig();
    gw = await startGateway({ log: { level: 'warn' }, devices: [qualityDevice(rig.path)] });
    await waitFor('every point read once', () => Object.keys(gw.gateway.registry.snapshot(ID)!.quality).length === 3, 5000);
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await rig?.stop();
  });

  test('bad and stale points are dimmed and marked with a word, the age stays that of the last good reading, and all is good again when the controller answers', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1024, height: 600 } });
    try {
      const page = await ctx.newPage();
      const errors = watchErrors(page);
      await page.goto(`${gw.url}/`);
      await page.locator(row('load')).waitFor();

      // A point the controller refuses: no value ever, marked bad from the start.
      await expect.poll(() => shown(page, 'load')).toMatchObject({ value: '–', word: 'bad', quality: 'bad', wordVisible: true });
      const good = await shown(page, 'speed');
      expect(good).toMatchObject({ value: '1200', word: '', quality: 'good', wordVisible: false, opacity: 1 });

      // Let the last change age a little, so a reset to "0 s" would show.
      await expect.poll(() => ageSeconds(page), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);

      // An unreadable speed: the last good value stays, dimmed, with the word "bad" beside it.
      await rig.speed('x');
      await expect.poll(() => shown(page, 'speed')).toMatchObject({ value: '1200', word: 'bad', quality: 'bad', wordVisible: true });
      expect((await shown(page, 'speed')).opacity).toBeLessThan(1);
      expect(await page.locator(`${row('speed')} .q`).getAttribute('title')).toMatch(/^Bad: /);
      // The quality change is not a reading: the age goes on counting from the last good one.
      const atBad = await ageSeconds(page);
      expect(atBad).toBeGreaterThanOrEqual(2);
      await expect.poll(() => ageSeconds(page), { timeout: 5000 }).not.toBe(atBad);
      expect(await ageSeconds(page)).toBeGreaterThan(atBad);
      const rest = (await (await fetch(`${gw.url}/api/v1/devices/${ID}`)).json()) as { last_update: number };
      expect(Math.abs(Date.now() / 1000 - rest.last_update - (await ageSeconds(page)))).toBeLessThanOrEqual(1.5);
      await page.screenshot({ path: outputPath('hmi-quality-bad.png') });

      // The controller goes silent: the card goes offline and every point reads stale (load stays not good).
      await rig.answer(false);
      await expect.poll(() => page.locator(`[data-device="${ID}"]`).getAttribute('data-online')).toBe('false');
      expect(await page.locator(`[data-device="${ID}"]`).getAttribute('data-stale')).toBe('true');
      // Stale is said once for the card (its badge); each value is dimmed without a word of its own.
      expect(await page.locator(`[data-device="${ID}"] .online`).innerText()).toMatch(/^offline$/i);
      await expect.poll(() => shown(page, 'temperature')).toMatchObject({ value: '31.5', word: '', quality: 'stale', wordVisible: false });
      expect((await shown(page, 'temperature')).opacity).toBeLessThan(1);
      expect(await shown(page, 'speed')).toMatchObject({ value: '1200', word: '', quality: 'stale' });
      expect(['bad', '']).toContain((await shown(page, 'load')).word);
      await page.screenshot({ path: outputPath('hmi-quality-offline.png') });

      // Answering again with a number: every point it reads is good again, the refused one stays bad.
      await rig.answer(true);
      await rig.speed(1300);
      await expect.poll(() => shown(page, 'speed'), { timeout: 10_000 }).toMatchObject({ value: '1300', word: '', quality: 'good' });
      await expect.poll(() => shown(page, 'temperature')).toMatchObject({ word: '', quality: 'good', opacity: 1 });
      await expect.poll(() => shown(page, 'load')).toMatchObject({ word: 'bad', quality: 'bad' });
      expect(await page.locator(`[data-device="${ID}"]`).getAttribute('data-stale')).toBeNull();
      expect(await pointValue(page, ID, 'speed')).toBe('1300');
      expect(errors).toEqual([]);
    } finally {
      await ctx.close();
    }
  });
});
