/**
 * Panels in sunlight and kiosks, in a real browser (Debian's chromium via playwright-core)
 * against a real gateway: the light and automatic themes, the kiosk parameter (no filter, wake
 * lock, reload after the gateway comes back as a new instance), the web app manifest and icons.
 */
import { copyFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { browserSuite, outputPath, watchErrors } from './browser.js';
import { Relay } from './relay.js';

const MOTORS = [
  { id: 'motor_01', name: 'Conveyor drive', driver: 'simulator' as const, model: 'motor' as const, poll_interval_ms: 100 },
  { id: 'motor_02', name: 'Mixer drive', driver: 'simulator' as const, model: 'motor' as const, poll_interval_ms: 100 },
  { id: 'sensor_01', name: 'Hall A climate', driver: 'simulator' as const, model: 'sensor' as const, poll_interval_ms: 250 },
];

const DARK_BG = 'rgb(5, 8, 11)';
const LIGHT_BG = 'rgb(233, 237, 241)';
const pageBg = (page: Page) => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
const style = (page: Page, sel: string, prop: 'backgroundColor' | 'color') => page.locator(sel).first().evaluate((el, p) => getComputedStyle(el)[p], prop);

/** WCAG contrast ratio of two rgb() colours. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/\d+/g) ?? []).slice(0, 3).map((x) => {
      const s = Number(x) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

describe.skipIf(!peers('chromium'))('panels in sunlight and kiosks', () => {
  const { gateway, context, open, cleanup } = browserSuite({ devices: MOTORS });

  test('a light theme, chosen in the header and kept by the browser; dark stays the default', async () => {
    const gw = await gateway();
    // The browser prefers light, but the plant's default is the dark theme.
    const { page, errors, ctx } = await open(`${gw.url}/`, { colorScheme: 'light' });
    await page.locator('[data-device="motor_01"] [data-point="speed"] .ctl').waitFor();
    expect(await pageBg(page)).toBe(DARK_BG);
    expect(await page.getByRole('combobox', { name: 'Colour theme' }).inputValue()).toBe('dark');

    await page.getByRole('combobox', { name: 'Colour theme' }).selectOption('light');
    await expect.poll(() => pageBg(page)).toBe(LIGHT_BG);
    expect(await style(page, '.card', 'backgroundColor')).toBe('rgb(255, 255, 255)');
    // Readable in sunlight: values and labels far above WCAG AAA (7:1) on the white card.
    expect(contrast(await style(page, '.card .num', 'color'), 'rgb(255, 255, 255)')).toBeGreaterThan(7);
    expect(contrast(await style(page, '.card .pl', 'color'), 'rgb(255, 255, 255)')).toBeGreaterThan(7);
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).colorScheme)).toBe('light');
    await page.waitForFunction(() => ((document.querySelector('[data-device="motor_01"] [data-point="current"] .trend path') as SVGPathElement | null)?.getAttribute('d') ?? '').length > 0);
    await page.screenshot({ path: outputPath('hmi-light-1024x600.png') });
    copyFileSync(outputPath('hmi-light-1024x600.png'), 'test/e2e/hmi-light.png');

    // Kept for this browser: a reload, and another tab, open in light.
    await page.reload();
    await page.locator('[data-device="motor_01"]').waitFor();
    expect(await pageBg(page)).toBe(LIGHT_BG);
    const other = await ctx.newPage();
    await other.goto(`${gw.url}/#/devices/motor_01`);
    await other.locator('[data-device-page="motor_01"] tr[data-point="speed"]').waitFor();
    expect(await pageBg(other)).toBe(LIGHT_BG);
    // The chart draws its grid and labels in the theme's colours.
    await other.waitForFunction(() => Number(document.querySelector('[data-detail="motor_01"] .chart')?.getAttribute('data-rows')) > 0);
    const labelInk = await other.evaluate(() => {
      const c = document.querySelector('[data-detail="motor_01"] canvas') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let dark = 0;
      let oldGrey = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i]! < 90 && d[i + 1]! < 100 && d[i + 2]! < 110 && d[i + 3]! > 200) dark++;
        if (Math.abs(d[i]! - 0xb3) < 4 && Math.abs(d[i + 1]! - 0xbf) < 4 && Math.abs(d[i + 2]! - 0xcb) < 4) oldGrey++;
      }
      return { dark, oldGrey };
    });
    expect(labelInk.dark).toBeGreaterThan(50);
    expect(labelInk.oldGrey).toBe(0);
    await other.screenshot({ path: outputPath('hmi-device-page-light.png') });
    // ...and back to dark.
    await page.getByRole('combobox', { name: 'Colour theme' }).selectOption('dark');
    await expect.poll(() => pageBg(page)).toBe(DARK_BG);
    expect(errors).toEqual([]);
  });

  test('auto follows the device setting (prefers-color-scheme), live; ?theme= sets it without a menu', async () => {
    const gw = await gateway();
    const { page } = await open(`${gw.url}/`, { colorScheme: 'dark' });
    await page.locator('[data-device="motor_01"]').waitFor();
    await page.getByRole('combobox', { name: 'Colour theme' }).selectOption('auto');
    expect(await pageBg(page)).toBe(DARK_BG);
    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(() => pageBg(page)).toBe(LIGHT_BG);
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => pageBg(page)).toBe(DARK_BG);

    const sunny = await open(`${gw.url}/?theme=auto`, { colorScheme: 'light' });
    await sunny.page.locator('[data-device="motor_01"]').waitFor();
    expect(await pageBg(sunny.page)).toBe(LIGHT_BG);
    expect(await sunny.page.evaluate(() => document.documentElement.dataset['theme'])).toBe('auto');
  });

  test('kiosk: no filter, no settings, the screen kept awake, and a reload when the gateway comes back as a new instance', async () => {
    const gw = await gateway();
    const relay = new Relay(gw.port);
    cleanup(() => relay.stop());
    await relay.start();
    // The real Screen Wake Lock, watched: each sentinel the page gets is kept for the test.
    const kioskCtx = await context();
    await kioskCtx.addInitScript(() => {
      const wl = navigator.wakeLock;
      if (wl === undefined) return;
      const w = window as unknown as { __locks: WakeLockSentinel[] };
      w.__locks = [];
      const request = wl.request.bind(wl);
      wl.request = async (type?: 'screen') => {
        const s = await request(type);
        w.__locks.push(s);
        return s;
      };
    });
    const kioskPage = await kioskCtx.newPage();
    const kiosk = { page: kioskPage, errors: watchErrors(kioskPage) };
    await kioskPage.goto(`http://127.0.0.1:${relay.port}/?kiosk=1`);
    const normal = await open(`http://127.0.0.1:${relay.port}/`);
    for (const p of [kiosk.page, normal.page]) await expect.poll(() => p.locator('header.top').getAttribute('data-link')).toBe('connected');

    // The filter box, the theme switch and sign-out are gone; the values are not.
    expect(await kiosk.page.evaluate(() => document.body.classList.contains('kiosk'))).toBe(true);
    expect(await kiosk.page.locator('#filter').isVisible()).toBe(false);
    expect(await kiosk.page.locator('#filter-type').isVisible()).toBe(false);
    expect(await kiosk.page.locator('#theme').isVisible()).toBe(false);
    expect(await kiosk.page.locator('[data-device="motor_01"] [data-point="speed"] .num').isVisible()).toBe(true);
    expect(await normal.page.locator('#filter').isVisible()).toBe(true);
    expect(await normal.page.locator('#theme').isVisible()).toBe(true);
    // The wake lock: chromium grants it to a page from the loopback address (a secure context).
    await expect.poll(() => kiosk.page.evaluate(() => document.body.dataset['wakeLock'] ?? '')).toBe('held');
    expect(await normal.page.evaluate(() => document.body.dataset['wakeLock'])).toBeUndefined();
    await kiosk.page.screenshot({ path: outputPath('hmi-kiosk-1024x600.png') });
    // Hidden, the browser releases the lock; visible again, the page takes a new one.
    await kiosk.page.evaluate(() => (window as unknown as { __locks: WakeLockSentinel[] }).__locks[0]!.release());
    await expect.poll(() => kiosk.page.evaluate(() => document.body.dataset['wakeLock'])).toBe('released');
    await kiosk.page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    await expect.poll(() => kiosk.page.evaluate(() => document.body.dataset['wakeLock'])).toBe('held');
    expect(await kiosk.page.evaluate(() => (window as unknown as { __locks: WakeLockSentinel[] }).__locks.map((l) => l.released))).toEqual([true, false]);

    // A marker that lives as long as the document: a reload drops it.
    for (const p of [kiosk.page, normal.page]) await p.evaluate(() => ((window as unknown as { __doc: number }).__doc = 1));
    // A plain reconnect to the same gateway is no reason to reload.
    for (const ws of [...(gw.gateway.server as unknown as { sockets: Set<{ close(): void }> }).sockets]) ws.close();
    await expect.poll(() => kiosk.page.locator('header.top').getAttribute('data-link')).toBe('resynced');
    expect(await kiosk.page.evaluate(() => (window as unknown as { __doc?: number }).__doc)).toBe(1);

    // The gateway is restarted (an upgrade): a new process behind the same address.
    const reloaded = kiosk.page.waitForEvent('load', { timeout: 30_000 });
    await gw.stop();
    const again = await gateway();
    relay.target = again.port;
    await reloaded;
    await expect.poll(() => kiosk.page.locator('header.top').getAttribute('data-link'), { timeout: 15_000 }).toBe('connected');
    expect(await kiosk.page.evaluate(() => (window as unknown as { __doc?: number }).__doc)).toBeUndefined();
    // Still a kiosk, awake again.
    expect(await kiosk.page.evaluate(() => document.body.classList.contains('kiosk'))).toBe(true);
    await expect.poll(() => kiosk.page.evaluate(() => document.body.dataset['wakeLock'])).toBe('held');
    // The ordinary page resyncs in place.
    await expect.poll(() => normal.page.locator('header.top').getAttribute('data-link'), { timeout: 15_000 }).toBe('resynced');
    expect(await normal.page.evaluate(() => (window as unknown as { __doc?: number }).__doc)).toBe(1);
  });

  test('installable: a web app manifest with the right type, valid JSON, fullscreen, and 192/512 icons that load and match the SVG', async () => {
    const gw = await gateway();
    const html = await (await fetch(`${gw.url}/`)).text();
    const href = /<link rel="manifest" href="([^"]+)">/.exec(html)?.[1];
    expect(href).toMatch(/^\/hmi\/[0-9a-f]{12}\/manifest\.webmanifest$/);
    const res = await fetch(`${gw.url}${href}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/manifest+json');
    const manifest = JSON.parse(await res.text()) as Record<string, any>;
    expect(manifest).toMatchObject({ name: 'machine-gateway', start_url: '/', scope: '/', display: 'fullscreen' });
    expect(manifest['display_override']).toEqual(['fullscreen', 'standalone']);
    const pngs = (manifest['icons'] as { src: string; sizes: string; type: string }[]).filter((i) => i.type === 'image/png');
    expect(pngs.map((i) => i.sizes)).toEqual(['192x192', '512x512']);
    for (const icon of pngs) {
      const r = await fetch(new URL(icon.src, `${gw.url}${href}`));
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('image/png');
      expect([...new Uint8Array(await r.arrayBuffer()).subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    }

    // In the browser: the page links the manifest, and each icon loads at its size and shows the SVG.
    const { page, errors } = await open(`${gw.url}/`);
    await page.locator('[data-device="motor_01"]').waitFor();
    const linked = await page.evaluate(async () => {
      const link = document.querySelector('link[rel="manifest"]') as HTMLLinkElement;
      const m = (await (await fetch(link.href)).json()) as { icons: { src: string; sizes: string; type: string }[] };
      const load = (src: string) =>
        new Promise<HTMLImageElement>((resolve, reject) => {
          const img = new Image();
          img.onload = () => resolve(img);
          img.onerror = () => reject(new Error(`icon ${src} did not load`));
          img.src = src;
        });
      const svgSrc = new URL(m.icons.find((i) => i.type === 'image/svg+xml')!.src, link.href).href;
      const out: { sizes: string; width: number; height: number; diff: number }[] = [];
      for (const icon of m.icons.filter((i) => i.type === 'image/png')) {
        const png = await load(new URL(icon.src, link.href).href);
        const size = png.naturalWidth;
        const svg = await load(svgSrc);
        const pixels = (img: HTMLImageElement) => {
          const c = document.createElement('canvas');
          c.width = size;
          c.height = size;
          const g = c.getContext('2d')!;
          g.drawImage(img, 0, 0, size, size);
          return g.getImageData(0, 0, size, size).data;
        };
        const a = pixels(png);
        const b = pixels(svg);
        let sum = 0;
        for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
        out.push({ sizes: icon.sizes, width: png.naturalWidth, height: png.naturalHeight, diff: sum / a.length });
      }
      return out;
    });
    expect(linked.map((i) => [i.sizes, i.width, i.height])).toEqual([
      ['192x192', 192, 192],
      ['512x512', 512, 512],
    ]);
    // The committed PNGs are the SVG (npx tsx test/e2e/make-icons.ts after changing it).
    for (const i of linked) expect(i.diff, i.sizes).toBeLessThan(2);
    expect(errors).toEqual([]);
  });
});
