/**
 * Config of Modbus buses (one physical line each: a serial port or a TCP connection) and of the
 * devices (units) on them. Addresses are zero-based PDU addresses as they travel on the wire:
 * holding register "40001" in a vendor manual is `table: holding, address: 0`.
 */
import * as v from 'valibot';
import { deviceCommon, int, num, pointConfirm, pointNameRule, text } from '../../src/config/fields.js';
import { PROFILE_NAMES } from '../profiles/index.js';

export const TABLES = ['coil', 'discrete', 'input', 'holding'] as const;
export const POINT_TYPES = [
  'bool',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'float32',
  'int64',
  'uint64',
  'float64',
  'int8',
  'uint8',
  'bcd16',
  'bcd32',
  'string',
  'bit',
] as const;
export const TRIMS = ['right', 'both', 'none'] as const;
export const ORDERS = ['big', 'little'] as const;
export const PARITIES = ['none', 'even', 'odd'] as const;
export const WRITE_FUNCTIONS = [6, 16] as const;
export const BIT_WRITES = ['mask', 'read_modify_write'] as const;

/**
 * How writes travel. Many drives and PLCs refuse the single-item functions (FC5/FC6) and take
 * only the multiple ones (FC15/FC16), even for one register or coil.
 */
const writeFunction = v.pipe(
  v.picklist(WRITE_FUNCTIONS, 'must be 6 or 16'),
  v.description('6: one register by FC6 and one coil by FC5 (several adjacent ones by FC16/FC15); 16: always FC16 for registers and FC15 for coils. Default 6.'),
);
const bitWrite = v.pipe(
  v.picklist(BIT_WRITES, `must be one of ${BIT_WRITES.join(', ')}`),
  v.description(
    'How a `bit` point is written: mask (FC22 mask write register, atomic; a unit answering exception 01 to it is then written by read_modify_write) or read_modify_write (read the register, change the bit, write it back). Default mask.',
  ),
);

export type Table = (typeof TABLES)[number];
export type ModbusPointType = (typeof POINT_TYPES)[number];

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

export const RtuBusSchema = v.strictObject(
  {
    ...busCommon,
    kind: v.literal('rtu'),
    port: text('Serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...'),
    baud: v.optional(int(300, 4_000_000, 'Baud rate (bit/s).'), 19_200),
    parity: v.optional(v.picklist(PARITIES, `must be one of ${PARITIES.join(', ')}`), 'even'),
    data_bits: v.optional(v.picklist([7, 8] as const, 'must be 7 or 8'), 8),
    stop_bits: v.optional(v.picklist([1, 2] as const, 'must be 1 or 2'), 1),
  },
  'unknown setting',
);

/** Modbus ASCII on a serial port: frames as hexadecimal text, most often 7 data bits. */
export const AsciiBusSchema = v.strictObject(
  {
    ...busCommon,
    kind: v.literal('ascii'),
    port: text('Serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...'),
    baud: v.optional(int(300, 4_000_000, 'Baud rate (bit/s).'), 9600),
    parity: v.optional(v.picklist(PARITIES, `must be one of ${PARITIES.join(', ')}`), 'even'),
    data_bits: v.optional(v.picklist([7, 8] as const, 'must be 7 or 8'), 7),
    stop_bits: v.optional(v.picklist([1, 2] as const, 'must be 1 or 2'), 1),
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

export const ModbusPointSchema = v.strictObject(
  {
    table: v.pipe(
      v.picklist(TABLES, `must be one of ${TABLES.join(', ')}`),
      v.description('coil (FC1 read, FC5/15 write), discrete (FC2), input (FC4), holding (FC3 read, FC6/16 write).'),
    ),
    address: int(0, 65535, 'Zero-based address on the wire (holding "40001" is 0).'),
    type: v.optional(
      v.pipe(
        v.picklist(POINT_TYPES, `must be one of ${POINT_TYPES.join(', ')}`),
        v.description(
          'bool for coils and discrete inputs; bit for one bit of a register; int8/uint8 for one byte of it (byte:); 32-bit types and bcd32 take two registers, 64-bit types four; bcd16/bcd32 are packed BCD (4/8 digits); string takes length: characters.',
        ),
      ),
    ),
    bit: v.optional(int(0, 15, 'For type bit: which bit of the register (0 = least significant).')),
    bits: v.optional(
      v.pipe(
        v.string('must be a bit range such as 4-7'),
        v.regex(/^(1[0-5]|[0-9])-(1[0-5]|[0-9])$/, 'must be a bit range such as 4-7 (bits 0-15, low-high)'),
        v.description('For a uint16 point: the field of the register it is, e.g. 4-7 (0 = least significant); the value is the field shifted down.'),
      ),
    ),
    byte: v.optional(
      v.pipe(v.picklist(['high', 'low'] as const, 'must be high or low'), v.description('For int8/uint8: which byte of the register, high (the first on the wire) or low.')),
    ),
    length: v.optional(int(1, 240, 'For type string: its length in characters (bytes, two per register).')),
    trim: v.optional(
      v.pipe(
        v.picklist(TRIMS, `must be one of ${TRIMS.join(', ')}`),
        v.description('For type string: the text ends at the first NUL; right (default) also drops trailing spaces, both leading and trailing, none keeps them.'),
      ),
    ),
    byte_order: v.optional(v.picklist(ORDERS, 'must be big or little'), 'big'),
    word_order: v.optional(v.picklist(ORDERS, 'must be big or little (big: high word first)'), 'big'),
    scale: v.optional(num('value = raw * scale + offset'), 1),
    offset: v.optional(num('value = raw * scale + offset'), 0),
    decimals: v.optional(int(0, 12, 'Digits after the decimal point to show; default: those of scale and offset (scale 0.1 shows one).')),
    unit: v.optional(text('Engineering unit shown to users, e.g. rpm, °C, kWh.')),
    access: v.optional(v.picklist(['r', 'rw'] as const, 'must be r or rw'), 'r'),
    min: v.optional(num('Smallest value a write may set (engineering units).')),
    max: v.optional(num('Largest value a write may set (engineering units).')),
    enum: v.optional(
      v.record(
        v.pipe(v.string(), v.regex(/^-?\d+$/, 'enum keys must be whole numbers (the raw value)')),
        text('label for this raw value'),
        'must map raw values to labels, e.g. {0: stopped, 1: running}',
      ),
    ),
    deadband: v.optional(v.pipe(num('Changes smaller than this (engineering units) are not published.'), v.minValue(0, 'must be >= 0')), 0),
    range_check: v.optional(
      v.pipe(
        v.boolean('must be true or false'),
        v.description('Treat min/max as the physical range too: a value read outside it is not published and the point is marked bad (a broken sensor, a wrong register). Default false.'),
      ),
    ),
    write_function: v.optional(writeFunction),
    bit_write: v.optional(bitWrite),
    poll_interval_ms: v.optional(
      int(10, 3_600_000, "How often this point is read (ms), when it differs from its device's: points with one interval are read together."),
    ),
    description: v.optional(text('What the point means.')),
    confirm: pointConfirm,
  },
  'unknown setting',
);

export const ModbusDeviceSchema = v.strictObject(
  {
    ...deviceCommon,
    driver: v.literal('modbus'),
    bus: text('Id of the bus (under `buses:`) the device hangs on.'),
    unit: int(
      0,
      255,
      'Modbus unit (slave) id: 1-247 on a serial line (0 is broadcast there, 248-255 reserved); over TCP 0-255, as many TCP devices answer only unit 0 or 255.',
    ),
    address_offset: v.optional(
      int(
        -65535,
        65535,
        'Added to the address of every point declared under points: (not to a profile\'s): -1 for a manual that counts registers from 1.',
      ),
    ),
    write_function: v.optional(writeFunction),
    bit_write: v.optional(bitWrite),
    timeout_ms: v.optional(int(10, 60_000, "How long to wait for this unit's reply (ms), overriding its bus's timeout_ms: a slow unit on a fast line.")),
    request_delay_ms: v.optional(int(0, 10_000, "Silence before each request to this unit (ms), overriding its bus's request_delay_ms.")),
    max_read_registers: v.optional(int(1, 125, 'Most registers one read request to this unit asks for (1-125; some units refuse 125).')),
    max_read_bits: v.optional(int(1, 2000, 'Most coils or discrete inputs one read request to this unit asks for (1-2000).')),
    profile: v.optional(v.pipe(v.picklist(PROFILE_NAMES, `must be one of ${PROFILE_NAMES.join(', ')}`), v.description('A built-in register map.'))),
    points: v.optional(
      v.record(
        v.pipe(v.string(), pointNameRule),
        v.nullable(ModbusPointSchema),
        'must map point names to point definitions (null drops a point of the profile)',
      ),
    ),
    exclude: v.optional(
      v.pipe(
        v.array(text('a point name of the profile'), 'must be a list of point names'),
        v.description('Points of the profile this device does not have (their registers mean something else on it); same as `points: {name: null}`.'),
      ),
    ),
  },
  'unknown setting',
);

export type BusConfig = v.InferOutput<typeof BusSchema>;
export type RtuBusConfig = v.InferOutput<typeof RtuBusSchema>;
export type TcpBusConfig = v.InferOutput<typeof TcpBusSchema>;
export type RtuOverTcpBusConfig = v.InferOutput<typeof RtuOverTcpBusSchema>;
export type ModbusPointConfig = v.InferOutput<typeof ModbusPointSchema>;
export type ModbusPointInput = v.InferInput<typeof ModbusPointSchema>;
export type ModbusDeviceConfig = v.InferOutput<typeof ModbusDeviceSchema>;
