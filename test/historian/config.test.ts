import { expect, test } from 'vitest';
import { validateConfig } from '../../src/config/load.js';

const devices = [{ id: 'm', driver: 'simulator', model: 'motor' }];

test('history.store has defaults for an SD card: 7 d raw, 90 d minutes, 2 years of hours under 1 GiB, a batch every 5 s', () => {
  const c = validateConfig({ devices });
  expect(c.history.store).toEqual({
    enabled: true,
    raw_days: 7,
    minute_days: 90,
    hour_days: 730,
    max_mb: 1024,
    flush_s: 5,
    flush_samples: 20_000,
    fsync: true,
    exclude: [],
    max_rows: 200_000,
    max_raw_span_h: 24,
  });
});

test('every history.store error names its path', () => {
  const bad = { history: { store: { max_mb: 0, flush_s: 'often', exclude: ['motor 1'], retention: 3 } }, devices };
  let message = '';
  try {
    validateConfig(bad);
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toMatch(/history\.store\.max_mb: must be >= 1/);
  expect(message).toMatch(/history\.store\.flush_s: must be a number/);
  expect(message).toMatch(/history\.store\.exclude\[0\]: must be a device id or device\.point/);
  expect(message).toMatch(/history\.store\.retention: unknown setting/);
});
