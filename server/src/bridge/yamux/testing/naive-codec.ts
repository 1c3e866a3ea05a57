// A deliberately naive frame codec, sharing no code with frame.ts/decoder.ts, used
// as the tests' reference: builds byte strings field by field with DataView and
// parses a whole byte string in one pass.

export const T_DATA = 0;
export const T_WINDOW_UPDATE = 1;
export const T_PING = 2;
export const T_GO_AWAY = 3;
export const F_SYN = 1;
export const F_ACK = 2;
export const F_FIN = 4;
export const F_RST = 8;

export interface NaiveFrame {
  version: number;
  type: number;
  flags: number;
  streamId: number;
  length: number;
  payload: Buffer;
}

/** One frame as bytes. For Data, `payload` sets the length unless `length` is given. */
export function frameBytes(type: number, flags: number, streamId: number, lengthOrPayload: number | Buffer = 0, version = 0): Buffer {
  const payload = typeof lengthOrPayload === 'number' ? Buffer.alloc(0) : lengthOrPayload;
  const length = typeof lengthOrPayload === 'number' ? lengthOrPayload : lengthOrPayload.length;
  const header = new ArrayBuffer(12);
  const view = new DataView(header);
  view.setUint8(0, version);
  view.setUint8(1, type);
  view.setUint16(2, flags, false);
  view.setUint32(4, streamId, false);
  view.setUint32(8, length, false);
  return Buffer.concat([Buffer.from(header), payload]);
}

/**
 * Parses complete frames from the start of `bytes`; returns them and how many bytes
 * they used (a partial tail is left). Does not validate version or type.
 */
export function parseFrames(bytes: Buffer): {frames: NaiveFrame[]; used: number} {
  const frames: NaiveFrame[] = [];
  let at = 0;
  while (bytes.length - at >= 12) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, 12);
    const type = view.getUint8(1);
    const length = view.getUint32(8, false);
    const payloadLength = type === T_DATA ? length : 0;
    if (bytes.length - at - 12 < payloadLength) break;
    frames.push({
      version: view.getUint8(0),
      type,
      flags: view.getUint16(2, false),
      streamId: view.getUint32(4, false),
      length,
      payload: Buffer.from(bytes.subarray(at + 12, at + 12 + payloadLength)),
    });
    at += 12 + payloadLength;
  }
  return {frames, used: at};
}

/** "WindowUpdate/SYN" style key for counting frames. */
export function frameKey(f: {type: number; flags: number}): string {
  const types = ['Data', 'WindowUpdate', 'Ping', 'GoAway'];
  const flags = [
    [F_SYN, 'SYN'],
    [F_ACK, 'ACK'],
    [F_FIN, 'FIN'],
    [F_RST, 'RST'],
  ]
    .filter(([bit]) => f.flags & (bit as number))
    .map(([, name]) => name);
  return `${types[f.type] ?? `T${f.type}`}/${flags.join('|') || '-'}`;
}
