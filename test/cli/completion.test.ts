/**
 * `mgw completion`: the generated scripts run in real bash, zsh and fish, and device ids come
 * from a running gateway.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { peers } from '../helpers/peers.js';
import { CLI, closedPort, mgw } from './helpers.js';

const COMPLETE = CLI.replace(/main\.js$/, 'complete-devices.js');

const run = promisify(execFile);

describe.skipIf(!peers('bash', 'zsh', 'fish'))('mgw completion', () => {
  let gw: RunningGateway;
  let dir: string;
  const script = (shell: string) => join(dir, `mgw.${shell}`);

  beforeAll(async () => {
    gw = await startGateway();
    dir = mkdtempSync(join(tmpdir(), 'mgw-cli-completion-'));
    for (const shell of ['bash', 'zsh', 'fish']) {
      const r = await mgw(['completion', shell]);
      expect(r.code).toBe(0);
      writeFileSync(script(shell), r.stdout);
    }
  });
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What bash offers for the words typed so far (the last one is being completed). */
  const bash = async (words: string[], env: Record<string, string> = {}) => {
    const program = `source ${script('bash')}
mgw() { ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"; }
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_mgw; printf '%s\\n' "\${COMPREPLY[@]}"`;
    // A generous completion timeout: this machine is shared and slow; the short default is tested below.
    const { stdout } = await run('bash', ['-c', program], { env: { ...process.env, MGW_URL: gw.url, MGW_COMPLETE_TIMEOUT_MS: '5000', ...env } });
    return stdout.split('\n').filter(Boolean);
  };

  it('bash completes commands, subcommands, options and option values', async () => {
    expect(await bash(['mgw', 'mod'])).toEqual(['modbus']);
    expect(await bash(['mgw', 'modbus', ''])).toEqual(['read', 'write', 'info', 'scan']);
    expect(await bash(['mgw', 'modbus', 'read', '--word'])).toEqual(['--word-order']);
    expect(await bash(['mgw', 'modbus', 'read', '--unit', '3', '--type', 'in'])).toEqual(['int16', 'int32', 'int64']);
    expect(await bash(['mgw', 'line', 'send', '--parity', ''])).toEqual(['none', 'even', 'odd']);
    expect(await bash(['mgw', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
  });

  it('bash completes device ids from the running gateway, also at the --url typed on the line', async () => {
    expect(await bash(['mgw', 'get', ''])).toEqual(['motor_01', 'motor_02', 'sensor_01', 'sensor_02']);
    const dead = `http://127.0.0.1:${await closedPort()}`;
    expect(await bash(['mgw', '--url', gw.url, 'set', 'sen'], { MGW_URL: dead })).toEqual(['sensor_01', 'sensor_02']);
    expect(await bash(['mgw', 'get', ''], { MGW_URL: dead })).toEqual([]);
    // After the device id, set takes point=value pairs: its writable points, no more device ids.
    expect(await bash(['mgw', 'set', 'motor_01', ''])).toEqual(['speed=', 'running=']);
  });

  it('bash offers the writable points of the device after `set DEVICE`, also at the --url typed on the line', async () => {
    expect(await bash(['mgw', 'set', 'motor_01', 'sp'])).toEqual(['speed=']);
    expect(await bash(['mgw', 'set', 'motor_01', 'speed=1500', 'ru'])).toEqual(['running=']);
    const dead = `http://127.0.0.1:${await closedPort()}`;
    expect(await bash(['mgw', '--url', gw.url, 'set', 'motor_02', 'sp'], { MGW_URL: dead })).toEqual(['speed=']);
    // Sensors have no writable point; an unknown device has none either.
    expect(await bash(['mgw', 'set', 'sensor_01', ''])).toEqual([]);
    expect(await bash(['mgw', 'set', 'nodev', ''])).toEqual([]);
    // bash splits "speed=" at the "=": the value is not completed with point names.
    expect(await bash(['mgw', 'set', 'motor_01', 'speed', '=', ''])).toEqual([]);
  });

  it('bash offers option values by what the option means under each command', async () => {
    // serve --port is a TCP port: no serial devices, no files.
    expect(await bash(['mgw', 'serve', '--port', ''])).toEqual([]);
    // modbus read -c is a count, serve -c a file.
    expect(await bash(['mgw', 'modbus', 'read', '-c', ''])).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'mgw-cli-completion-files-'));
    try {
      writeFileSync(join(dir, 'gateway.yaml'), 'devices: []\n');
      expect(await bash(['mgw', 'serve', '-c', `${dir}/gat`])).toEqual([`${dir}/gateway.yaml`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await bash(['mgw', 'simulate', 'line', '--model', ''])).toEqual(['motor', 'sensor']);
    // Another option's value is not a device id.
    expect(await bash(['mgw', 'watch', '--count', ''])).toEqual([]);
  });

  it('bash lists each option once: no second --help -h from the global options', async () => {
    for (const words of [['mgw', 'get', '-'], ['mgw', 'serve', '-'], ['mgw', 'modbus', 'scan', '-'], ['mgw', '-']]) {
      const offered = await bash(words);
      expect(offered.length, words.join(' ')).toBeGreaterThan(2);
      expect(offered.length, `${words.join(' ')}: ${offered.join(' ')}`).toBe(new Set(offered).size);
    }
    expect(await bash(['mgw', 'get', '-'])).toEqual(['--help', '-h', '--url', '--token', '--json']);
  });

  it('zsh loads the script through bashcompinit and gets the same answers', async () => {
    // zsh filters the candidates by the typed prefix itself (compadd), so ask for whole lists.
    const { stdout } = await run('zsh', ['-f', '-c', `source ${script('zsh')}; print -r -- $_comps[mgw]; emulate sh -c 'COMP_WORDS=(mgw modbus ""); COMP_CWORD=2; _mgw; echo "\${COMPREPLY[*]}"; COMP_WORDS=(mgw modbus read --type ""); COMP_CWORD=4; _mgw; echo "\${COMPREPLY[*]}"'`]);
    expect(stdout.split('\n')).toEqual(['_bash_complete -F _mgw', 'read write info scan', 'int16 uint16 int32 uint32 float32 int64 uint64 float64 bcd16 bcd32 bool', '']);
  });

  it('fish completes subcommands, option values and device ids', async () => {
    const fish = async (line: string, url = gw.url) => {
      const { stdout } = await run('fish', ['-c', `function mgw; ${process.execPath} ${CLI} $argv; end; source ${script('fish')}; complete -C ${JSON.stringify(line)}`], {
        env: { ...process.env, MGW_URL: url, MGW_COMPLETE_TIMEOUT_MS: '5000' },
      });
      return stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
    };
    expect(await fish('mgw modbus ')).toEqual(['info', 'read', 'scan', 'write']);
    expect(await fish('mgw modbus write --byte-order ')).toEqual(['big', 'little']);
    expect(await fish('mgw get motor')).toEqual(['motor_01', 'motor_02']);
    const dead = `http://127.0.0.1:${await closedPort()}`;
    expect(await fish(`mgw --url ${gw.url} set sensor`, dead)).toEqual(['sensor_01', 'sensor_02']);
    expect(await fish('mgw get motor', dead)).toEqual([]);
  });

  it('fish offers the points of the device after `set DEVICE`, the right values per command, and each option once', async () => {
    const fish = async (line: string) => {
      const { stdout } = await run('fish', ['-c', `function mgw; ${process.execPath} ${CLI} $argv; end; source ${script('fish')}; complete -C ${JSON.stringify(line)}`], {
        env: { ...process.env, MGW_URL: gw.url, MGW_COMPLETE_TIMEOUT_MS: '5000' },
      });
      return stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
    };
    expect(await fish('mgw set motor_01 sp')).toEqual(['speed=']);
    expect((await fish('mgw set motor_01 ')).sort()).toEqual(['running=', 'speed=']);
    expect(await fish('mgw serve --port ')).toEqual([]);
    const helps = (await fish('mgw get -')).filter((w) => w === '--help' || w === '-h');
    expect(helps.sort()).toEqual(['--help', '-h']);
  });

  describe('a gateway that accepts but never answers', () => {
    let silent: Server;
    const sockets: Socket[] = [];
    beforeAll(async () => {
      silent = createServer((s) => sockets.push(s));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    });

    it('costs Tab only the short timeout and offers nothing', async () => {
      const { port } = silent.address() as { port: number };
      // The default REST timeout is 10 s; the lookup must give up long before these deadlines.
      const r = await mgw(['--url', `http://127.0.0.1:${port}`, '__complete-devices'], {}, 8000);
      expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
      const { stdout, stderr } = await run(process.execPath, [COMPLETE, '--url', `http://127.0.0.1:${port}`], { timeout: 8000 });
      expect({ stdout, stderr }).toEqual({ stdout: '', stderr: '' });
    });
  });

  it('an unknown shell is a usage error, exit 64', async () => {
    const r = await mgw(['completion', 'tcsh']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('expected bash, zsh or fish');
  });
});
