/**
 * The peer: the same protocol on `ws` + node:http, with the same Registry and the same message
 * builders, fanning a diff out with a loop over the subscribed clients (serialised once, as
 * the gateway does). Also answers GET /api/v1/devices/{id} with the same JSON for the HTTP run.
 */
import { createServer } from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';
import { Registry } from '../../../src/core/registry.js';
import { deviceUpdateMessage, deviceView, errorMessage, now, parseClientMessage, reply } from '../../../src/server/protocol.js';
import { packWelcomeDevices } from '../../../src/protocol/welcome.js';
import { IO_POINTS, MOTOR_POINTS, asValues, initialIo, initialMotor } from '../../../drivers/simulator/models.js';
import { BENCH_DEVICES, serveBenchCommands } from './source.js';

const registry = new Registry({ replaySize: 1000 });
BENCH_DEVICES.forEach((id, i) => {
  registry.add({ id, name: id, device_type: 'io', driver: 'simulator', points: IO_POINTS });
  registry.apply(id, asValues(initialIo(i)), 'poll');
});
registry.add({ id: 'm1', name: 'm1', device_type: 'motor', driver: 'simulator', points: MOTOR_POINTS });
registry.apply('m1', asValues(initialMotor(0)), 'poll');

const subscribers = new Map<string, Set<WebSocket>>(registry.ids().map((id) => [id, new Set()]));

const http = createServer((req, res) => {
  const m = /^\/api\/v1\/devices\/([^/?]+)$/.exec(req.url ?? '');
  const snap = m && req.method === 'GET' ? registry.snapshot(decodeURIComponent(m[1]!)) : undefined;
  if (snap === undefined) {
    res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify({ error_code: 'device_not_found', message: 'not found' }));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(deviceView(snap)));
});

const wss = new WebSocketServer({ server: http, path: '/ws/devices', maxPayload: 1024 });
let connections = 0;
wss.on('connection', (ws) => {
  connections++;
  const ids = registry.ids();
  for (const id of ids) subscribers.get(id)!.add(ws);
  ws.send(
    JSON.stringify({
      type: 'connection_established',
      message: 'Connected to machine-gateway',
      timestamp: now(),
      total_connections: connections,
      client_id: 'bench',
      instance: registry.instance,
      // The gateway's welcome: values per device, point metadata once per device type.
      ...packWelcomeDevices(ids.map((id) => deviceView(registry.snapshot(id)!))),
    }),
  );
  ws.on('message', (data) => {
    try {
      const msg = parseClientMessage(JSON.parse(data.toString()));
      if (msg.action === 'ping') ws.send(reply('pong', {}, msg.id));
    } catch {
      ws.send(errorMessage('invalid_message', 'bad message'));
    }
  });
  ws.on('close', () => {
    connections--;
    for (const set of subscribers.values()) set.delete(ws);
  });
});

registry.onDiff((diff) => {
  const text = deviceUpdateMessage(diff);
  for (const ws of subscribers.get(diff.device_id)!) if (ws.readyState === WebSocket.OPEN) ws.send(text);
});

http.listen(0, '127.0.0.1', () => {
  const addr = http.address();
  serveBenchCommands((device, stamp) => {
    registry.apply(device, { ai01: stamp }, 'poll');
  }, typeof addr === 'object' && addr !== null ? addr.port : 0);
});
process.on('SIGTERM', () => process.exit(0));
