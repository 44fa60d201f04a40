/**
 * The top-level `buses:` of the config: one physical line each (a serial port, a TCP
 * connection) that the bus scheduler (scheduler.ts) runs and Modbus devices name in `bus:`.
 * src/config/schema.ts takes `BusesSchema` from here as it takes each driver's descriptor.
 */
import * as v from 'valibot';
import { int, text } from '../../src/config/fields.js';

export const PARITIES = ['none', 'even', 'odd'] as const;

/** Settings every bus has, whatever carries it. */
const busCommon = {
  id: v.pipe(
    v.string('must be a string'),
    v.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, "_", "-" or "."'),
    v.description('Bus id that devices name in `bus:`.'),
  ),
  timeout_ms: v.optional(int(10, 60_000, 'How long to wait for one reply before it counts as a timeout (ms, 10-60000).'), 300),
  retries: v.optional(int(0, 10, 'Extra attempts after a timeout before the poll or write fails (0-10).'), 1),
  quiet_ms: v.optional(
    int(
      0,
      60_000,
      'Silence kept after a timeout before the next request, so a late reply is not taken for the next answer (ms). Default: RTU (also over TCP) timeout_ms + the inter-frame gap (a reply up to twice the timeout is dropped), TCP 0 (replies carry a transaction id).',
    ),
    undefined,
  ),
  backoff_max_ms: v.optional(
    int(100, 3_600_000, 'Longest pause between polls of a unit that does not answer (ms); the pause doubles from its poll interval.'),
    30_000,
  ),
  request_delay_ms: v.optional(
    int(0, 10_000, 'Silence kept between the end of one transaction and the next request (ms), for slow serial converters and units. Default 0.'),
    0,
  ),
  reconnect_max_ms: v.optional(int(100, 600_000, 'Longest pause between attempts to reopen a lost port or connection (ms).'), 10_000),
  max_gap: v.optional(
    int(0, 124, 'The read planner merges points into one request across unused gaps of up to this many registers (bits: x16).'),
    8,
  ),
};

/** A serial port's settings; RTU and ASCII differ only in their usual baud rate and data bits. */
function serialLine(baud: number, dataBits: 7 | 8) {
  return {
    port: text('Serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...'),
    baud: v.optional(int(300, 4_000_000, 'Baud rate (bit/s).'), baud),
    parity: v.optional(v.picklist(PARITIES, `must be one of ${PARITIES.join(', ')}`), 'even'),
    data_bits: v.optional(v.picklist([7, 8] as const, 'must be 7 or 8'), dataBits),
    stop_bits: v.optional(v.picklist([1, 2] as const, 'must be 1 or 2'), 1),
  };
}

export const RtuBusSchema = v.strictObject(
  {
    ...busCommon,
    kind: v.literal('rtu'),
    ...serialLine(19_200, 8),
  },
  'unknown setting',
);

/** Modbus ASCII on a serial port: frames as hexadecimal text, most often 7 data bits. */
export const AsciiBusSchema = v.strictObject(
  {
    ...busCommon,
    kind: v.literal('ascii'),
    ...serialLine(9600, 7),
  },
  'unknown setting',
);

export const TcpBusSchema = v.strictObject(
  {
    ...busCommon,
    kind: v.literal('tcp'),
    host: text('Host name or IP address of the Modbus TCP server or gateway.'),
    port: v.optional(int(1, 65535, 'TCP port (502 is the Modbus standard).'), 502),
  },
  'unknown setting',
);

/**
 * RTU frames over a TCP connection: the transparent serial servers (RS-485-to-Ethernet boxes)
 * that pass bytes through without turning them into Modbus TCP.
 */
export const RtuOverTcpBusSchema = v.strictObject(
  {
    ...busCommon,
    kind: v.literal('rtu_over_tcp'),
    host: text('Host name or IP address of the serial server.'),
    port: int(1, 65535, 'TCP port the serial server passes to its RS-485 port (often 4001, 8899 or 502).'),
  },
  'unknown setting',
);

export const BusSchema = v.variant('kind', [RtuBusSchema, TcpBusSchema, RtuOverTcpBusSchema, AsciiBusSchema], 'kind must be one of: rtu, tcp, rtu_over_tcp, ascii');

/** The `buses:` list: none by default (only Modbus devices need one). */
export const BusesSchema = v.optional(v.array(BusSchema, 'must be a list of buses (Modbus RTU serial lines or Modbus TCP connections)'), []);

export type BusConfig = v.InferOutput<typeof BusSchema>;
export type RtuBusConfig = v.InferOutput<typeof RtuBusSchema>;
export type TcpBusConfig = v.InferOutput<typeof TcpBusSchema>;
export type RtuOverTcpBusConfig = v.InferOutput<typeof RtuOverTcpBusSchema>;
