/**
 * A real Mosquitto broker for the northbound tests: its own config file on a free port, an
 * optional password file and TLS listener (self-signed CA made with openssl), stopped and killed
 * by PID, restarted on the same ports for the fault tests. Ready when it logs that it listens.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { closedPort } from '../cli/helpers.js';

export interface BrokerOptions {
  /** user -> password; anonymous clients are refused when set. */
  users?: Record<string, string>;
  tls?: boolean;
  /**
   * Subscriptions (literal filters) the broker refuses with "not authorized" in the SUBACK, as an
   * ACL would: mosquitto's dynamic security plugin (its plain acl_file grants every subscription
   * and only filters delivery).
   */
  refuseSubscriptions?: string[];
}

/** Where Debian's mosquitto package puts its dynamic security plugin on this machine. */
function dynamicSecurityPlugin(): string {
  const candidates = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf'].map((t) => `/usr/lib/${t}/mosquitto_dynamic_security.so`);
  const found = candidates.find((f) => existsSync(f));
  if (found === undefined) throw new Error(`mosquitto's dynamic security plugin is missing (looked for ${candidates.join(', ')}); test/setup.sh installs the mosquitto package`);
  return found;
}

export class Mosquitto {
  readonly dir: string;
  port = 0;
  tlsPort = 0;
  /** PEM CA, client cert and key (with tls). */
  ca = '';
  private proc: ChildProcess | undefined;
  log = '';

  constructor(private readonly options: BrokerOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'mgw-mosq-'));
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get tlsUrl(): string {
    return `mqtts://localhost:${this.tlsPort}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) {
      this.port = await closedPort();
      if (this.options.tls) {
        this.tlsPort = await closedPort();
        this.makeCerts();
      }
      this.writeConfig();
    }
    const proc = spawn('mosquitto', ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.log = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        this.log += d.toString();
        // Logged once every listener is open.
        if (/mosquitto version \S+ running/.test(this.log)) resolve();
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}: ${this.log}`)));
      proc.once('error', reject);
    });
  }

  /** SIGKILL: the broker vanishes without a word, as a power cut would take it. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  async restart(): Promise<void> {
    await this.start();
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(sig);
    });
    this.proc = undefined;
  }

  private writeConfig(): void {
    // Started as root, mosquitto would switch to its own user, who cannot read this private folder.
    // max_queued_messages 0: no limit, so a burst of test commands to a busy gateway is queued, not dropped.
    const lines = [`user ${userInfo().username}`, 'persistence false', 'max_queued_messages 0', 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information', 'per_listener_settings true', `listener ${this.port} 127.0.0.1`];
    const auth = () => {
      if (this.options.users === undefined) lines.push('allow_anonymous true');
      else {
        lines.push('allow_anonymous false', `password_file ${join(this.dir, 'passwd')}`);
      }
      if (this.options.refuseSubscriptions !== undefined) {
        lines.push(`plugin ${dynamicSecurityPlugin()}`, `plugin_opt_config_file ${join(this.dir, 'dynsec.json')}`);
      }
    };
    if (this.options.refuseSubscriptions !== undefined) {
      const acls = this.options.refuseSubscriptions.map((topic) => ({ acltype: 'subscribeLiteral', topic, priority: 0, allow: false }));
      writeFileSync(
        join(this.dir, 'dynsec.json'),
        JSON.stringify({
          defaultACLAccess: { publishClientSend: true, publishClientReceive: true, subscribe: true, unsubscribe: true },
          clients: [],
          groups: [{ groupname: 'anonymous', roles: [{ rolename: 'refused' }] }],
          roles: [{ rolename: 'refused', acls }],
          anonymousGroup: 'anonymous',
        }),
      );
    }
    auth();
    if (this.options.tls) {
      lines.push(`listener ${this.tlsPort} 127.0.0.1`, `cafile ${join(this.dir, 'ca.pem')}`, `certfile ${join(this.dir, 'server.pem')}`, `keyfile ${join(this.dir, 'server.key')}`, 'require_certificate false');
      auth();
    }
    if (this.options.users !== undefined) {
      const file = join(this.dir, 'passwd');
      writeFileSync(file, '');
      for (const [user, pass] of Object.entries(this.options.users)) execFileSync('mosquitto_passwd', ['-b', file, user, pass], { stdio: 'ignore' });
    }
    writeFileSync(join(this.dir, 'mosquitto.conf'), `${lines.join('\n')}\n`);
  }

  private makeCerts(): void {
    const d = (f: string) => join(this.dir, f);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=mgw test CA', '-keyout', d('ca.key'), '-out', d('ca.pem'));
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', d('server.key'), '-out', d('server.csr'));
    writeFileSync(d('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', d('server.csr'), '-CA', d('ca.pem'), '-CAkey', d('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', d('ext.cnf'), '-out', d('server.pem'));
    this.ca = d('ca.pem');
  }
}
