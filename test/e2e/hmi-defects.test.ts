/**
 * What an operator trips over on the HMI page, in a real browser (Debian's chromium via
 * playwright-core) against a real gateway: the simulator, and a real Modbus TCP slave (pymodbus)
 * holding an XY-MD02 sensor and a 0.01 A current register.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { startPyModbus, waitFor, type PyModbusPeer } from '../peers/modbus.js';
import { buildPage, launch, outputPath, pointValue, watchErrors } from './browser.js';
import { Relay } from './relay.js';

const MOTORS = [
  { id: 'motor_01', name: 'Conveyor drive', driver: 'simulator' as const, model: 'motor' as const, poll_interval_ms: 100 },
  { id: 'sensor_01', name: 'Hall A climate', driver: 'simulator' as const, model: 'sensor' as const, poll_interval_ms: 250 },
];

/** Where the steady points' (setpoint, run command) value, unit, trend and label sit, to the pixel. */
function layout(page: Page, device: string): Promise<Record<string, string>> {
  return page.locator(`[data-device="${device}"]`).evaluate((card) => {
    const out: Record<string, string> = {};
    for (const row of card.querySelectorAll<HTMLElement>('[data-point="speed"], [data-point="running"]')) {
      const box = (sel: string) => {
        const el = row.querySelector(sel);
        if (el === null) return '';
        const r = el.getBoundingClientRect();
        return `${Math.round(r.left)},${Math.round(r.top)},${Math.round(r.width)},${Math.round(r.height)}`;
      };
      out[row.dataset['point']!] = [box('.num'), box('.unit'), box('.trend'), box('.pl')].join(' ');
    }
    return out;
  });
}

describe.skipIf(!peers('chromium', '/usr/bin/python3'))('the HMI page, defects an operator would hit', () => {
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];

  async function gateway(input: Parameters<typeof startGateway>[0] = {}): Promise<RunningGateway> {
    const gw = await startGateway({ log: { level: 'warn' }, ...input });
    cleanups.push(() => gw.stop());
    return gw;
  }

  async function open(url: string, viewport = { width: 1024, height: 600 }, locale?: string): Promise<{ page: Page; errors: string[] }> {
    const ctx = await browser.newContext({ viewport, ...(locale === undefined ? {} : { locale }) });
    contexts.push(ctx);
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await page.goto(url);
    return { page, errors };
  }

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

  test('a scaled Modbus value shows the digits of its resolution (xy-md02 21.8 °C is not 22; 0.01 A has two)', async () => {
    const slave: PyModbusPeer = await startPyModbus('tcp', 0, { units: [1, 2] });
    cleanups.push(() => slave.stop());
    await slave.set(1, 'ir', 1, [218, 455]); // 21.8 °C, 45.5 %RH
    await slave.set(2, 'ir', 10, [150]); // 1.50 A
    const gw = await gateway({
      buses: [{ id: 'plc', kind: 'tcp', host: '127.0.0.1', port: slave.port, timeout_ms: 300, retries: 1, reconnect_max_ms: 500 }],
      devices: [
        { id: 'climate', driver: 'modbus', bus: 'plc', unit: 1, profile: 'xy-md02', poll_interval_ms: 100 },
        { id: 'feeder', driver: 'modbus', bus: 'plc', unit: 2, poll_interval_ms: 100, points: { current: { table: 'input', address: 10, scale: 0.01, unit: 'A' } } },
      ],
    });
    await waitFor('both devices read', () => gw.gateway.registry.snapshot('climate')?.state['temperature'] !== undefined && gw.gateway.registry.snapshot('feeder')?.state['current'] !== undefined);
    const { page, errors } = await open(`${gw.url}/`);
    await page.locator('[data-device="feeder"] [data-point="current"]').waitFor();
    await expect.poll(() => pointValue(page, 'climate', 'temperature')).toBe('21.8');
    expect(await pointValue(page, 'climate', 'humidity')).toBe('45.5');
    await expect.poll(() => pointValue(page, 'feeder', 'current')).toBe('1.50');
    // A whole reading keeps its decimal: the width does not jump as it moves.
    await slave.set(1, 'ir', 1, [220]);
    await expect.poll(() => pointValue(page, 'climate', 'temperature')).toBe('22.0');
    expect(errors).toEqual([]);
  });

  test('a writable point has no tag that looks like a button; its controls name the device and the point', async () => {
    const gw = await gateway({ devices: MOTORS });
    const { page, errors } = await open(`${gw.url}/`);
    const speed = page.locator('[data-device="motor_01"] [data-point="speed"]');
    await speed.waitFor();
    // Nothing on a point row looks like a button unless it is one.
    expect(await page.locator('[data-device="motor_01"] .point .tag').count()).toBe(0);
    const lookAlikes = await page.locator('[data-device="motor_01"] .point').evaluateAll((rows) =>
      rows.flatMap((row) => [...row.querySelectorAll<HTMLElement>('span, div')].filter((el) => el.children.length === 0 && /^set$/i.test(el.textContent ?? '')).map((el) => el.className)),
    );
    expect(lookAlikes).toEqual([]);

    // What a screen reader hears: the action, the device and the point.
    expect(await page.getByRole('button', { name: 'Start Conveyor drive Running', exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Stop Conveyor drive Running', exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Set Conveyor drive Speed', exact: true }).count()).toBe(1);
    expect(await page.getByRole('spinbutton', { name: 'Conveyor drive Speed, new value', exact: true }).count()).toBe(1);
    expect(await page.getByRole('slider', { name: 'Conveyor drive Speed, slider', exact: true }).count()).toBe(1);
    // No control is named by its point alone ("Speedset") or by a bare verb.
    const names = await page.locator('[data-device="motor_01"] button, [data-device="motor_01"] input, [data-device="motor_01"] select').evaluateAll((els) =>
      els.map((el) => el.getAttribute('aria-label') ?? el.textContent ?? ''),
    );
    for (const n of names) expect(n).toContain('Conveyor drive');
    expect(errors).toEqual([]);
  });

  test("an error message keeps the device id as it is spelled", async () => {
    const gw = await gateway({ devices: MOTORS });
    const { page } = await open(`${gw.url}/`);
    const speed = page.locator('[data-device="motor_01"] [data-point="speed"]');
    await speed.waitFor();
    await speed.locator('input[type="number"]').fill('99999');
    await speed.locator('button.set').click();
    await expect.poll(() => speed.locator('.wstatus[data-state="error"]').textContent()).toMatch(/^motor_01\.speed: /);
  });

  test('a lost link marks each card stale once, dims every value (ON too) and moves nothing', async () => {
    const gw = await gateway({ devices: MOTORS });
    const relay = new Relay(gw.port);
    cleanups.push(() => relay.stop());
    await relay.start();
    const { page } = await open(`http://127.0.0.1:${relay.port}/`);
    await expect.poll(() => page.locator('header.top').getAttribute('data-link')).toBe('connected');
    // A steady setpoint and a stopped motor: values that do not move, so a layout change is the page's.
    expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1200, running: true })).status).toBe(200);
    await expect.poll(() => pointValue(page, 'motor_01', 'running')).toBe('ON');
    await expect.poll(() => pointValue(page, 'motor_01', 'speed')).toBe('1200');
    const onColor = () => page.locator('[data-device="motor_01"] [data-point="running"] .num').evaluate((el) => getComputedStyle(el).color);
    const live = await onColor();
    const before = await layout(page, 'motor_01');

    // The gateway goes away and the page cannot reach it.
    await gw.stop();
    cleanups.splice(0, 1);
    relay.cut();
    await expect.poll(() => page.locator('header.top').getAttribute('data-link')).toBe('reconnecting');
    await expect.poll(() => page.locator('[data-device="motor_01"]').getAttribute('data-stale')).toBe('true');
    await page.screenshot({ path: outputPath('hmi-link-lost.png') });

    // One badge for the card, no word on each value.
    expect(await page.locator('[data-device="motor_01"] .online').innerText()).toMatch(/^stale$/i);
    const words = await page.locator('[data-device="motor_01"] .point .q').evaluateAll((els) => els.map((e) => e.textContent ?? '').filter((t) => t !== ''));
    expect(words).toEqual([]);
    expect(await page.locator('[data-device="motor_01"] [data-point="speed"]').getAttribute('data-quality')).toBe('stale');
    // Every value dimmed, and ON no longer in its live green.
    expect(await onColor()).not.toBe(live);
    // Nothing moved, nothing wrapped.
    expect(await layout(page, 'motor_01')).toEqual(before);
  });

  test('on a phone the header is one line and a motor card leaves room for the next', async () => {
    const gw = await gateway({ devices: MOTORS });
    const { page } = await open(`${gw.url}/`, { width: 390, height: 844 });
    await page.locator('[data-device="sensor_01"]').waitFor();
    await expect.poll(() => page.locator('header.top').getAttribute('data-link')).toBe('connected');
    // The alarm banner is a row of its own by design (a flood must not push it off); all else is one line.
    const header = await page.locator('header.top').boundingBox();
    const filter = await page.locator('#filter').boundingBox();
    const banner = (await page.locator('#alarm-banner').boundingBox())?.height ?? 0;
    expect(header!.height).toBeLessThan(filter!.height + banner + 30);
    // ...and the filter keeps room to type in.
    expect(filter!.width).toBeGreaterThan(150);
    const tops = await page.locator('header.top > :not(.alarm-banner)').evaluateAll((els) =>
      els.filter((e) => (e as HTMLElement).offsetWidth > 0).map((e) => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2)),
    );
    expect(Math.max(...tops) - Math.min(...tops)).toBeLessThanOrEqual(4);
    const card = await page.locator('[data-device="motor_01"]').boundingBox();
    expect(card!.height).toBeLessThan(844 * 0.6);
    await page.screenshot({ path: outputPath('hmi-phone.png') });
  });

  test('times of day follow the gateway config (24-hour by default), not the browser locale', async () => {
    /** The time the page shows after the gateway drops its WebSocket and the page resyncs. */
    async function resyncedAt(gw: RunningGateway): Promise<string> {
      const { page } = await open(`${gw.url}/`, undefined, 'en-US');
      await expect.poll(() => page.locator('header.top').getAttribute('data-link')).toBe('connected');
      for (const ws of [...(gw.gateway.server as unknown as { sockets: Set<{ close(): void }> }).sockets]) ws.close();
      await expect.poll(() => page.locator('header.top').getAttribute('data-link')).toBe('resynced');
      return page.locator('#link .link-detail').innerText();
    }
    // en-US reads 12-hour by itself; the plant's default is 24-hour.
    const plain = await resyncedAt(await gateway({ devices: MOTORS }));
    expect(plain).toMatch(/^at \d{2}:\d{2}:\d{2}$/);
    const twelve = await resyncedAt(await gateway({ server: { hmi_time_format: '12h' }, devices: MOTORS }));
    expect(twelve).toMatch(/^at \d{1,2}:\d{2}:\d{2}\s?[AP]M$/);
  });
});
