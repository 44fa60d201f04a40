/**
 * Fixtures for line-protocol tests: a real PTY pair made by socat, and a peer process (Python,
 * test/integration/line_peer.py) that plays the device on the far end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const PEER = fileURLToPath(new URL('./line_peer.py', import.meta.url));

/** Polls a condition until it holds or the deadline passes (no fixed sleeps). */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface PtyPair {
  /** The end the gateway opens. */
  driverEnd: string;
  /** The end the peer opens. */
  peerEnd: string;
  pid: number;
  /** TERM by PID (KILL would leave the links behind) and wait for the links to go. */
  stop(): Promise<void>;
}

export async function ptyPair(driverEnd: string, peerEnd: string, options: { blockSize?: number } = {}): Promise<PtyPair> {
  const args = ['-d', '-d', ...(options.blockSize ? ['-b', String(options.blockSize)] : []), `pty,raw,echo=0,link=${driverEnd}`, `pty,raw,echo=0,link=${peerEnd}`];
  const proc = spawn('socat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let exited = false;
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<void>((resolve) => proc.once('exit', () => ((exited = true), resolve())));
  await waitFor(`socat links ${driverEnd} and ${peerEnd} (${stderr})`, () => (exited ? undefined : existsSync(driverEnd) && existsSync(peerEnd)));
  return {
    driverEnd,
    peerEnd,
    pid: proc.pid!,
    async stop() {
      if (!exited) process.kill(proc.pid!, 'SIGTERM');
      await exit;
      await waitFor('socat links to be removed', () => !existsSync(driverEnd) && !existsSync(peerEnd));
    },
  };
}

/** The simulated device on the far end of a PTY; see line_peer.py for its protocol. */
export class LinePeer {
  readonly rx: string[] = [];
  private done = 0;
  private dones = 0;
  private readonly exit: Promise<void>;

  private constructor(private readonly proc: ChildProcess) {
    this.exit = new Promise((resolve) => proc.once('exit', () => resolve()));
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (l) => {
      if (l.startsWith('RX ')) this.rx.push(l.slice(3));
      else if (l === 'DONE') this.dones++;
    });
  }

  static async start(path: string): Promise<LinePeer> {
    const proc = spawn('python3', [PEER, path], { stdio: ['pipe', 'pipe', 'inherit'] });
    const peer = new LinePeer(proc);
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: proc.stdout! });
      lines.once('line', (l) => (l === 'READY' ? resolve() : reject(new Error(`peer said ${l}`))));
      proc.once('exit', (code) => reject(new Error(`peer exited with ${code}`)));
    });
    return peer;
  }

  /** Sends a control command to the peer and waits until it carried it out. */
  async command(cmd: { raw?: string; chunk?: number; answer?: boolean; speed?: number }): Promise<void> {
    const want = ++this.done;
    this.proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
    await waitFor(`peer to carry out ${JSON.stringify(cmd).slice(0, 60)}`, () => this.dones >= want);
  }

  emit(raw: string, chunk?: number): Promise<void> {
    return this.command(chunk === undefined ? { raw } : { raw, chunk });
  }

  waitRx(pred: (line: string) => boolean, what: string): Promise<string> {
    return waitFor(`the peer to receive ${what}; got ${JSON.stringify(this.rx.slice(-5))}`, () => this.rx.find(pred));
  }

  async stop(): Promise<void> {
    this.proc.stdin!.end();
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    await this.exit;
  }
}
