/**
 * The device page and the safer controls, in a real browser (Debian's chromium via
 * playwright-core) against a real gateway: every point with its metadata, a write from the page,
 * the audit rows after it, the confirmation dialog (keyboard only, Escape, Cancel, confirm),
 * `confirm: true` on a real Modbus point (pymodbus), no write sent twice, viewers and unknown ids.
 */
import { copyFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { getJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { startPyModbus, type PyModbusPeer } from '../peers/modbus.js';
import { hashToken, newToken } from '../../src/server/auth.js';
import { browserSuite, outputPath, watchErrors } from './browser.js';

const MOTORS = [
  { id: 'motor_01', name: 'Conveyor drive', driver: 'simulator' as const, model: 'motor' as const, poll_interval_ms: 100 },
  { id: 'sensor_01', name: 'Hall A climate', driver: 'simulator' as const, model: 'sensor' as const, poll_interval_ms: 250 },
];

/** The audit entries of a device, as the gateway has them (anonymous gateway: no token). */
async function audit(gw: RunningGateway, device: string, headers: Record<string, string> = {}): Promise<Record<string, any>[]> {
  const r = await getJson(`${gw.url}/api/v1/devices/${device}/audit?limit=200`, headers);
  expect(r.status).toBe(200);
  return r.json.entries;
}

/** Presses Tab until the focused element has this accessible name (aria-label); keyboard only. */
async function tabTo(page: Page, name: string, max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '')) === name) return;
  }
  throw new Error(`Tab never reached "${name}"`);
}

const focused = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent ?? '');

describe.skipIf(!peers('chromium'))('the device page', () => {
  const suite = browserSuite();
  const gateway = suite.gateway;
  const open = (url: string, viewport = { width: 1024, height: 600 }) => suite.open(url, { viewport });

  test('every point with its metadata, a write from the page, and the audit row it leaves', async () => {
    const gw = await gateway({ devices: MOTORS });
    const { page, errors } = await open(`${gw.url}/#/devices/motor_01`);
    const dp = page.locator('[data-device-page="motor_01"]');
    await dp.locator('tr[data-point="speed"]').waitFor();
    expect(await page.locator('#board').isHidden()).toBe(true);
    expect(await dp.locator('h2').innerText()).toBe('Conveyor drive');
    expect(await dp.locator('.online').innerText()).toMatch(/online/i);
    // Every point of the device, each with its metadata.
    const rest = (await getJson(`${gw.url}/api/v1/devices/motor_01`)).json;
    expect(await dp.locator('tbody tr[data-point]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset['point']))).toEqual(Object.keys(rest.points));
    const cells = (point: string) =>
      dp.locator(`tr[data-point="${point}"]`).evaluate((row) =>
        Object.fromEntries([...row.querySelectorAll<HTMLElement>('[data-label]')].filter((c) => c.dataset['label'] !== 'Control').map((c) => [c.dataset['label'], c.innerText.trim().replace(/\s+/g, ' ')])),
      );
    expect(await cells('speed')).toMatchObject({ Point: 'Speed speed Speed setpoint', Type: 'integer', Range: '0 to 3000 rpm', Resolution: '1', Writable: 'yes', Quality: 'good' });
    expect((await cells('speed'))['Value']).toBe(`${rest.state.speed} rpm`);
    expect(await cells('actual_speed')).toMatchObject({ Type: 'number', Range: '0 to 3000 rpm', Resolution: '0.1', Writable: 'no', Quality: 'good' });
    expect(await cells('running')).toMatchObject({ Type: 'boolean', Range: '–', Writable: 'yes' });
    // A read-only point has no control; writable ones have theirs, named with device and point.
    expect(await dp.locator('tr[data-point="actual_speed"] .ctl').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Set Conveyor drive Speed', exact: true }).count()).toBe(1);
    expect(await page.getByRole('spinbutton', { name: 'Conveyor drive Speed, new value', exact: true }).count()).toBe(1);
    // The trends are on the page: the history chart of the device.
    await page.waitForFunction(() => Number(document.querySelector('[data-detail="motor_01"] .chart')?.getAttribute('data-rows')) > 0);
    // No write yet.
    await expect.poll(() => dp.locator('.dp-audit-status').innerText()).toBe('No writes recorded for this device yet.');

    // A write from the page.
    const speed = dp.locator('tr[data-point="speed"]');
    await speed.locator('input[type="number"]').fill('1750');
    await speed.locator('button.set').click();
    await expect.poll(() => speed.locator('.wstatus').innerText()).toBe('Confirmed 1750 rpm');
    await expect.poll(() => speed.locator('.dp-value').innerText()).toBe('1750 rpm');
    // ...and its audit row: who, what, when, result.
    const row = dp.locator('.dp-audit-table tbody tr').first();
    await expect.poll(() => dp.locator('.dp-audit-table tbody tr').count()).toBe(1);
    expect(await row.locator('.dp-who').innerText()).toBe('anonymous from 127.0.0.1');
    expect(await row.locator('.dp-what').innerText()).toBe(`Speed: ${rest.state.speed} → 1750 rpm`);
    expect(await row.locator('.dp-result').innerText()).toBe('ok');
    const [entry] = await audit(gw, 'motor_01');
    expect(await row.locator('time').getAttribute('datetime')).toBe(entry!['time']);
    expect(await row.locator('time').innerText()).toMatch(/\d{2}:\d{2}:\d{2}/);

    await page.screenshot({ path: outputPath('hmi-device-page-1024x600.png') });
    await page.screenshot({ path: outputPath('hmi-device-page-1024x600-full.png'), fullPage: true });
    copyFileSync(outputPath('hmi-device-page-1024x600.png'), 'test/e2e/hmi-device-page.png');

    // The old address of the history view is the same page.
    await page.goto(`${gw.url}/#/device/sensor_01`);
    await page.locator('[data-device-page="sensor_01"] tr[data-point="humidity"]').waitFor();
    // Back to the board.
    await page.click('.detail-close');
    await page.waitForFunction(() => document.querySelector('[data-device-page]') === null);
    expect(await page.locator('#board').isVisible()).toBe(true);
    // Each card leads to its page.
    await page.getByRole('link', { name: 'Details of Conveyor drive' }).click();
    await page.locator('[data-device-page="motor_01"]').waitFor();
    expect(new URL(page.url()).hash).toBe('#/devices/motor_01');
    expect(errors).toEqual([]);
  });

  test('on a phone the page is one column: every point readable, the control under it', async () => {
    const gw = await gateway({ devices: MOTORS });
    const { page, errors } = await open(`${gw.url}/#/devices/motor_01`, { width: 390, height: 844 });
    await page.locator('[data-device-page="motor_01"] tr[data-point="speed"] .ctl').waitFor();
    await page.waitForFunction(() => Number(document.querySelector('[data-detail="motor_01"] .chart')?.getAttribute('data-rows')) > 0);
    // Nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const rows = await page.locator('[data-device-page] tbody tr[data-point]').evaluateAll((rs) => rs.map((r) => r.getBoundingClientRect().width));
    for (const w of rows) expect(w).toBeLessThanOrEqual(390);
    await page.screenshot({ path: outputPath('hmi-device-page-390x844.png') });
    copyFileSync(outputPath('hmi-device-page-390x844.png'), 'test/e2e/hmi-device-page-phone.png');
    expect(errors).toEqual([]);
  });

  test('an unknown device id says so on the page', async () => {
    const gw = await gateway({ devices: MOTORS });
    const { page } = await open(`${gw.url}/#/devices/motor_99`);
    const alert = page.getByRole('alert').filter({ hasText: 'No such device' });
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/This gateway has no device with the id "motor_99"/);
    expect(await page.locator('#board').isHidden()).toBe(true);
  });

  /** motor_01's page, its `running` row with its control, the motor running. */
  async function runningMotorPage() {
    const gw = await gateway({ devices: MOTORS });
    const { page, errors } = await open(`${gw.url}/#/devices/motor_01`);
    const running = page.locator('[data-device-page="motor_01"] tr[data-point="running"]');
    await running.locator('.ctl').waitFor();
    await expect.poll(() => running.getAttribute('data-value')).toBe('true');
    return { gw, page, errors, running };
  }

  test('Start/Stop asks first, keyboard only: Escape cancels, Tab and Enter confirm; a setpoint by keyboard', async () => {
    const { gw, page, errors, running } = await runningMotorPage();
    await page.locator('body').focus();

    // Stop, by keyboard: a dialog, focus on Cancel, named for what it asks.
    await tabTo(page, 'Stop Conveyor drive Running');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Stop Conveyor drive?' });
    await dialog.waitFor();
    expect(await dialog.locator('#confirm-detail').innerText()).toBe('Running: ON → OFF (motor_01.running)');
    expect(await focused(page)).toBe('Cancel');
    // Escape cancels: nothing is sent, and focus is back on Stop.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => running.locator('.wstatus').innerText()).toBe('Not sent (cancelled).');
    expect(await focused(page)).toBe('Stop Conveyor drive Running');
    expect(await audit(gw, 'motor_01')).toEqual([]);
    expect((await getJson(`${gw.url}/api/v1/devices/motor_01`)).json.state.running).toBe(true);
    // Enter on Cancel cancels too.
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    expect(await audit(gw, 'motor_01')).toEqual([]);

    // Again; Tab to the action ("Stop Conveyor drive Running") and Enter: sent.
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('Stop Conveyor drive Running');
    expect(await dialog.getByRole('button', { name: 'Stop Conveyor drive Running', exact: true }).count()).toBe(1);
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => running.locator('.wstatus').innerText()).toBe('Confirmed OFF');
    await expect.poll(() => running.getAttribute('data-value')).toBe('false');
    expect((await audit(gw, 'motor_01')).map((e) => e['requested'])).toEqual([{ running: false }]);

    // A setpoint: Tab to its field, type, Enter. Not a run command: no question.
    await tabTo(page, 'Conveyor drive Speed, new value');
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type('2100');
    await page.keyboard.press('Enter');
    const speed = page.locator('[data-device-page="motor_01"] tr[data-point="speed"]');
    await expect.poll(() => speed.locator('.wstatus').innerText()).toBe('Confirmed 2100 rpm');
    expect(await page.locator('dialog[open]').count()).toBe(0);
    expect((await audit(gw, 'motor_01')).map((e) => e['requested'])).toEqual([{ speed: 2100 }, { running: false }]);
    // The audit list follows.
    await expect.poll(() => page.locator('.dp-audit-table tbody tr').count()).toBe(2);
    expect(errors).toEqual([]);
  });

  test('the control is free the moment the question is answered, before the dialog\'s close event (a task later)', async () => {
    const { page, errors, running } = await runningMotorPage();
    await running.getByRole('button', { name: 'Stop Conveyor drive Running' }).click();
    await page.getByRole('dialog', { name: 'Stop Conveyor drive?' }).waitFor();
    // Cancel, then look within the same task: microtasks run, the queued close event has not.
    const busyAfter = await page.evaluate(async () => {
      (document.querySelector('#confirm [data-confirm="cancel"]') as HTMLButtonElement).click();
      for (let i = 0; i < 5; i++) await Promise.resolve();
      return document.querySelector('[data-device-page="motor_01"] tr[data-point="running"] .ctl')!.getAttribute('aria-busy');
    });
    expect(busyAfter).toBeNull();
    expect(await focused(page)).toBe('Stop Conveyor drive Running');
    expect(errors).toEqual([]);
  });

  test('a write in progress cannot be sent twice: clicks and Enters before the answer send one write', async () => {
    const gw = await gateway({ devices: MOTORS });
    const { page } = await open(`${gw.url}/`);
    const speed = page.locator('[data-device="motor_01"] [data-point="speed"]');
    await speed.locator('.ctl').waitFor();
    await page.evaluate(() => {
      const ctl = document.querySelector('[data-device="motor_01"] [data-point="speed"] .ctl')!;
      const w = window as unknown as { __busy: string[] };
      w.__busy = [];
      new MutationObserver(() => w.__busy.push(`${ctl.getAttribute('aria-busy')}|${ctl.querySelector('button.set')!.getAttribute('aria-disabled')}`)).observe(ctl, { attributes: true, subtree: true });
    });
    await speed.locator('input[type="number"]').fill('1900');
    // Three clicks and two Enters in the field, in one go: before any answer can come back.
    await speed.locator('button.set').evaluate((b: HTMLButtonElement) => {
      const field = b.parentElement!.querySelector('input[type="number"]')!;
      b.click();
      b.click();
      field.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
      b.click();
      field.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    });
    await expect.poll(() => speed.locator('.wstatus').innerText()).toBe('Confirmed 1900 rpm');
    expect((await audit(gw, 'motor_01')).map((e) => e['requested'])).toEqual([{ speed: 1900 }]);
    const busy = await page.evaluate(() => (window as unknown as { __busy: string[] }).__busy);
    expect(busy[0]).toBe('true|true');
    expect(busy.at(-1)).toBe('null|null');

    // Start/Stop: clicks while the question is open do not ask twice or send twice.
    const running = page.locator('[data-device="motor_01"] [data-point="running"]');
    await running.locator('button.off').evaluate((b: HTMLButtonElement) => {
      b.click();
      b.click();
    });
    expect(await page.locator('dialog[open]').count()).toBe(1);
    await page.getByRole('button', { name: 'Stop Conveyor drive Running' }).last().click();
    await expect.poll(() => running.locator('.wstatus').innerText()).toBe('Confirmed OFF');
    expect((await audit(gw, 'motor_01')).map((e) => e['requested'])).toEqual([{ running: false }, { speed: 1900 }]);
  });

  test.skipIf(!peers('/usr/bin/python3'))('a Modbus point with confirm: true asks before every write; Cancel sends nothing', async () => {
    const slave: PyModbusPeer = await startPyModbus('tcp', 0, { units: [1] });
    suite.cleanup(() => slave.stop());
    await slave.set(1, 'hr', 0, [500]);
    const gw = await gateway({
      buses: [{ id: 'plc', kind: 'tcp', host: '127.0.0.1', port: slave.port, timeout_ms: 300, retries: 1, reconnect_max_ms: 500 }],
      devices: [
        {
          id: 'oven_1',
          name: 'Oven 1',
          driver: 'modbus',
          bus: 'plc',
          unit: 1,
          poll_interval_ms: 100,
          points: {
            setpoint: { table: 'holding', address: 0, scale: 0.1, unit: '°C', access: 'rw', min: 0, max: 250, confirm: true, description: 'Zone temperature setpoint' },
            trim: { table: 'holding', address: 1, access: 'rw', min: 0, max: 100 },
          },
        },
      ],
    });
    // The metadata says so.
    const view = (await getJson(`${gw.url}/api/v1/devices/oven_1`)).json;
    expect(view.points.setpoint.confirm).toBe(true);
    expect(view.points.trim.confirm).toBeUndefined();
    const { page, errors } = await open(`${gw.url}/#/devices/oven_1`);
    const sp = page.locator('[data-device-page="oven_1"] tr[data-point="setpoint"]');
    await expect.poll(() => sp.locator('.dp-value').innerText()).toBe('50.0 °C');
    expect(await sp.locator('.dp-writable').innerText()).toBe('yes, confirmed');
    expect(await sp.locator('.dp-resolution').innerText()).toBe('0.1');

    await sp.locator('input[type="number"]').fill('180.5');
    await sp.locator('button.set').click();
    const dialog = page.getByRole('dialog', { name: 'Set Oven 1 Setpoint to 180.5 °C?' });
    await dialog.waitFor();
    expect(await dialog.locator('#confirm-detail').innerText()).toBe('Setpoint: 50.0 °C → 180.5 °C (oven_1.setpoint)');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await slave.get(1, 'hr', 0, 1)).toEqual([500]);
    expect(await audit(gw, 'oven_1')).toEqual([]);

    await sp.locator('button.set').click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Set Oven 1 Setpoint to 180.5 °C', exact: true }).click();
    await expect.poll(() => sp.locator('.wstatus').innerText()).toBe('Confirmed 180.5 °C');
    expect(await slave.get(1, 'hr', 0, 1)).toEqual([1805]);
    // A point without confirm is written at once.
    const trim = page.locator('[data-device-page="oven_1"] tr[data-point="trim"]');
    await trim.locator('input[type="number"]').fill('7');
    await trim.locator('button.set').click();
    await expect.poll(() => trim.locator('.wstatus').innerText()).toBe('Confirmed 7');
    expect(await page.locator('dialog[open]').count()).toBe(0);
    expect((await audit(gw, 'oven_1')).map((e) => e['requested'])).toEqual([{ trim: 7 }, { setpoint: 180.5 }]);
    await expect.poll(() => page.locator('.dp-audit-table tbody tr').count()).toBe(2);
    expect(errors).toEqual([]);
  });

  test('a viewer sees the page without controls, and a clear "not allowed" for the recent writes', async () => {
    const viewer = newToken();
    const gw = await gateway({ devices: MOTORS, auth: { tokens: [{ name: 'hall_panel', role: 'viewer', hash: hashToken(viewer) }] } } as never);
    const { page, errors } = await open(`${gw.url}/#/devices/motor_01`);
    await page.locator('#login').waitFor();
    await page.fill('#token', viewer);
    await page.click('#login button[type="submit"]');
    const dp = page.locator('[data-device-page="motor_01"]');
    await dp.locator('tr[data-point="speed"]').waitFor();
    expect(await dp.locator('.ctl').count()).toBe(0);
    expect(await dp.locator('.dp-audit-denied').innerText()).toBe('Not allowed: the recent writes (who changed what) are shown to operators and admins; this token has role viewer.');
    // The page does not even ask (the gateway would refuse it: see test/server/audit-route.test.ts).
    expect(await dp.locator('.dp-audit-table').count()).toBe(0);
    // The only failed request: the first one, before the token was entered.
    expect(errors).toEqual(['console: Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
  });
});
