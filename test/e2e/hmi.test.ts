/**
 * The built-in HMI page in a real browser (Debian's chromium via playwright-core) against a
 * real gateway on the simulator.
 */
import { copyFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { getJson, postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { hashToken, newToken } from '../../src/server/auth.js';
import { buildPage, launch, outputPath, pageOwnErrors, pointValue, watchErrors } from './browser.js';
import { Relay } from './relay.js';

const num = (device: string, point: string) => `[data-device="${device}"] [data-point="${point}"] .num`;

/** Records every change of an element's text and attributes inside the page, from now on. */
async function record(page: Page, name: string, selector: string): Promise<void> {
  await page.evaluate(
    ([name, selector]) => {
      const el = document.querySelector(selector!) as HTMLElement | null;
      if (el === null) throw new Error(`no element ${selector}`);
      const w = window as unknown as { __rec: Record<string, string[]> };
      w.__rec ??= {};
      const log: string[] = (w.__rec[name!] = []);
      const snap = () => `${el.dataset['state'] ?? el.dataset['link'] ?? ''}|${el.textContent ?? ''}`;
      new MutationObserver(() => {
        const s = snap();
        if (log[log.length - 1] !== s) log.push(s);
      }).observe(el, { attributes: true, childList: true, characterData: true, subtree: true });
    },
    [name, selector],
  );
}

function recorded(page: Page, name: string): Promise<string[]> {
  return page.evaluate((name) => (window as unknown as { __rec: Record<string, string[]> }).__rec[name] ?? [], name);
}

describe.skipIf(!peers('chromium'))('the HMI page', () => {
  let browser: Browser;
  const gateways: RunningGateway[] = [];
  const contexts: BrowserContext[] = [];
  const relays: Relay[] = [];

  async function gateway(input: Parameters<typeof startGateway>[0] = {}): Promise<RunningGateway> {
    const gw = await startGateway({ log: { level: 'warn' }, ...input });
    gateways.push(gw);
    return gw;
  }

  async function open(gw: RunningGateway, viewport = { width: 1024, height: 600 }, url = `${gw.url}/`, bypassCSP = false): Promise<{ page: Page; errors: string[] }> {
    const ctx = await browser.newContext({ viewport, bypassCSP });
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
    for (const r of relays.splice(0)) await r.stop();
    for (const g of gateways.splice(0)) await g.stop().catch(() => undefined);
  });

  afterAll(async () => {
    await browser?.close();
  });

  test('shows every device as a card with live values that change, trends, and fits a panel and a phone', async () => {
    const gw = await gateway({
      devices: [
        { id: 'motor_01', name: 'Conveyor drive', driver: 'simulator', model: 'motor', poll_interval_ms: 100 },
        { id: 'motor_02', name: 'Mixer drive', driver: 'simulator', model: 'motor', poll_interval_ms: 100 },
        { id: 'sensor_01', name: 'Hall A climate', driver: 'simulator', model: 'sensor', poll_interval_ms: 250 },
        { id: 'sensor_02', name: 'Cabinet climate', driver: 'simulator', model: 'sensor', poll_interval_ms: 250 },
      ],
    });
    const { page, errors } = await open(gw);
    await page.locator('[data-device]').nth(3).waitFor();
    expect(await page.locator('[data-device]').count()).toBe(4);
    await expect.poll(() => page.locator('header.top').getAttribute('data-link')).toBe('connected');

    const motor = page.locator('[data-device="motor_01"]');
    expect(await motor.locator('h2').innerText()).toBe('Conveyor drive');
    expect(await motor.locator('.type').innerText()).toMatch(/motor/i);
    expect(await motor.locator('.online').innerText()).toMatch(/online/i);
    expect(await motor.locator('[data-point="actual_speed"] .unit').innerText()).toBe('rpm');
    expect(await motor.locator('[data-point="temperature"] .unit').innerText()).toBe('°C');

    // The setpoint does not move by itself: it must equal what the REST API says.
    const rest = await getJson(`${gw.url}/api/v1/devices/motor_01`);
    expect(await pointValue(page, 'motor_01', 'speed')).toBe(String(rest.json.state.speed));

    // Values change live: the motor current ripples, the sensor drifts.
    const before = await pointValue(page, 'motor_01', 'current');
    await page.waitForFunction(([sel, v]) => document.querySelector(sel!)?.textContent !== v, [num('motor_01', 'current'), before]);
    const sensorBefore = await pointValue(page, 'sensor_01', 'humidity');
    await page.waitForFunction(([sel, v]) => document.querySelector(sel!)?.textContent !== v, [num('sensor_01', 'humidity'), sensorBefore]);
    await expect.poll(() => motor.locator('.age').innerText()).toMatch(/updated \d+ s ago/);

    // Trends draw from the history endpoint and then from live values: several steps.
    await page.waitForFunction(
      (sel) => ((document.querySelector(sel) as SVGPathElement | null)?.getAttribute('d') ?? '').split('V').length > 4,
      '[data-device="motor_01"] [data-point="current"] .trend path',
    );
    // Booleans read as words, not as true/false.
    expect(await pointValue(page, 'motor_01', 'running')).toBe('ON');

    // Filter by name or type.
    await page.fill('#filter', 'sensor');
    await expect.poll(() => page.locator('[data-device]:visible').count()).toBe(2);
    await page.fill('#filter', '');
    await page.selectOption('#filter-type', 'motor');
    await expect.poll(() => page.locator('[data-device]:visible').count()).toBe(2);
    expect(await page.locator('[data-device="sensor_01"]').isVisible()).toBe(false);
    await page.selectOption('#filter-type', '');

    // Large numerals: at least 32 px on the panel.
    const size = await page.locator(num('motor_01', 'current')).evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    expect(size).toBeGreaterThanOrEqual(32);
    // On a 1024x600 panel the page does not scroll sideways and shows three columns.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1024);
    const lefts = await page.locator('[data-device]').evaluateAll((els) => new Set(els.map((e) => Math.round(e.getBoundingClientRect().left))).size);
    expect(lefts).toBe(3);
    await page.locator('#filter').blur();
    await page.screenshot({ path: outputPath('hmi-panel-1024x600.png') });

    // A phone: one column, nothing wider than the screen.
    const phone = await open(gw, { width: 390, height: 844 });
    await phone.page.locator('[data-device]').nth(3).waitFor();
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const phoneLefts = await phone.page.locator('[data-device]').evaluateAll((els) => new Set(els.map((e) => Math.round(e.getBoundingClientRect().left))).size);
    expect(phoneLefts).toBe(1);
    await phone.page.waitForFunction(
      (sel) => ((document.querySelector(sel) as SVGPathElement | null)?.getAttribute('d') ?? '').length > 0,
      '[data-device="motor_01"] [data-point="current"] .trend path',
    );
    await phone.page.screenshot({ path: outputPath('hmi-phone.png') });
    expect(errors).toEqual([]);
    expect(phone.errors).toEqual([]);
  });

  test('a setpoint written in one browser shows pending, then the confirmed value, and a second browser sees it without reload', async () => {
    const gw = await gateway();
    const a = await open(gw);
    const b = await open(gw);
    for (const p of [a.page, b.page]) await p.locator(num('motor_01', 'speed')).waitFor();
    await b.page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    const start = await pointValue(a.page, 'motor_01', 'speed');
    expect(start).not.toBe('1750');

    const speed = a.page.locator('[data-device="motor_01"] [data-point="speed"]');
    await record(a.page, 'status', '[data-device="motor_01"] [data-point="speed"] .wstatus');
    await record(a.page, 'value', num('motor_01', 'speed'));
    await speed.locator('input[type="number"]').fill('1750');
    await speed.locator('button.set').click();
    await expect.poll(() => speed.locator('.wstatus').getAttribute('data-state')).toBe('confirmed');
    expect(await speed.locator('.wstatus').innerText()).toBe('Confirmed 1750 rpm');
    const statuses = await recorded(a.page, 'status');
    expect(statuses[0]).toBe('pending|Sending 1750 rpm…');
    expect(statuses).toContain('confirmed|Confirmed 1750 rpm');
    // The value on the card changes once, to the device's read-back: no optimistic flicker.
    await expect.poll(() => pointValue(a.page, 'motor_01', 'speed')).toBe('1750');
    expect((await recorded(a.page, 'value')).map((s) => s.split('|')[1])).toEqual(['1750']);

    // The other browser gets it live, without a reload.
    await b.page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '1750', num('motor_01', 'speed'));
    expect(await b.page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect((await getJson(`${gw.url}/api/v1/devices/motor_01`)).json.state.speed).toBe(1750);

    // Out of range: the gateway's message is shown, and the value stays.
    await speed.locator('input[type="number"]').fill('5000');
    await speed.locator('button.set').click();
    await expect.poll(() => speed.locator('.wstatus').getAttribute('data-state')).toBe('error');
    expect(await speed.locator('.wstatus').innerText()).toMatch(/5000 is above the maximum 3000 rpm/);
    expect(await pointValue(a.page, 'motor_01', 'speed')).toBe('1750');

    // Start/stop buttons for a boolean.
    const running = a.page.locator('[data-device="motor_01"] [data-point="running"]');
    await running.locator('button.off').click();
    // Stop asks first (test/e2e/hmi-device-page.test.ts has the whole dialog).
    await a.page.locator('dialog[open] [data-confirm="ok"]').click();
    await expect.poll(() => running.locator('.wstatus').innerText()).toBe('Confirmed OFF');
    await b.page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'OFF', num('motor_01', 'running'));
    expect(await running.locator('button.off').getAttribute('aria-pressed')).toBe('true');
    // The refused write is the only failed request (the browser logs it).
    expect(a.errors).toEqual(['console: Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)']);
    expect(b.errors).toEqual([]);
  }, 60_000);

  test('when the WebSocket drops, the network fails or the gateway restarts, the page shows reconnecting, then recovers with correct values', async () => {
    const gw = await gateway();
    const relay = new Relay(gw.port);
    relays.push(relay);
    await relay.start();
    const { page, errors } = await open(gw, undefined, `http://127.0.0.1:${relay.port}/`);
    await expect.poll(() => page.locator('header.top').getAttribute('data-link')).toBe('connected');
    await record(page, 'link', 'header.top');
    const linkStates = async () => (await recorded(page, 'link')).map((s) => s.split('|')[0]);

    // 1. The gateway closes every WebSocket; a setpoint changes while the page is away.
    for (const ws of [...(gw.gateway.server as unknown as { sockets: Set<{ close(): void }> }).sockets]) ws.close();
    expect((await postJson(`${gw.url}/api/v1/devices/motor_02`, { speed: 900 })).status).toBe(200);
    await expect.poll(() => page.locator('header.top').getAttribute('data-link')).toBe('resynced');
    await expect.poll(() => pointValue(page, 'motor_02', 'speed')).toBe('900');
    let link = await linkStates();
    expect(link.indexOf('reconnecting')).toBeGreaterThanOrEqual(0);
    expect(link.indexOf('resynced')).toBeGreaterThan(link.indexOf('reconnecting'));

    // 2. The network drops every connection without a word.
    await record(page, 'link', 'header.top');
    relay.cut();
    expect((await postJson(`${gw.url}/api/v1/devices/motor_02`, { speed: 950 })).status).toBe(200);
    await expect.poll(async () => (await linkStates()).includes('reconnecting')).toBe(true);
    await expect.poll(() => page.locator('header.top').getAttribute('data-link')).toBe('resynced');
    await expect.poll(() => pointValue(page, 'motor_02', 'speed')).toBe('950');

    // 3. The gateway restarts: a new instance, with the setpoint back at its start value.
    await gw.stop();
    gateways.splice(gateways.indexOf(gw), 1);
    await expect.poll(() => page.locator('header.top').getAttribute('data-link')).toBe('reconnecting');
    // While away, the values are marked stale rather than shown as live.
    await expect.poll(() => page.locator('[data-device="motor_02"]').getAttribute('data-stale')).toBe('true');
    // ...each point dimmed too, the word said once for the card (its badge), not on every value.
    expect(await page.locator('[data-device="motor_02"] [data-point="speed"]').getAttribute('data-quality')).toBe('stale');
    expect(await page.locator('[data-device="motor_02"] .online').textContent()).toBe('stale');
    expect(await page.locator('[data-device="motor_02"] [data-point="speed"] .q').textContent()).toBe('');
    // ...and no write is offered that could only fail.
    expect(await page.locator('[data-device="motor_02"] [data-point="speed"] button.set').isDisabled()).toBe(true);
    await page.screenshot({ path: outputPath('hmi-reconnecting.png') });
    const again = await gateway();
    relay.target = again.port;
    await expect.poll(() => page.locator('header.top').getAttribute('data-link'), { timeout: 15_000 }).toBe('resynced');
    const fresh = (await getJson(`${again.url}/api/v1/devices/motor_02`)).json.state.speed;
    expect(fresh).not.toBe(950);
    await expect.poll(() => pointValue(page, 'motor_02', 'speed')).toBe(String(fresh));
    expect(await page.locator('[data-device="motor_02"]').getAttribute('data-stale')).toBeNull();
    expect(await page.locator('[data-device="motor_02"] [data-point="speed"]').getAttribute('data-quality')).toBe('good');
    expect(await page.locator('[data-device="motor_02"] [data-point="speed"] button.set').isEnabled()).toBe(true);
    // And it is live again.
    const v = await pointValue(page, 'motor_01', 'temperature');
    await page.waitForFunction(([sel, old]) => document.querySelector(sel!)?.textContent !== old, [num('motor_01', 'temperature'), v]);
    // Failed fetches while the gateway was down are expected; nothing else may go wrong.
    expect(pageOwnErrors(errors)).toEqual([]);
  });

  test('a panel whose clock is an hour off still shows true ages and trends (it follows the gateway clock)', async () => {
    const gw = await gateway();
    const ctx = await browser.newContext({ viewport: { width: 1024, height: 600 } });
    contexts.push(ctx);
    await ctx.addInitScript(() => {
      const real = Date.now.bind(Date);
      Date.now = () => real() + 3_600_000;
    });
    const page = await ctx.newPage();
    await page.goto(`${gw.url}/`);
    await page.locator(num('motor_01', 'current')).waitFor();
    expect(await page.evaluate(() => Date.now() - performance.timeOrigin)).toBeGreaterThan(3_500_000);
    await expect.poll(() => page.locator('[data-device="motor_01"] .age').innerText()).toMatch(/^updated \d s ago$/);
    await page.waitForFunction(
      (sel) => ((document.querySelector(sel) as SVGPathElement | null)?.getAttribute('d') ?? '').split('V').length > 2,
      '[data-device="motor_01"] [data-point="current"] .trend path',
    );
  });

  test('enum and text points get a selector and a field that show the confirmation or the refusal', async () => {
    // The simulator has no enum or text points: mount the page's own control module in the
    // real browser with a write function that answers like the gateway would.
    const gw = await gateway();
    // The page's CSP forbids inline scripts (which is right); this harness is one.
    const { page, errors } = await open(gw, undefined, undefined, true);
    await page.locator('[data-device]').first().waitFor();
    // A module script of its own (the test runner rewrites dynamic imports inside evaluate()).
    const base = (await page.locator('script[type="module"]').getAttribute('src'))!.replace(/main\.js$/, '');
    await page.addScriptTag({
      type: 'module',
      content: `
        import { PointControl } from '${base}controls.js';
        window.__sent = [];
        const write = async (v) => {
          window.__sent.push(v);
          if (v === 'setup') throw new Error('press_01.mode: setup needs the key switch');
          return v;
        };
        const mode = new PointControl('press_01', 'Press 1', 'mode', { type: 'enum', access: 'rw', enum: ['manual', 'auto', 'setup'] }, write);
        const recipe = new PointControl('press_01', 'Press 1', 'recipe', { type: 'string', access: 'rw' }, write);
        mode.el.id = 'mode';
        recipe.el.id = 'recipe';
        const box = document.createElement('div');
        box.append(mode.el, recipe.el);
        document.body.prepend(box);
        mode.update('manual');
        recipe.update('A-17');
      `,
    });
    await page.locator('#recipe').waitFor();
    expect(await page.locator('#mode select').inputValue()).toBe('manual');
    expect(await page.locator('#mode option').allInnerTexts()).toEqual(['manual', 'auto', 'setup']);
    await page.selectOption('#mode select', 'auto');
    await page.click('#mode button.set');
    await expect.poll(() => page.locator('#mode .wstatus').innerText()).toBe('Confirmed auto');
    await page.selectOption('#mode select', 'setup');
    await page.click('#mode button.set');
    await expect.poll(() => page.locator('#mode .wstatus').innerText()).toBe('press_01.mode: setup needs the key switch');
    expect(await page.locator('#mode .wstatus').getAttribute('data-state')).toBe('error');
    expect(await page.locator('#recipe input').inputValue()).toBe('A-17');
    await page.fill('#recipe input', 'B-2');
    await page.click('#recipe button.set');
    await expect.poll(() => page.locator('#recipe .wstatus').innerText()).toBe('Confirmed B-2');
    expect(await page.evaluate(() => (window as unknown as { __sent: unknown[] }).__sent)).toEqual(['auto', 'setup', 'B-2']);
    expect(errors).toEqual([]);
  });

  test('with tokens: the page asks for one; a viewer sees no controls, an operator does and can write', async () => {
    const viewer = newToken();
    const operator = newToken();
    const gw = await gateway({
      auth: {
        tokens: [
          { name: 'hall_panel', role: 'viewer', hash: hashToken(viewer) },
          { name: 'shift_lead', role: 'operator', hash: hashToken(operator) },
        ],
      },
    } as never);

    const v = await open(gw);
    await v.page.locator('#login').waitFor();
    expect(await v.page.locator('#login .why').innerText()).toMatch(/needs an access token/);
    await v.page.screenshot({ path: outputPath('hmi-token.png') });
    // A wrong token is refused with the gateway's reason, and the form asks again.
    await v.page.fill('#token', 'mgw_wrong');
    await v.page.click('#login button[type="submit"]');
    await expect.poll(() => v.page.locator('#login .why').innerText()).toMatch(/refused/);
    await v.page.fill('#token', viewer);
    await v.page.click('#login button[type="submit"]');
    await v.page.locator(num('motor_01', 'speed')).waitFor();
    expect(await v.page.locator('#role').innerText()).toMatch(/hall_panel · viewer/);
    expect(await v.page.locator('.ctl').count()).toBe(0);
    await v.page.screenshot({ path: outputPath('hmi-viewer.png') });
    // The token lasts for the tab: a reload does not ask again.
    await v.page.reload();
    await v.page.locator(num('motor_01', 'speed')).waitFor();
    expect(await v.page.locator('#login').count()).toBe(0);

    const o = await open(gw);
    await o.page.locator('#login').waitFor();
    await o.page.fill('#token', operator);
    await o.page.click('#login button[type="submit"]');
    await o.page.locator('[data-device="motor_01"] [data-point="speed"] .ctl').waitFor();
    expect(await o.page.locator('#role').innerText()).toMatch(/shift_lead · operator/);
    // Controls only for writable points: two motors with speed and running each.
    expect(await o.page.locator('.ctl').count()).toBe(4);
    const speed = o.page.locator('[data-device="motor_02"] [data-point="speed"]');
    await speed.locator('input[type="number"]').fill('600');
    await speed.locator('button.set').click();
    await expect.poll(() => speed.locator('.wstatus').innerText()).toBe('Confirmed 600 rpm');
    // The viewer's page follows live.
    await v.page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '600', num('motor_02', 'speed'));
  });
});

/** Refreshes the README screenshot from the last panel run when asked (UPDATE_SCREENSHOT=1). */
afterAll(() => {
  if (process.env['UPDATE_SCREENSHOT'] === '1') copyFileSync(outputPath('hmi-panel-1024x600.png'), 'test/e2e/hmi-screenshot.png');
});
