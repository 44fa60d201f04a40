/**
 * How the Modbus driver turns what happens on the bus into the API's errors, over a scripted
 * in-memory line (a unit test of the driver layer; the peer tests cover real slaves).
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import pino from 'pino';
import * as v from 'valibot';
import { ModbusDriver } from '../../drivers/modbus/driver.js';
import { ModbusDeviceSchema } from '../../drivers/modbus/config.js';
import { BusSchema } from '../../drivers/bus/config.js';
import { crc16 } from '../../drivers/modbus/crc.js';
import type { Transport } from '../../drivers/bus/transport.js';
import { GatewayError } from '../../src/core/errors.js';

/** An RTU line whose far end answers each request with whatever `reply` returns (or nothing). */
class ScriptedLine extends EventEmitter implements Transport {
  readonly description = 'scripted';
  isOpen = false;
  requests: Buffer[] = [];
  constructor(private readonly reply: (req: Buffer) => number[] | undefined) {
    super();
  }
  async open(): Promise<void> {
    this.isOpen = true;
  }
  async close(): Promise<void> {
    this.isOpen = false;
  }
  write(data: Buffer): void {
    this.requests.push(data);
    const r = this.reply(data);
    if (r === undefined) return;
    const frame = Buffer.from([...r, 0, 0]);
    frame.writeUInt16LE(crc16(frame.subarray(0, frame.length - 2)), frame.length - 2);
    setImmediate(() => this.emit('data', frame));
  }
}

const drivers: ModbusDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.stop();
});

async function driverOn(line: ScriptedLine, reports: Record<string, unknown>[] = []): Promise<ModbusDriver> {
  const bus = v.parse(BusSchema, { id: 'l', kind: 'rtu', port: '/dev/null', timeout_ms: 50, retries: 1, quiet_ms: 0 });
  const device = v.parse(ModbusDeviceSchema, {
    id: 'm',
    driver: 'modbus',
    bus: 'l',
    unit: 7,
    poll_interval_ms: 3_600_000,
    points: { speed: { table: 'holding', address: 4, access: 'rw' } },
  });
  const d = new ModbusDriver({
    bus,
    devices: [device],
    transport: line,
    ctx: { log: pino({ level: 'silent' }), sink: { report: (_id, values) => void reports.push(values), setOnline: () => undefined } },
  });
  drivers.push(d);
  await d.start();
  return d;
}

async function writeError(d: ModbusDriver): Promise<GatewayError> {
  try {
    await d.write('m', { speed: 5 }, new AbortController().signal);
  } catch (err) {
    return err as GatewayError;
  }
  throw new Error('the write succeeded');
}

describe('Modbus driver errors', () => {
  test('a Modbus exception is device_error with the code and its meaning', async () => {
    const line = new ScriptedLine((req) => (req[1] === 6 ? [7, 0x86, 3] : [7, 3, 2, 0, 0]));
    const err = await writeError(await driverOn(line));
    expect(err.code).toBe('device_error');
    expect(err.toJSON()).toMatchObject({ exception_code: 3, exception: expect.stringMatching(/illegal data value/) });
    expect(err.message).toBe('m refused the write: Modbus exception 3, illegal data value (the unit refused the value)');
  });

  test('no answer after the retries is device_timeout', async () => {
    const line = new ScriptedLine((req) => (req[1] === 6 ? undefined : [7, 3, 2, 0, 0]));
    const err = await writeError(await driverOn(line));
    expect(err.code).toBe('device_timeout');
    expect(err.message).toMatch(/did not answer write holding 4 within 50 ms \(2 attempts\)/);
    expect(line.requests.filter((r) => r[1] === 6)).toHaveLength(2);
  });

  test('a line that is not open is device_offline, and nothing is sent', async () => {
    const line = new ScriptedLine(() => [7, 3, 2, 0, 0]);
    const d = await driverOn(line);
    line.isOpen = false;
    const sent = line.requests.length;
    const err = await writeError(d);
    expect(err.code).toBe('device_offline');
    expect(line.requests.length).toBe(sent);
  });

  test('a write abandoned while waiting for the bus is never sent', async () => {
    // Reads go unanswered, so the first poll holds the line for its timeout.
    const line = new ScriptedLine((req) => (req[1] === 6 ? [...req.subarray(0, 6)] : undefined));
    const d = await driverOn(line);
    while (line.requests.length === 0) await new Promise((r) => setImmediate(r));
    const control = new AbortController();
    const result = d.write('m', { speed: 5 }, control.signal).catch((e: unknown) => e as GatewayError);
    control.abort();
    const err = await result;
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('device_timeout');
    expect((err as GatewayError).message).toMatch(/abandoned .* nothing was written/);
    // Let the poll time out and the queue drain: the write still never reaches the line.
    while (d.health().counters!['timeouts']! < 1 || d.health().counters!['queue_depth']! > 0) await new Promise((r) => setTimeout(r, 5));
    expect(line.requests.filter((r) => r[1] === 6)).toEqual([]);
    expect(line.requests).toHaveLength(1);
  });

  test('a poll that overlaps a control write does not publish: the write publishes its read-back', async () => {
    let held: ((frame: number[]) => void) | undefined;
    const line = new ScriptedLine((req) => {
      if (req[1] === 6) return [...req.subarray(0, 6)];
      if (held === undefined && line.requests.length === 1) {
        // Hold the first poll's answer (the old value 1) until the write is queued behind it.
        held = (frame) => {
          const b = Buffer.from([...frame, 0, 0]);
          b.writeUInt16LE(crc16(b.subarray(0, b.length - 2)), b.length - 2);
          line.emit('data', b);
        };
        return undefined;
      }
      return [7, 3, 2, 0, 5];
    });
    const reports: Record<string, unknown>[] = [];
    const d = await driverOn(line, reports);
    while (held === undefined) await new Promise((r) => setImmediate(r));
    const write = d.write('m', { speed: 5 }, new AbortController().signal);
    held([7, 3, 2, 0, 1]);
    expect(await write).toEqual({ speed: 5 });
    expect(reports).toEqual([]);
  });

  test('the confirmed value is what the unit reads back, not what was sent', async () => {
    // This unit clamps the speed to 3 and answers the read-back with what it keeps.
    let held = 0;
    const line = new ScriptedLine((req) => {
      if (req[1] === 6) {
        held = Math.min(3, req.readUInt16BE(4));
        return [...req.subarray(0, 6)];
      }
      return [7, 3, 2, held >> 8, held & 0xff];
    });
    const d = await driverOn(line);
    expect(await d.write('m', { speed: 5 }, new AbortController().signal)).toEqual({ speed: 3 });
  });
});
