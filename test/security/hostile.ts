/**
 * Generators of hostile input for the fuzz tests: valid-looking requests with wrong details,
 * and plain garbage (deep nesting, huge numbers, wrong types, any unicode, prototype keys).
 */
import fc from 'fast-check';

export const DEVICE_IDS = ['motor_01', 'motor_02', 'sensor_01', 'sensor_02'];

const text = fc.string({ unit: 'binary', maxLength: 40 });
const weirdNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e308, 5e-324, 0.5),
);
/** A raw JSON number text that JSON.parse turns into Infinity, 0 or a rounded value. */
const hugeNumberText = fc.constantFrom('1e400', '-1e400', '1e-400', '123456789012345678901234567890', '-0', '0.0000000000000000000000001');
const anyValue = fc.oneof(
  { depthSize: 'small' },
  fc.jsonValue({ maxDepth: 2 }),
  weirdNumber,
  text,
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
);
const prototypeKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');

function objectText(entries: [string, string][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

/** A WebSocket message as text (or bytes for invalid UTF-8, sent as a binary frame). */
export function wsMessage(): fc.Arbitrary<string | Buffer> {
  const action = fc.oneof(
    fc.constantFrom('subscribe', 'unsubscribe', 'get_status', 'get_all_status', 'ping'),
    fc.constantFrom('SUBSCRIBE', 'set', 'write', 'control', 'reload', 'get_config', '', ' ping', 'ping\u0000'),
    text,
  );
  const deviceId = fc.oneof(fc.constantFrom(...DEVICE_IDS), fc.constantFrom('motor_99', '', '../etc', '#', '%00', 'motor_01\u0000'), text, anyValue);
  const validLooking = fc
    .record(
      {
        action: fc.oneof({ weight: 4, arbitrary: action }, { weight: 1, arbitrary: anyValue }),
        device_id: deviceId,
        since: fc.oneof(fc.nat(), weirdNumber, anyValue),
        instance: fc.oneof(text, anyValue),
        id: fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), anyValue),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o));
  const withPrototypeKeys = fc
    .tuple(fc.array(fc.tuple(prototypeKey, anyValue.map((v) => JSON.stringify(v) ?? 'null')), { minLength: 1, maxLength: 3 }), fc.constantFrom('ping', 'subscribe', 'get_status'), fc.boolean())
    .map(([pairs, act, first]) => {
      const base: [string, string][] = [['action', JSON.stringify(act)], ['device_id', '"motor_01"']];
      return objectText(first ? [...pairs, ...base] : [...base, ...pairs]);
    });
  const deep = fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom('[', '{"a":', '{"action":')).map(([n, open]) => {
    const close = open === '[' ? ']' : '}';
    return open.repeat(n) + '1' + close.repeat(n);
  });
  const hugeNumbers = fc
    .tuple(fc.constantFrom('since', 'id', 'device_id', 'action'), hugeNumberText)
    .map(([k, n]) => objectText([['action', '"subscribe"'], ['device_id', '"motor_01"'], [k, n]]));
  const notJson = fc.oneof(text, fc.constantFrom('', ' ', 'null', 'true', '1', '"ping"', '[]', '{', '{"action":', '{"action":"ping"}garbage', '\u0000'));
  const invalidUtf8 = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(b)]));
  const duplicateKeys = fc.constantFrom('{"action":"ping","action":"subscribe"}', '{"device_id":"motor_01","action":"get_status","device_id":"nope"}');
  return fc.oneof(
    { weight: 10, arbitrary: validLooking },
    { weight: 3, arbitrary: withPrototypeKeys },
    { weight: 1, arbitrary: deep },
    { weight: 2, arbitrary: hugeNumbers },
    { weight: 3, arbitrary: notJson },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => safeStringify(v)) },
    { weight: 1, arbitrary: invalidUtf8 },
    { weight: 1, arbitrary: duplicateKeys },
  );
}

/** A REST control body: writes with right and wrong points/values, garbage, hostile shapes. */
export function restBody(): fc.Arbitrary<string | Buffer | undefined> {
  const point = fc.oneof(fc.constantFrom('speed', 'running', 'actual_speed', 'current', 'temperature', 'humidity', 'nope', ''), prototypeKey, text);
  const value = fc.oneof(fc.integer({ min: -10, max: 4000 }), fc.boolean(), weirdNumber, anyValue);
  const write = fc.dictionary(point, value, { maxKeys: 3 }).map((o) => JSON.stringify(o));
  const protoWrite = fc.tuple(prototypeKey, fc.integer({ min: 0, max: 3000 })).map(([k, v]) => objectText([[k, `{"speed":${v}}`], ['speed', String(v)]]));
  const deep = fc.integer({ min: 1, max: 5000 }).map((n) => '{"speed":'.repeat(n) + '1' + '}'.repeat(n));
  const huge = hugeNumberText.map((n) => `{"speed":${n}}`);
  const valid = fc.oneof(
    fc.record({ speed: fc.integer({ min: 0, max: 3000 }) }),
    fc.record({ running: fc.boolean() }),
    fc.record({ speed: fc.integer({ min: 0, max: 3000 }), running: fc.boolean() }),
  ).map((o) => JSON.stringify(o));
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    { weight: 8, arbitrary: write },
    { weight: 2, arbitrary: protoWrite },
    { weight: 1, arbitrary: deep },
    { weight: 2, arbitrary: huge },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => safeStringify(v)) },
    { weight: 2, arbitrary: text },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.concat([Buffer.from([0xc3, 0x28]), Buffer.from(b)])) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.integer({ min: 16_385, max: 40_000 }).map((n) => `{"speed":1,"pad":"${'x'.repeat(n)}"}`) },
  );
}

export function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v) ?? 'null';
  } catch {
    return String(v);
  }
}

/** Header values as an HTTP client may send them: visible ASCII only (others are refused client-side). */
export const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });

/** fast-check prints the whole failing batch (megabytes of deep nesting): keep the report readable. */
export async function shortFailure(p: Promise<void>): Promise<void> {
  try {
    await p;
  } catch (err) {
    const msg = String((err as Error).message);
    const cause = (err as { cause?: Error }).cause;
    throw new Error(`${cause ? `${String(cause.message).slice(0, 2000)}\n--- from ---\n` : ''}${msg.length > 2000 ? `${msg.slice(0, 800)}\n...\n${msg.slice(-1000)}` : msg}`);
  }
}
