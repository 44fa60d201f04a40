/**
 * The built-in simulator: motors and sensors that behave like the real thing, polled on their
 * configured intervals through the same driver contract as Modbus and serial devices.
 */
import { GatewayError } from '../../src/core/errors.js';
import type { Driver, DriverContext, DriverHealth } from '../../src/core/driver.js';
import type { PointValue } from '../../src/core/points.js';
import type { DeviceDescriptor } from '../../src/core/registry.js';
import type { SimulatorDeviceConfig } from './config.js';
import { placement } from '../../src/config/fields.js';
import {
  IO_POINTS,
  MOTOR_POINTS,
  SENSOR_POINTS,
  asValues,
  initialMotor,
  initialSensor,
  initialIo,
  stepIo,
  stepMotor,
  stepSensor,
  type MotorState,
  type SensorState,
  type IoState,
} from './models.js';

interface SimDevice {
  cfg: SimulatorDeviceConfig;
  desc: DeviceDescriptor;
  state: MotorState | SensorState | IoState;
  lastStep: number;
  timer: NodeJS.Timeout | undefined;
}

export interface SimulatorDriverOptions {
  devices: SimulatorDeviceConfig[];
  ctx: DriverContext;
  /** Source of noise in [-1, 1]; injectable for deterministic tests. */
  noise?: () => number;
  now?: () => number;
}

export class SimulatorDriver implements Driver {
  readonly id = 'simulator';
  private readonly sims = new Map<string, SimDevice>();
  private readonly noise: () => number;
  private readonly now: () => number;
  private lastProgress: number | null = null;
  private polls = 0;
  private writes = 0;

  constructor(private readonly options: SimulatorDriverOptions) {
    this.noise = options.noise ?? (() => Math.random() * 2 - 1);
    this.now = options.now ?? Date.now;
    options.devices.forEach((cfg, i) => {
      const motor = cfg.model === 'motor';
      const io = cfg.model === 'io';
      this.sims.set(cfg.id, {
        cfg,
        desc: {
          id: cfg.id,
          name: cfg.name ?? cfg.id,
          device_type: cfg.type ?? cfg.model,
          driver: this.id,
          points: motor ? MOTOR_POINTS : io ? IO_POINTS : SENSOR_POINTS,
          ...placement(cfg),
        },
        state: motor ? initialMotor(i) : io ? initialIo(i) : initialSensor(i),
        lastStep: this.now(),
        timer: undefined,
      });
    });
  }

  devices(): DeviceDescriptor[] {
    return [...this.sims.values()].map((s) => s.desc);
  }

  async start(): Promise<void> {
    for (const sim of this.sims.values()) {
      sim.lastStep = this.now();
      this.poll(sim);
      sim.timer = setInterval(() => this.poll(sim), sim.cfg.poll_interval_ms);
    }
  }

  async stop(): Promise<void> {
    for (const sim of this.sims.values()) {
      clearInterval(sim.timer);
      sim.timer = undefined;
    }
  }

  async write(deviceId: string, values: Record<string, PointValue>, signal: AbortSignal): Promise<Record<string, PointValue>> {
    const sim = this.sims.get(deviceId);
    if (sim === undefined) throw new GatewayError('device_not_found', `Device ${deviceId} not found`);
    // A real device answers asynchronously; so does the simulated one.
    await new Promise((resolve) => setImmediate(resolve));
    if (signal.aborted) throw new GatewayError('device_timeout', `${deviceId}: write aborted`);
    const state = sim.state as unknown as Record<string, PointValue>;
    for (const [name, value] of Object.entries(values)) state[name] = value;
    this.writes++;
    this.lastProgress = this.now();
    // Read-back: what the device now holds for the written points.
    const confirmed: Record<string, PointValue> = {};
    for (const name of Object.keys(values)) confirmed[name] = state[name] ?? null;
    return confirmed;
  }

  health(): DriverHealth {
    return { lastProgress: this.lastProgress, counters: { polls: this.polls, writes: this.writes } };
  }

  private poll(sim: SimDevice): void {
    const t = this.now();
    const dt = Math.max(0, (t - sim.lastStep) / 1000);
    sim.lastStep = t;
    sim.state =
      sim.cfg.model === 'motor'
        ? stepMotor(sim.state as MotorState, dt, this.noise)
        : sim.cfg.model === 'io'
          ? stepIo(sim.state as IoState, dt, this.noise)
          : stepSensor(sim.state as SensorState, dt, this.noise, t / 1000);
    this.polls++;
    this.lastProgress = t;
    this.options.ctx.sink.report(sim.cfg.id, asValues(sim.state), 'poll');
  }
}
