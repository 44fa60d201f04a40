/**
 * The ceiling: uWS.js with nothing of the gateway in between. Same topics, same message shape
 * and size, one JSON.stringify and one app.publish per diff, per-device seq kept in an array.
 *
 * argv: backpressure-bytes
 */
import { uws } from '../../../src/server/uws.js';
import { BENCH_DEVICES, serveBenchCommands } from './source.js';

const backpressure = Number(process.argv[2] ?? 1_048_576);
const lib = uws();
const app = lib.App();
const ids = [...BENCH_DEVICES, 'm1'];
const seq = new Map<string, number>(ids.map((id) => [id, 1]));
const last = new Map<string, number>(ids.map((id) => [id, 50]));
let connections = 0;

app.ws('/ws/devices', {
  maxPayloadLength: 1024,
  idleTimeout: 0,
  maxBackpressure: backpressure,
  closeOnBackpressureLimit: 1,
  open: (ws) => {
    connections++;
    for (const id of ids) ws.subscribe(id);
    ws.send(
      JSON.stringify({
        type: 'connection_established',
        message: 'Connected to machine-gateway',
        timestamp: Date.now() / 1000,
        total_connections: connections,
        client_id: 'bench',
        devices: ids.map((id) => ({ device_id: id, seq: seq.get(id) })),
      }),
    );
  },
  close: () => {
    connections--;
  },
});

const listen = await new Promise<unknown>((resolve) => app.listen('127.0.0.1', 0, resolve));
if (!listen) throw new Error('bare uWS could not listen');
serveBenchCommands((device, stamp) => {
  const s = seq.get(device)! + 1;
  seq.set(device, s);
  const previous = last.get(device)!;
  last.set(device, stamp);
  app.publish(
    device,
    JSON.stringify({
      type: 'device_update',
      device_id: device,
      data: { device_id: device, device_type: 'io', previous_state: { ai01: previous }, new_state: { ai01: stamp }, changed: true, action: 'poll' },
      timestamp: Date.now() / 1000,
      seq: s,
    }),
    false,
  );
}, lib.us_socket_local_port(listen as never));
process.on('SIGTERM', () => process.exit(0));
