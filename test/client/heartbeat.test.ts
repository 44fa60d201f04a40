/**
 * A connection that stays open but carries nothing (a dead NAT entry, a hung gateway) is
 * detected by the client's own ping and replaced.
 */
import { createServer, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { GatewayClient, type ConnectionEvent, type WebSocketConstructor } from '../../src/client/index.js';

let server: WebSocketServer | undefined;
let client: GatewayClient | undefined;
afterEach(async () => {
  client?.stop();
  for (const s of server?.clients ?? []) s.terminate();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = client = undefined;
});

it('drops a connection that stops answering and connects again', async () => {
  // A peer that welcomes the client and then never says another word.
  server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
  let accepted = 0;
  const heardPing: boolean[] = [];
  server.on('connection', (ws) => {
    accepted++;
    ws.send(JSON.stringify({ type: 'connection_established', message: 'hi', timestamp: 0, total_connections: 1, instance: 'x', devices: [] }));
    ws.on('message', (m) => heardPing.push(JSON.parse(m.toString()).action === 'ping'));
  });
  const { port } = server.address() as { port: number };
  client = new GatewayClient({
    url: `http://127.0.0.1:${port}`,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    heartbeatMs: 100,
    backoff: { initialMs: 10, maxMs: 10 },
  });
  const events: ConnectionEvent[] = [];
  const secondConnect = new Promise<void>((resolve) =>
    client!.on('connection', (e) => {
      events.push(e);
      if (e.state === 'connected' && events.filter((x) => x.state === 'connected').length === 2) resolve();
    }),
  );
  client.start();
  await secondConnect;
  expect(accepted).toBe(2);
  expect(heardPing).toContain(true);
  const drop = events.find((e) => e.state === 'reconnecting')!;
  expect(drop.code).toBe(4000);
  expect(drop.reason).toMatch(/no answer for 200 ms/);
});

it('gives up on an attempt that gets no welcome in time and tries again', async () => {
  // A host that accepts TCP and then says nothing (no upgrade answer).
  const silent = createServer(() => undefined);
  const held: Socket[] = [];
  silent.on('connection', (s) => held.push(s));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
  const { port } = silent.address() as { port: number };
  try {
    client = new GatewayClient({
      url: `http://127.0.0.1:${port}`,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      connectTimeoutMs: 100,
      backoff: { initialMs: 10, maxMs: 10 },
    });
    const drops: ConnectionEvent[] = [];
    const twice = new Promise<void>((resolve) =>
      client!.on('connection', (e) => {
        if (e.state === 'reconnecting') drops.push(e);
        if (drops.length === 2) resolve();
      }),
    );
    client.start();
    await twice;
    expect(drops[0]!.reason).toBe('no welcome within 100 ms');
    expect(held.length).toBeGreaterThanOrEqual(2);
  } finally {
    client?.stop();
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});
