/**
 * The event-loop delay the gateway reports (mgw_event_loop_delay_seconds, the watchdog's
 * limit) is the delay alone, not the delay plus the 20 ms sampling interval.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { HealthMonitor } from '../../src/platform/watchdog.js';
import { waitFor } from '../peers/modbus.js';

const monitors: HealthMonitor[] = [];
afterEach(() => {
  for (const m of monitors.splice(0)) m.stop();
});

function monitor(): HealthMonitor {
  const m = new HealthMonitor({ config: () => ({ max_event_loop_delay_ms: 2000, driver_stall_s: 0 }), drivers: () => [] });
  m.start();
  monitors.push(m);
  return m;
}

describe('event-loop delay', () => {
  test('an idle loop reports a delay near zero, not the sampling interval', async () => {
    const m = monitor();
    await waitFor('twenty samples', () => m.loopDelay.count >= 20);
    // A loop that is not busy runs its timers within a millisecond or two; 20 ms is the interval.
    expect(m.loopDelay.percentile(50) / 1e6).toBeLessThan(10);
  });

  test('a loop blocked for 200 ms reports about 200 ms, in the metric and in the watchdog window', async () => {
    const m = monitor();
    await waitFor('a first sample', () => m.loopDelay.count >= 1);
    const until = Date.now() + 200;
    while (Date.now() < until) {
      // blocks the loop as a synchronous bug would
    }
    const count = m.loopDelay.count;
    await waitFor('the next sample', () => m.loopDelay.count > count);
    const maxMs = m.loopDelay.max / 1e6;
    expect(maxMs).toBeGreaterThanOrEqual(150);
    expect(m.check().loopDelayMaxMs).toBeGreaterThanOrEqual(150);
    // The next window starts after that check: without another block it is short again, while
    // the figure since start keeps the 200 ms.
    const after = m.loopDelay.count;
    await waitFor('two more samples', () => m.loopDelay.count >= after + 2);
    expect(m.check().loopDelayMaxMs).toBeLessThan(100);
    expect(m.loopDelay.max / 1e6).toBeGreaterThanOrEqual(150);
  });
});
