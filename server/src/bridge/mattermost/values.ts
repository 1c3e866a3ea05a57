// Conversions between plain JSON-like JS values and Go interface{} values.

import {GoInterface, GoOpaque, iface} from '../gob/index.ts';
import {InterfaceSlice, StringInterfaceMap} from './wiretypes.ts';

/** JSON-like JS value → interface{} as Go's encoding/json would have produced it. */
export function toGoInterface(v: unknown): GoInterface | null {
  if (v === null || v === undefined) return null;
  if (v instanceof GoInterface) return v;
  switch (typeof v) {
    case 'string':
      return iface.string(v);
    case 'number':
      return iface.float64(v);
    case 'boolean':
      return iface.bool(v);
    case 'bigint':
      return iface.int64(v);
  }
  if (v instanceof Uint8Array) return iface.bytes(v);
  if (Array.isArray(v)) return new GoInterface('[]interface {}', v.map(toGoInterface), InterfaceSlice);
  if (v instanceof Map) return new GoInterface('map[string]interface {}', toGoMap(Object.fromEntries(v)), StringInterfaceMap);
  return new GoInterface('map[string]interface {}', toGoMap(v as Record<string, unknown>), StringInterfaceMap);
}

export function toGoMap(obj: Record<string, unknown>): Map<string, GoInterface | null> {
  return new Map(Object.entries(obj).map(([k, v]) => [k, toGoInterface(v)]));
}

/** Decoded gob data → plain JS: interfaces unwrapped, maps to objects, opaque values to strings. */
export function toPlain(v: unknown): unknown {
  if (v instanceof GoInterface) return toPlain(v.value);
  if (v instanceof GoOpaque) return v.toString();
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, val] of v) out[String(k)] = toPlain(val);
    return out;
  }
  if (Array.isArray(v)) return v.map(toPlain);
  if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) out[k] = toPlain(val);
    return out;
  }
  return v;
}
