/**
 * Bench entry point: the real Gateway (registry, history, uWS server with app.publish per
 * device topic) on the simulator, with the bench source applying stamped diffs to the registry
 * exactly as a driver's report would. Nothing here is on a production code path.
 *
 * argv: devices-model (io | motor) backpressure-bytes
 */
import { validateConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/platform/logger.js';
import { Gateway } from '../../../src/gateway.js';
import { BENCH_DEVICES, serveBenchCommands } from './source.js';

const backpressure = Number(process.argv[2] ?? 1_048_576);
const config = validateConfig({
  server: { port: 0, max_connections: 5000, max_backpressure_bytes: backpressure, heartbeat_s: 0 },
  log: { level: 'warn' },
  // The control round trip sends writes back to back: measure the path, not the rate limit.
  limits: { rest_writes_per_s: 1_000_000, rest_write_burst: 1_000_000 },
  devices: [
    // The simulator polls once at start and then hourly: the bench source is the only writer.
    ...BENCH_DEVICES.map((id) => ({ id, driver: 'simulator' as const, model: 'io' as const, poll_interval_ms: 3_600_000 })),
    { id: 'm1', driver: 'simulator' as const, model: 'motor' as const, poll_interval_ms: 3_600_000 },
  ],
});
const gateway = new Gateway({ config, log: createLogger({ level: 'warn' }) });
const port = await gateway.start();
serveBenchCommands((device, stamp) => {
  gateway.registry.apply(device, { ai01: stamp }, 'poll');
}, port);
process.on('SIGTERM', () => {
  void gateway.stop().then(() => process.exit(0));
});
