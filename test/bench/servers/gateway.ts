/**
 * Bench entry point: the real Gateway (registry, history, uWS server with app.publish per
 * device topic) on the simulator, with the bench source applying stamped diffs to the registry
 * exactly as a driver's report would. Nothing here is on a production code path.
 *
 * argv: backpressure-bytes [modbus-tcp-port]: with a port, a Modbus TCP bus to that peer and
 * device `mb1` (unit 1, holding register 0 as rw point `setpoint`) for the control round trip.
 */
import { validateConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/platform/logger.js';
import { Gateway } from '../../../src/gateway.js';
import { BENCH_DEVICES, serveBenchCommands } from './source.js';

const backpressure = Number(process.argv[2] ?? 1_048_576);
const modbusPort = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const modbus =
  modbusPort === undefined
    ? {}
    : {
        buses: [{ id: 'bench', kind: 'tcp', host: '127.0.0.1', port: modbusPort, timeout_ms: 1000, retries: 0 }],
        devices: [
          {
            id: 'mb1',
            driver: 'modbus',
            bus: 'bench',
            unit: 1,
            poll_interval_ms: 3_600_000,
            points: { setpoint: { table: 'holding', address: 0, type: 'uint16', access: 'rw' } },
          },
        ],
      };
const config = validateConfig({
  ...(modbus.buses ? { buses: modbus.buses } : {}),
  server: { port: 0, max_connections: 5000, max_backpressure_bytes: backpressure, heartbeat_s: 0 },
  log: { level: 'warn' },
  // The control round trip sends writes back to back: measure the path, not the rate limit.
  limits: { rest_writes_per_s: 1_000_000, rest_write_burst: 1_000_000 },
  devices: [
    // The simulator polls once at start and then hourly: the bench source is the only writer.
    ...BENCH_DEVICES.map((id) => ({ id, driver: 'simulator' as const, model: 'io' as const, poll_interval_ms: 3_600_000 })),
    { id: 'm1', driver: 'simulator' as const, model: 'motor' as const, poll_interval_ms: 3_600_000 },
    ...(modbus.devices ?? []),
  ] as never,
});
const gateway = new Gateway({ config, log: createLogger({ level: 'warn' }) });
const port = await gateway.start();
serveBenchCommands((device, stamp) => {
  gateway.registry.apply(device, { ai01: stamp }, 'poll');
}, port);
process.on('SIGTERM', () => {
  void gateway.stop().then(() => process.exit(0));
});
