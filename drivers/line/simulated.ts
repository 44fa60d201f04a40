/**
 * A simulated line-protocol device: the simulator physics behind a small ASCII command set, so
 * the line driver can be tried without hardware (`mgw simulate line`). Pure: the caller moves
 * the bytes and the clock. config/examples/line-motor.yaml and line-sensor.yaml speak to it.
 *
 * motor:  SPEED? -> SPEED=<rpm>          SPEED=<rpm> -> OK SPEED=<rpm> (0-3000, else ERR out of range)
 *         RUN?   -> RUN=<0|1>            RUN=<0|1>   -> OK RUN=<0|1>
 *         STATUS? -> RUN=1;ACT=1199.5;I=8.12;T=35.20   (actual rpm, current A, winding °C)
 * sensor: streams T=<°C>;H=<%RH> every interval by itself; READ? answers the same line.
 * Anything else is answered with ERR unknown command.
 */
import { initialMotor, initialSensor, stepMotor, stepSensor, type MotorState, type SensorState } from '../simulator/models.js';

export type SimulatedModel = 'motor' | 'sensor';

export class SimulatedLineDevice {
  private motor: MotorState = initialMotor(0);
  private sensor: SensorState = initialSensor(0);

  constructor(
    private readonly options: { model: SimulatedModel; noise?: () => number },
  ) {}

  get model(): SimulatedModel {
    return this.options.model;
  }

  /** Advances the physics by dt seconds; returns a line to stream, if the model streams. */
  step(dt: number, clockS: number): string | undefined {
    const noise = this.options.noise ?? (() => Math.random() * 2 - 1);
    if (this.options.model === 'motor') {
      this.motor = stepMotor(this.motor, dt, noise);
      return undefined;
    }
    this.sensor = stepSensor(this.sensor, dt, noise, clockS);
    return this.sensorLine();
  }

  /** The answer to one received line, or undefined for an empty line. */
  answer(line: string): string | undefined {
    const text = line.trim();
    if (text === '') return undefined;
    if (this.options.model === 'sensor') return text === 'READ?' ? this.sensorLine() : 'ERR unknown command';
    const m = this.motor;
    if (text === 'SPEED?') return `SPEED=${m.speed}`;
    if (text === 'RUN?') return `RUN=${m.running ? 1 : 0}`;
    if (text === 'STATUS?') return `RUN=${m.running ? 1 : 0};ACT=${m.actual_speed.toFixed(1)};I=${m.current.toFixed(2)};T=${m.temperature.toFixed(2)}`;
    const speed = /^SPEED=(\d+)$/.exec(text);
    if (speed) {
      const rpm = Number(speed[1]);
      if (rpm > 3000) return 'ERR out of range';
      this.motor = { ...m, speed: rpm };
      return `OK SPEED=${rpm}`;
    }
    const run = /^RUN=([01])$/.exec(text);
    if (run) {
      this.motor = { ...m, running: run[1] === '1' };
      return `OK RUN=${run[1]}`;
    }
    return 'ERR unknown command';
  }

  private sensorLine(): string {
    return `T=${this.sensor.temperature.toFixed(2)};H=${this.sensor.humidity.toFixed(1)}`;
  }
}
