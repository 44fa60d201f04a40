/** CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), as in "MODBUS over Serial Line" 6.2.2. */
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

export function crc16(buf: Uint8Array): number {
  let crc = 0xffff;
  for (const b of buf) crc = (crc >>> 8) ^ TABLE[(crc ^ b) & 0xff]!;
  return crc;
}
