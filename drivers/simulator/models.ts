/**
 * Physics of the simulated devices. Pure functions of (state, dt): testable without timers.
 */
import type { PointMap, PointValue } from '../../src/core/points.js';

export interface MotorState {
  speed: number; // setpoint, rpm
  running: boolean;
  actual_speed: number; // rpm
  current: number; // A
  temperature: number; // °C
}

export const MOTOR_POINTS: PointMap = {
  speed: { type: 'integer', access: 'rw', unit: 'rpm', min: 0, max: 3000, description: 'Speed setpoint' },
  running: { type: 'boolean', access: 'rw', description: 'Run (true) or stop (false)' },
  actual_speed: { type: 'number', access: 'r', unit: 'rpm', min: 0, max: 3000, decimals: 1, description: 'Measured shaft speed' },
  current: { type: 'number', access: 'r', unit: 'A', min: 0, max: 20, decimals: 2, description: 'Motor current' },
  temperature: { type: 'number', access: 'r', unit: '°C', min: -20, max: 150, decimals: 2, description: 'Winding temperature' },
};

/** rpm per second the drive ramps by. */
const RAMP_RPM_S = 600;
const AMBIENT_C = 24;
/** Thermal time constant of the winding, seconds (shortened so a demo shows it move). */
const THERMAL_TAU_S = 30;

export function initialMotor(seed: number): MotorState {
  return { speed: 1200 + (seed % 4) * 150, running: true, actual_speed: 0, current: 0.4, temperature: AMBIENT_C + (seed % 3) };
}

export function stepMotor(s: MotorState, dt: number, noise: () => number): MotorState {
  const target = s.running ? s.speed : 0;
  const delta = target - s.actual_speed;
  const maxStep = RAMP_RPM_S * dt;
  const actual = Math.abs(delta) <= maxStep ? target : s.actual_speed + Math.sign(delta) * maxStep;
  // Current: magnetising current plus load roughly proportional to speed, more while accelerating.
  const accelerating = Math.abs(delta) > maxStep ? 1.5 : 0;
  const current = s.running || actual > 0 ? 0.8 + (actual / 3000) * 9 + accelerating + noise() * 0.15 : 0;
  // Winding temperature follows I²R losses with a first-order lag.
  const steady = AMBIENT_C + current * current * 0.45;
  const temperature = s.temperature + (steady - s.temperature) * (1 - Math.exp(-dt / THERMAL_TAU_S)) + noise() * 0.05;
  return {
    speed: s.speed,
    running: s.running,
    actual_speed: round(actual, 1),
    current: round(Math.max(0, current), 2),
    temperature: round(temperature, 2),
  };
}

export interface SensorState {
  temperature: number; // °C
  humidity: number; // %RH
}

export const SENSOR_POINTS: PointMap = {
  temperature: { type: 'number', access: 'r', unit: '°C', min: -40, max: 85, decimals: 2, description: 'Air temperature' },
  humidity: { type: 'number', access: 'r', unit: '%RH', min: 0, max: 100, decimals: 1, description: 'Relative humidity' },
};

export function initialSensor(seed: number): SensorState {
  return { temperature: 21 + (seed % 5), humidity: 40 + (seed % 7) };
}

/** A mean-reverting random walk (Ornstein-Uhlenbeck) around a slowly drifting set point. */
export function stepSensor(s: SensorState, dt: number, noise: () => number, clockS: number): SensorState {
  const tMean = 22 + 2 * Math.sin((clockS / 600) * 2 * Math.PI);
  const hMean = 45 - 5 * Math.sin((clockS / 900) * 2 * Math.PI);
  const k = Math.min(1, dt / 20);
  return {
    temperature: round(s.temperature + (tMean - s.temperature) * k + noise() * 0.08 * Math.sqrt(dt * 10), 2),
    humidity: round(Math.min(100, Math.max(0, s.humidity + (hMean - s.humidity) * k + noise() * 0.2 * Math.sqrt(dt * 10))), 1),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function asValues(s: MotorState | SensorState | IoState): Record<string, PointValue> {
  return { ...s };
}

/** Channels of the simulated remote I/O block (a 20-channel analog input module). */
export const IO_CHANNELS = 20;

export type IoState = Record<string, number>;

export const IO_POINTS: PointMap = Object.fromEntries(
  Array.from({ length: IO_CHANNELS }, (_, i) => [
    ioName(i),
    { type: 'number', access: 'r', unit: '%', min: 0, max: 100, decimals: 1, description: `Analog input ${i + 1} (4-20 mA scaled to 0-100 %)` },
  ]),
);

function ioName(i: number): string {
  return `ai${String(i + 1).padStart(2, '0')}`;
}

export function initialIo(seed: number): IoState {
  const s: IoState = {};
  for (let i = 0; i < IO_CHANNELS; i++) s[ioName(i)] = 20 + ((seed * 7 + i * 13) % 60);
  return s;
}

/** Every channel wanders (bounded random walk, 0.1 % resolution): each poll changes most channels. */
export function stepIo(s: IoState, dt: number, noise: () => number): IoState {
  const out: IoState = {};
  const spread = Math.sqrt(Math.max(dt, 0.001) * 10);
  for (const [name, value] of Object.entries(s)) out[name] = round(Math.min(100, Math.max(0, value + noise() * 0.5 * spread)), 1);
  return out;
}
