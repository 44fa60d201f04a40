import type { Command } from 'commander';
import WebSocket from 'ws';
import { dim, formatValue, green, red } from '../output.js';
import { print } from './devices.js';
import type { GlobalOptions } from '../main.js';

export function registerWatch(program: Command, globals: () => GlobalOptions): void {
  program
    .command('watch')
    .description('stream live updates (all devices, or the ones named); reconnects by itself')
    .argument('[devices...]', 'device ids (default: all)')
    .action(async (ids: string[]) => {
      const g = globals();
      await watch(g, ids);
    });
}

function wsUrl(httpUrl: string, ids: string[]): string {
  const u = new URL('ws/devices', httpUrl.endsWith('/') ? httpUrl : `${httpUrl}/`);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.searchParams.set('client_id', `mgw-watch-${process.pid}`);
  if (ids.length > 0) u.searchParams.set('devices', ids.join(','));
  return u.toString();
}

function watch(g: GlobalOptions, ids: string[]): Promise<never> {
  let attempt = 0;
  const url = wsUrl(g.url, ids);
  const say = (s: string) => (g.json ? undefined : process.stderr.write(`${dim(s)}\n`));
  const connect = () => {
    const ws = new WebSocket(url, { headers: g.token ? { Authorization: `Bearer ${g.token}` } : {} });
    ws.on('open', () => {
      attempt = 0;
      say(`connected to ${g.url}`);
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Record<string, unknown>;
      if (g.json) return print(JSON.stringify(msg));
      if (msg['type'] === 'connection_established') {
        for (const d of msg['devices'] as { device_id: string; state: Record<string, unknown>; online: boolean }[]) {
          print(`${d.device_id}  ${d.online ? green('online') : red('offline')}  ${Object.entries(d.state).map(([k, v]) => `${k}=${formatValue(v)}`).join('  ')}`);
        }
      } else if (msg['type'] === 'device_update') {
        const data = msg['data'] as { new_state: Record<string, unknown>; action: string };
        const t = new Date((msg['timestamp'] as number) * 1000).toISOString().slice(11, 23);
        print(`${t}  ${msg['device_id'] as string}  ${Object.entries(data.new_state).map(([k, v]) => `${k}=${formatValue(v)}`).join('  ')}  ${dim(`${data.action} #${String(msg['seq'])}`)}`);
      } else if (msg['type'] === 'error') {
        process.stderr.write(`${red(`${msg['error_code'] as string}: ${msg['message'] as string}`)}\n`);
      }
    });
    ws.on('close', () => {
      const delay = Math.min(10_000, 250 * 2 ** attempt++) * (0.5 + Math.random() / 2);
      say(`disconnected; reconnecting in ${(delay / 1000).toFixed(1)} s`);
      setTimeout(connect, delay);
    });
    ws.on('error', (err) => say(`connection error: ${err.message}`));
  };
  connect();
  return new Promise<never>(() => undefined);
}
