/**
 * `mgw modbus` through the running gateway: when the daemon holds the line, the CLI cannot open
 * it, so its requests go to the gateway's REST API (src/server/modbus-admin.ts, role admin) and
 * the bus's scheduler runs them between the polls. Errors become the same CliErrors the CLI's
 * own connection throws, so read, write, info and scan behave the same either way.
 */
import { exitForCode } from '../../protocol/errors.js';
import { networkReason, restRequest } from '../../protocol/rest.js';
import { CliError, EXIT } from '../exit.js';
import type { Table } from './modbus-address.js';
import { widthOf } from './modbus-codec.js';
import { ModbusExceptionError, NoAnswerError, type CommissioningLink, type TypedWrite, type WriteOutcome } from './modbus-link.js';

export interface GatewayBus {
  id: string;
  kind: string;
  port?: string;
  host?: string;
  tcp_port?: number;
  held: boolean;
  link_up: boolean;
  devices: { id: string; unit: number }[];
}

export interface GatewayTarget {
  url: string;
  token?: string | undefined;
}

/** The gateway's Modbus buses, or why it could not say (undefined: nothing answers at the URL). */
export async function gatewayBuses(g: GatewayTarget, timeoutMs: number): Promise<{ buses: GatewayBus[] } | { refused: string } | undefined> {
  const r = await restRequest<{ buses: GatewayBus[] }>({ method: 'GET', path: '/api/v1/modbus', base: g.url, token: g.token, timeoutMs });
  if (r.kind === 'network' || r.kind === 'not_json') return undefined;
  if (r.kind === 'error') return { refused: `${r.code}: ${r.message ?? r.statusText}` };
  return { buses: Array.isArray(r.json?.buses) ? r.json.buses : [] };
}

export class GatewayLink implements CommissioningLink {
  readonly label: string;

  constructor(
    private readonly g: GatewayTarget,
    readonly bus: GatewayBus,
    private readonly timing: { timeoutMs: number; tries: number },
  ) {
    const where = bus.port ?? `${bus.host}:${bus.tcp_port}`;
    this.label = `bus ${bus.id} (${where}) of the gateway at ${g.url}`;
  }

  async read(unit: number, table: Table, address: number, count: number, what: string, tries = this.timing.tries): Promise<number[] | boolean[]> {
    const r = await this.post<{ values: number[] | boolean[] }>('read', { unit, table, address, count, timeout_ms: this.timing.timeoutMs, tries }, unit, what, tries);
    return r.values;
  }

  async write(w: TypedWrite): Promise<WriteOutcome> {
    const body = {
      unit: w.unit,
      table: w.table,
      address: w.address,
      type: w.type,
      byte_order: w.layout.byteOrder,
      word_order: w.layout.wordOrder,
      ...(w.type === 'string' ? { length: widthOf('string', w.layout) } : {}),
      values: w.values,
      function: w.function,
      timeout_ms: this.timing.timeoutMs,
      tries: this.timing.tries,
    };
    const r = await this.post<{ function_code: number; read_back?: number[] }>('write', body, w.unit, w.what, this.timing.tries);
    return { functionCode: r.function_code, readBack: r.read_back };
  }

  async identify(unit: number, what: string): Promise<Record<number, string>> {
    const r = await this.post<{ objects: Record<string, string> }>('identify', { unit, timeout_ms: this.timing.timeoutMs, tries: this.timing.tries }, unit, what, this.timing.tries);
    return Object.fromEntries(Object.entries(r.objects).map(([k, v]) => [Number(k), v]));
  }

  async stop(): Promise<void> {}

  private async post<T>(action: string, body: unknown, unit: number, what: string, tries: number): Promise<T> {
    // The request waits for a gap between the polls, then for every try: give it room.
    const timeoutMs = 30_000 + 3 * tries * this.timing.timeoutMs;
    const r = await restRequest<T>({ method: 'POST', path: `/api/v1/admin/modbus/${encodeURIComponent(this.bus.id)}/${action}`, base: this.g.url, token: this.g.token, body, timeoutMs });
    switch (r.kind) {
      case 'ok':
        return r.json;
      case 'network':
        throw new CliError(`lost the gateway at ${this.g.url} during ${what}: ${r.timedOut ? 'no answer in time' : networkReason(r.cause)}`, EXIT.unavailable);
      case 'not_json':
        throw new CliError(`${this.g.url} answered ${r.status} with something that is not JSON: is it a machine-gateway?`, EXIT.unavailable);
      case 'error': {
        const code = r.details['exception_code'];
        if (r.code === 'modbus_exception' && typeof code === 'number') throw new ModbusExceptionError(unit, code, what, this.label);
        if (r.code === 'unit_timeout') {
          throw new NoAnswerError(unit, `no answer from unit ${unit} on ${this.label} after ${tries} ${tries === 1 ? 'try' : 'tries'} (timeout ${this.timing.timeoutMs} ms): check the unit ID`);
        }
        throw new CliError(`${r.code}: ${r.message ?? r.statusText}`, exitForCode(r.code));
      }
    }
  }
}
