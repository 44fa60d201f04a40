import { describe, expect, it } from 'vitest';
import { IO_CHANNELS, IO_POINTS, initialIo, stepIo } from '../../drivers/simulator/models.js';
import { validateConfig } from '../../src/config/load.js';

describe('simulated remote I/O block', () => {
  it('has 20 analog inputs that stay within 0-100 % while they wander', () => {
    expect(Object.keys(IO_POINTS)).toHaveLength(IO_CHANNELS);
    expect(Object.keys(IO_POINTS)[0]).toBe('ai01');
    let s = initialIo(3);
    let flips = 0;
    for (let k = 0; k < 2000; k++) {
      const next = stepIo(s, 1, () => (k % 2 === 0 ? 1 : -0.9));
      if (next['ai01'] !== s['ai01']) flips++;
      s = next;
    }
    for (const v of Object.values(s)) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(100);
    }
    expect(flips).toBeGreaterThan(1000);
  });

  it('is accepted by the config as model io', () => {
    const cfg = validateConfig({ devices: [{ id: 'rio_01', driver: 'simulator', model: 'io' }] });
    expect(cfg.devices[0]).toMatchObject({ model: 'io' });
  });
});
