// gob encoder for one stream direction: numbers our own types from 65 and sends
// each definition once, before the first value that needs it (including the
// concrete types inside interface values). Spec: mattermost-plugin-protocol.md §3.2.

import {
  builtinTypeIds,
  ByteChunks,
  firstUserTypeId,
  GoInterface,
  GoOpaque,
  type CompositeType,
  type GoType,
  type StructType,
} from './types.ts';
import {GobError, Writer} from './wire.ts';

export class Encoder {
  private readonly ids = new Map<CompositeType, number>();
  private nextId = firstUserTypeId;
  private definitions: Buffer[] = [];
  private registeredThisCall: CompositeType[] = [];

  /**
   * Encodes one top-level value (what Go's Encoder.Encode produces): any new type
   * definitions as separate messages, then the value message. Atomic: on error the
   * encoder's state is unchanged.
   */
  encode(type: GoType, value: unknown): Buffer {
    return Buffer.concat(this.encodeChunks(type, value));
  }

  /**
   * Same bytes as encode(), as views in order: long byte slices in `value` are
   * referenced, not copied, so they must not change until the chunks are written.
   */
  encodeChunks(type: GoType, value: unknown): Uint8Array[] {
    this.definitions = [];
    this.registeredThisCall = [];
    const idBefore = this.nextId;
    try {
      const payload = new Writer();
      const id = this.typeId(type);
      payload.int(id);
      this.writeTopLevel(payload, type, value);
      const head = new Writer(64);
      for (const def of this.definitions) {
        head.uint(def.length);
        head.raw(def);
      }
      head.uint(payload.size);
      const chunks = head.chunks();
      for (const chunk of payload.chunks()) chunks.push(chunk);
      return chunks;
    } catch (err) {
      for (const t of this.registeredThisCall) this.ids.delete(t);
      this.nextId = idBefore;
      throw err instanceof GobError ? err : new GobError(`cannot encode: ${(err as Error).message}`);
    } finally {
      this.definitions = [];
      this.registeredThisCall = [];
    }
  }

  /** The wire id of a type, queueing its definition (and its parts') if not sent yet. */
  private typeId(type: GoType): number {
    if (typeof type === 'string') return builtinTypeIds[type];
    const known = this.ids.get(type);
    if (known !== undefined) return known;
    const id = this.nextId++;
    this.ids.set(type, id);
    this.registeredThisCall.push(type);
    const def = new Writer();
    def.int(-id);
    this.writeWireType(def, type, id);
    this.definitions.push(Buffer.from(def.view()));
    return id;
  }

  private writeWireType(w: Writer, type: CompositeType, id: number): void {
    const common = (): void => {
      w.uint(1); // field 0 of the kind's struct: CommonType
      if (type.name) {
        w.uint(1);
        w.string(type.name);
        w.uint(1);
      } else {
        w.uint(2);
      }
      w.int(id);
      w.uint(0);
    };
    switch (type.kind) {
      case 'array': {
        const elem = this.typeId(type.elem);
        w.uint(1); // wireType.ArrayT
        common();
        w.uint(1);
        w.int(elem);
        w.uint(1);
        w.int(type.len);
        w.uint(0);
        break;
      }
      case 'slice': {
        const elem = this.typeId(type.elem);
        w.uint(2); // wireType.SliceT
        common();
        w.uint(1);
        w.int(elem);
        w.uint(0);
        break;
      }
      case 'struct': {
        const fieldIds = type.fields.map(([, t]) => this.typeId(t));
        w.uint(3); // wireType.StructT
        common();
        if (type.fields.length > 0) {
          w.uint(1);
          w.uint(type.fields.length);
          type.fields.forEach(([name], i) => {
            w.uint(1);
            w.string(name);
            w.uint(1);
            w.int(fieldIds[i]);
            w.uint(0);
          });
        }
        w.uint(0);
        break;
      }
      case 'map': {
        const key = this.typeId(type.key);
        const elem = this.typeId(type.elem);
        w.uint(4); // wireType.MapT
        common();
        w.uint(1);
        w.int(key);
        w.uint(1);
        w.int(elem);
        w.uint(0);
        break;
      }
      default: {
        const field = type.kind === 'gobEncoder' ? 5 : type.kind === 'binaryMarshaler' ? 6 : 7;
        w.uint(field);
        common();
        w.uint(0);
      }
    }
    w.uint(0); // end of wireType
  }

  private writeTopLevel(w: Writer, type: GoType, value: unknown): void {
    if (typeof type !== 'string' && type.kind === 'struct') {
      this.writeStruct(w, type, value);
      return;
    }
    w.uint(0); // singleton: field delta 0
    this.writeValue(w, type, value);
  }

  private writeStruct(w: Writer, type: StructType, value: unknown): void {
    if (value === null || typeof value !== 'object') throw new GobError(`${type.name || 'struct'}: expected an object`);
    const obj = value as Record<string, unknown>;
    let last = -1;
    type.fields.forEach(([name, fieldType], i) => {
      const v = obj[name];
      if (isOmitted(fieldType, v)) return;
      w.uint(i - last);
      last = i;
      try {
        this.writeValue(w, fieldType, v);
      } catch (err) {
        throw new GobError(`${type.name || 'struct'}.${name}: ${(err as Error).message}`);
      }
    });
    w.uint(0);
  }

  private writeValue(w: Writer, type: GoType, v: unknown): void {
    switch (type) {
      case 'bool':
        w.uint(v ? 1 : 0);
        return;
      case 'int':
        w.int(asInteger(v));
        return;
      case 'uint':
        w.uint(asInteger(v));
        return;
      case 'float':
        w.float(asNumber(v));
        return;
      case 'complex': {
        const c = v as {re: number; im: number};
        w.float(asNumber(c.re));
        w.float(asNumber(c.im));
        return;
      }
      case 'bytes':
        if (v instanceof ByteChunks) {
          w.uint(v.length);
          for (const chunk of v.chunks) w.ref(chunk);
        } else {
          w.bytesByReference(asBytes(v));
        }
        return;
      case 'string':
        if (typeof v !== 'string') throw new GobError(`expected a string, got ${typeof v}`);
        w.string(v);
        return;
      case 'interface':
        this.writeInterface(w, v);
        return;
    }
    switch (type.kind) {
      case 'struct':
        this.writeStruct(w, type, v);
        return;
      case 'slice':
      case 'array': {
        const items = asArray(v);
        if (type.kind === 'array' && items.length !== type.len) {
          throw new GobError(`array needs ${type.len} elements, got ${items.length}`);
        }
        w.uint(items.length);
        for (const item of items) {
          if (item === null || item === undefined) {
            if (type.elem !== 'interface') throw new GobError('nil element in slice');
          }
          this.writeValue(w, type.elem, item);
        }
        return;
      }
      case 'map': {
        const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
        w.uint(entries.length);
        for (const [k, val] of entries) {
          this.writeValue(w, type.key, k);
          this.writeValue(w, type.elem, val);
        }
        return;
      }
      default:
        w.bytes(v instanceof GoOpaque ? v.bytes : typeof v === 'string' ? Buffer.from(v) : asBytes(v));
    }
  }

  private writeInterface(w: Writer, v: unknown): void {
    if (v === null || v === undefined) {
      w.uint(0);
      return;
    }
    if (!(v instanceof GoInterface) || v.type === undefined) {
      throw new GobError('interface values must be GoInterface with a type');
    }
    if (!v.name) throw new GobError('interface value without a registered name');
    w.string(v.name);
    w.int(this.typeId(v.type));
    const inner = new Writer();
    this.writeTopLevel(inner, v.type, v.value);
    w.uint(inner.len);
    w.raw(inner.view());
  }
}

/** gob's zero-value omission for struct fields (spec §3.2.4). */
function isOmitted(type: GoType, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  switch (type) {
    case 'bool':
      return v === false;
    case 'int':
    case 'uint':
    case 'float':
      return v === 0 || v === 0n;
    case 'string':
      return v === '';
    case 'bytes':
      return (v as Uint8Array).length === 0;
    case 'complex':
      return (v as {re: number; im: number}).re === 0 && (v as {re: number; im: number}).im === 0;
    case 'interface':
      return false;
  }
  switch (type.kind) {
    case 'slice':
      return asArray(v).length === 0;
    default:
      return false;
  }
}

function asInteger(v: unknown): number | bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new GobError(`expected an integer, got ${String(v)}`);
}

function asNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new GobError(`expected a number, got ${typeof v}`);
}

function asBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  throw new GobError(`expected bytes, got ${typeof v}`);
}

function asArray(v: unknown): readonly unknown[] {
  if (Array.isArray(v)) return v;
  throw new GobError(`expected an array, got ${typeof v}`);
}
