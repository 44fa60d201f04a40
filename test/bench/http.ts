/**
 * HTTP: GET /api/v1/devices/{id} requests/s with wrk (on core 1) against the gateway and
 * against node:http answering the same JSON from the same Registry (core 0).
 */
import { spawn } from 'node:child_process';
import { setRealtime, spawnScript, benchNice } from './lib/spawn.js';

export type HttpPeer = 'gateway' | 'node';

const SCRIPT: Record<HttpPeer, string> = { gateway: 'servers/gateway', node: 'servers/ws-node' };
export const HTTP_PEERS: Record<HttpPeer, string> = {
  gateway: 'gateway (uWS)',
  node: 'node:http, same Registry and JSON',
};

export interface HttpResult {
  peer: HttpPeer;
  requestsPerS: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  errors: number;
}

export async function httpOnce(peer: HttpPeer, opts: { seconds: number; warmupS: number; connections: number }): Promise<HttpResult> {
  const server = spawnScript(0, SCRIPT[peer]);
  try {
    const { port } = await server.next<{ port: number }>('ready', 30_000);
    const url = `http://127.0.0.1:${port}/api/v1/devices/b0`;
    // A short unmeasured run first: JIT and connection setup.
    await wrk(url, opts.warmupS, opts.connections, server.pid);
    const out = await wrk(url, opts.seconds, opts.connections, server.pid);
    return { peer, ...parseWrk(out) };
  } finally {
    await server.stop();
  }
}

function wrk(url: string, seconds: number, connections: number, serverPid: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = ['-n', String(benchNice), 'taskset', '-c', '1', 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url];
    const p = spawn('nice', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', (err) => reject(new Error(`cannot run wrk (apt-get install wrk): ${err.message}`)));
    try {
      // wrk's threads are all real-time too: otherwise the neighbours' load sets its figures.
      setRealtime([p.pid!], true, true);
      setRealtime([serverPid], true);
    } catch (err) {
      p.kill();
      reject(err as Error);
      return;
    }
    p.on('exit', (code) => {
      setRealtime([serverPid], false);
      if (code === 0) resolve(out);
      else reject(new Error(`wrk exited with ${code}: ${out.trim()}`));
    });
  });
}

function toMs(value: string, unit: string): number {
  const v = Number(value);
  return unit === 'us' ? v / 1000 : unit === 's' ? v * 1000 : v;
}

export function parseWrk(out: string): Omit<HttpResult, 'peer'> {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p50 = /\s50%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  if (rps === null || p50 === null || p99 === null) throw new Error(`unexpected wrk output:\n${out}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = Number(non2xx?.[1] ?? 0) + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { requestsPerS: Number(rps[1]), latencyP50Ms: toMs(p50[1]!, p50[2]!), latencyP99Ms: toMs(p99[1]!, p99[2]!), errors };
}
