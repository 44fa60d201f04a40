// A hostile WebSocket client in its own process: sends one message as fast as the socket takes
// it, and reports on stdout (one JSON line per event) what it sent, received and how it ended.
import WebSocket from 'ws';

const [url, countText, message] = process.argv.slice(2);
const count = Number(countText);
const ws = new WebSocket(url);
let received = 0;
let sent = 0;
const report = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
ws.on('message', () => received++);
ws.on('error', (err) => report({ error: String(err) }));
ws.on('close', (code) => {
  report({ closed: code, sent, received });
  process.exit(0);
});
ws.on('open', async () => {
  report({ open: true });
  while (sent < count && ws.readyState === WebSocket.OPEN) {
    for (let i = 0; i < 200 && sent < count; i++, sent++) ws.send(message);
    // Keep our own send buffer bounded: the flood is about the server, not this process's memory.
    while (ws.bufferedAmount > 1 << 20 && ws.readyState === WebSocket.OPEN) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setImmediate(r));
  }
  report({ done: true, sent, received });
  ws.close();
});
