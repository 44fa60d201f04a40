/**
 * SystemdNotifier on its own: when it sends, what, and how it reads the watchdog settings.
 * (The real socket and libsystemd are covered by notify.test.ts and nspawn.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { SystemdNotifier } from '../../src/platform/notify.js';

function notifier(env: NodeJS.ProcessEnv) {
  const sent: string[] = [];
  const errors: string[] = [];
  const n = new SystemdNotifier({ env, send: (_u, s) => (sent.push(s), 1), onError: (m) => errors.push(m) });
  return { n, sent, errors };
}

describe('SystemdNotifier', () => {
  it('sends nothing, not even to its sd_notify, without NOTIFY_SOCKET', () => {
    const { n, sent } = notifier({});
    n.ready('x');
    n.watchdog();
    n.stopping();
    expect(n.enabled).toBe(false);
    expect(sent).toEqual([]);
  });

  it('pings at half of WATCHDOG_USEC, and not when the watchdog belongs to another PID', () => {
    expect(notifier({ WATCHDOG_USEC: '30000000' }).n.watchdogIntervalMs()).toBe(15_000);
    expect(notifier({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(process.pid) }).n.watchdogIntervalMs()).toBe(15_000);
    expect(notifier({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(process.pid + 1) }).n.watchdogIntervalMs()).toBeNull();
    expect(notifier({ WATCHDOG_USEC: 'soon' }).n.watchdogIntervalMs()).toBeNull();
    expect(notifier({}).n.watchdogIntervalMs()).toBeNull();
  });

  it('keeps STATUS on one line and sends it only when it changed', () => {
    const { n, sent } = notifier({ NOTIFY_SOCKET: '@fake' });
    n.ready('2/2 devices online\nsecond line');
    n.status('2/2 devices online second line');
    n.status('1/2 devices online');
    expect(sent).toEqual([`READY=1\nSTATUS=2/2 devices online second line\nMAINPID=${process.pid}`, 'STATUS=1/2 devices online']);
  });

  it('reports a failing sd_notify once instead of throwing', () => {
    const errors: string[] = [];
    const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: '/nonexistent' }, send: () => -111, onError: (m) => errors.push(m) });
    expect(n.notify('WATCHDOG=1')).toBe(false);
    expect(n.notify('WATCHDOG=1')).toBe(false);
    expect(errors).toEqual(['sd_notify failed with error 111 for "WATCHDOG=1"']);
  });

  it('really calls libsystemd through koffi: a missing socket is an error code, not a crash', () => {
    const errors: string[] = [];
    const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: '/nonexistent/notify.sock' }, onError: (m) => errors.push(m) });
    const old = process.env['NOTIFY_SOCKET'];
    process.env['NOTIFY_SOCKET'] = '/nonexistent/notify.sock';
    try {
      expect(n.notify('STATUS=test')).toBe(false);
    } finally {
      if (old === undefined) delete process.env['NOTIFY_SOCKET'];
      else process.env['NOTIFY_SOCKET'] = old;
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^sd_notify failed with error \d+ for "STATUS=test"$/);
  });
});
