/**
 * How `mgw modbus` reaches the line. Only one program can own a serial port, and many Modbus TCP
 * devices take one client at a time, so while the gateway daemon holds the line the CLI goes
 * through it:
 *
 * - `--bus <id>`: through the running gateway at --url (MGW_URL), its bus <id>; an error when
 *   the gateway does not answer.
 * - `--port` / `--host`: the CLI asks the gateway at --url which Modbus buses it holds (a quick
 *   GET /api/v1/modbus). When one is on that serial port (the same device file, links resolved)
 *   or that host and TCP port, the requests go through the gateway. Otherwise, or when nothing
 *   answers at --url, the CLI opens the line itself. A serial port that turns out busy then
 *   gets an error saying which gateway was asked and why it could not help.
 * - `--direct` (also implied by --trace, which shows the CLI's own frames): never ask the
 *   gateway; open the line. With the daemon holding a serial port this fails with "in use".
 *
 * Through the gateway, the bus's own serial settings apply (--baud, --parity, --stop-bits are
 * not used) and the token needs role admin; --timeout and --tries are passed on.
 */
import { realpathSync } from 'node:fs';
import { exitForCode } from '../../protocol/errors.js';
import { CliError, EXIT } from '../exit.js';
import type { GlobalOptions } from '../options.js';
import { GatewayLink, gatewayBuses, type GatewayBus } from './modbus-gateway.js';
import { ModbusLink, PortBusyError, type CommissioningLink, type LinkOptions } from './modbus-link.js';
import type { Target } from './modbus-options.js';

/** How long the CLI waits for the gateway to list its buses before it opens the line itself (ms). */
const ASK_GATEWAY_MS = 2000;

export async function connect(t: Target, g: GlobalOptions): Promise<CommissioningLink> {
  const timing = { timeoutMs: t.timeoutMs, tries: t.tries };
  if (t.bus !== undefined) {
    const listed = await gatewayBuses(g, 10_000);
    if (listed === undefined) throw new CliError(`cannot reach the gateway at ${g.url} for --bus ${t.bus} (is \`mgw serve\` running? see --url)`, EXIT.unavailable);
    if ('refused' in listed) throw new CliError(`the gateway at ${g.url} refused to list its Modbus buses: ${listed.refused} (--token or MGW_TOKEN)`, EXIT.noperm);
    const bus = listed.buses.find((b) => b.id === t.bus);
    if (bus === undefined) {
      const known = listed.buses.map((b) => b.id);
      throw new CliError(`bus_not_found: the gateway at ${g.url} has no Modbus bus ${JSON.stringify(t.bus)} (${known.length > 0 ? `buses: ${known.join(', ')}` : 'it has none'})`, exitForCode('bus_not_found'));
    }
    if (!bus.held) {
      throw new CliError(`bus_not_held: bus ${bus.id} is configured but no device uses it, so the gateway does not open ${where(bus)}: use --port/--host with --direct`, exitForCode('bus_not_held'));
    }
    return new GatewayLink(g, bus, timing);
  }
  const link = t.link!;
  const listed = t.direct ? undefined : await gatewayBuses(g, ASK_GATEWAY_MS);
  if (listed !== undefined && 'buses' in listed) {
    const bus = listed.buses.find((b) => b.held && sameLine(b, link));
    if (bus !== undefined) return new GatewayLink(g, bus, timing);
  }
  const own = new ModbusLink(link);
  try {
    await own.start();
  } catch (err) {
    if (!(err instanceof PortBusyError)) throw err;
    const why = t.direct
      ? 'or leave out --direct to go through the gateway that holds it'
      : listed === undefined
        ? `no gateway answers at ${g.url} to go through instead (see --url)`
        : 'refused' in listed
          ? `the gateway at ${g.url} refused to list its buses (${listed.refused}): give an admin token (--token or MGW_TOKEN) to go through it`
          : `the gateway at ${g.url} holds no bus on it: another program has it`;
    throw new CliError(`${err.message}; ${why}`, EXIT.unavailable);
  }
  return own;
}

function where(b: GatewayBus): string {
  return b.port ?? `${b.host}:${b.tcp_port}`;
}

/** The gateway's bus is on the line given by --port or --host. */
function sameLine(b: GatewayBus, link: LinkOptions): boolean {
  if (link.port !== undefined) return b.port !== undefined && canonical(b.port) === canonical(link.port);
  return b.host !== undefined && b.host.toLowerCase() === link.host!.toLowerCase() && b.tcp_port === link.tcpPort;
}

/** /dev/serial/by-id/... and /dev/ttyUSB0 name the same port: compare the files they resolve to. */
function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
