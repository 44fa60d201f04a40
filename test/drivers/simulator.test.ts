import { describe, expect, it } from 'vitest';
import { initialMotor, stepMotor, initialSensor, stepSensor } from '../../drivers/simulator/models.js';
import { SimulatorDriver } from '../../drivers/simulator/index.js';
import { createLogger } from '../../src/platform/logger.js';
import type { PointValue } from '../../src/core/points.js';

const still = () => 0;

describe('simulated motor', () => {
  it('ramps toward its setpoint and holds it', () => {
    let m = { ...initialMotor(0), speed: 1200, actual_speed: 0 };
    m = stepMotor(m, 1, still);
    expect(m.actual_speed).toBe(600);
    m = stepMotor(m, 1, still);
    expect(m.actual_speed).toBe(1200);
    m = stepMotor(m, 1, still);
    expect(m.actual_speed).toBe(1200);
  });

  it('runs down to zero when stopped, and its current follows the load', () => {
    let m = { ...initialMotor(0), speed: 3000, actual_speed: 3000, running: true };
    const loaded = stepMotor(m, 0.1, still).current;
    m = { ...m, running: false };
    for (let i = 0; i < 10; i++) m = stepMotor(m, 1, still);
    expect(m.actual_speed).toBe(0);
    expect(m.current).toBe(0);
    expect(loaded).toBeGreaterThan(5);
  });

  it('heats up under load', () => {
    let m = { ...initialMotor(0), speed: 3000, actual_speed: 3000, temperature: 24 };
    for (let i = 0; i < 60; i++) m = stepMotor(m, 1, still);
    expect(m.temperature).toBeGreaterThan(40);
  });
});

describe('simulated sensor', () => {
  it('stays within physical bounds under heavy noise', () => {
    let s = initialSensor(0);
    let n = 0;
    const wild = () => ((n = (n * 7919 + 13) % 1000) / 500 - 1);
    for (let i = 0; i < 10_000; i++) s = stepSensor(s, 1, wild, i);
    expect(s.humidity).toBeGreaterThanOrEqual(0);
    expect(s.humidity).toBeLessThanOrEqual(100);
    expect(s.temperature).toBeGreaterThan(-40);
    expect(s.temperature).toBeLessThan(85);
  });
});

describe('SimulatorDriver', () => {
  it('reports through the sink on start and confirms writes with the values it now holds', async () => {
    const reports: Record<string, PointValue>[] = [];
    const driver = new SimulatorDriver({
      devices: [{ id: 'm', driver: 'simulator', model: 'motor', poll_interval_ms: 60_000 }],
      ctx: { sink: { report: (_id, v) => void reports.push(v), setOnline: () => undefined }, log: createLogger({ level: 'silent' }) },
    });
    await driver.start();
    expect(reports[0]).toHaveProperty('actual_speed');
    expect(await driver.write('m', { speed: 900, running: false }, new AbortController().signal)).toEqual({ speed: 900, running: false });
    await driver.stop();
  });
});
