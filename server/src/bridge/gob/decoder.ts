// A schema-driven gob decoder: it learns every type from the definitions on the
// wire (never from hard-coded ids) and turns values into plain JS data.
// Spec: mattermost-plugin-protocol.md §3.2; Go's src/encoding/gob/decoder.go.

import {
  builtinTypeById,
  GoInterface,
  GoOpaque,
  minUserTypeId,
  type CompositeType,
  type GoType,
  type WireType,
} from './types.ts';
import {GobError, NeedMoreData, Reader} from './wire.ts';

/** One top-level value: its wire type id and the decoded data. */
export interface Decoded {
  typeId: number;
  value: unknown;
}

/**
 * How decoded values look:
 * bool → boolean; int/uint → number (bigint beyond 2^53); float → number; complex → {re, im};
 * string → string; []byte → Buffer; slice/array → Array; map → Map; struct → object with the
 * fields present on the wire (omitted zero fields are absent); interface → GoInterface or null;
 * GobEncoder/BinaryMarshaler → GoOpaque.
 */
export interface DecoderOptions {
  /** Largest accepted message, in bytes. */
  maxMessageBytes?: number;
  /** Deepest accepted nesting of values. */
  maxDepth?: number;
}

const defaultMaxMessageBytes = 1 << 30;
const defaultMaxDepth = 100;

export class Decoder {
  /** Definitions received on this stream, keyed by the id in the definition's message header. */
  readonly types = new Map<number, WireType>();
  private data: Buffer = Buffer.alloc(0);
  private pos = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes needed before a retry can succeed (0 = unknown). */
  private needed = 0;
  private cur: Reader = new Reader(Buffer.alloc(0));
  private addedThisAttempt: number[] = [];
  private depth = 0;
  private readonly maxMessageBytes: number;
  private readonly maxDepth: number;

  constructor(opts: DecoderOptions = {}) {
    this.maxMessageBytes = opts.maxMessageBytes ?? defaultMaxMessageBytes;
    this.maxDepth = opts.maxDepth ?? defaultMaxDepth;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
  }

  /** Bytes received but not yet consumed by a decoded value. */
  get buffered(): number {
    return this.data.length - this.pos + this.pendingBytes;
  }

  /**
   * Decodes the next top-level value, or returns undefined until enough bytes have arrived.
   * Throws GobError on malformed input; the stream is unusable afterwards.
   */
  next(): Decoded | undefined {
    if (this.needed > 0 && this.buffered < this.needed) return undefined;
    this.compact();
    const start = this.pos;
    this.addedThisAttempt = [];
    try {
      const result = this.decodeTopLevel();
      this.needed = 0;
      return result;
    } catch (err) {
      if (err instanceof NeedMoreData) {
        this.pos = start;
        for (const id of this.addedThisAttempt) {
          this.types.delete(id);
          this.goTypes.delete(id);
        }
        return undefined;
      }
      if (err instanceof GobError) throw err;
      throw new GobError(`malformed gob data: ${(err as Error).message}`);
    } finally {
      this.depth = 0;
    }
  }

  private compact(): void {
    if (this.pending.length === 0) return;
    this.data = Buffer.concat([this.data.subarray(this.pos), ...this.pending]);
    this.pos = 0;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Reads the next length-prefixed message into `cur`. */
  private nextMessage(): void {
    const r = new Reader(this.data, this.pos);
    let len: number | bigint;
    try {
      len = r.uint();
    } catch {
      this.needed = this.data.length - this.pos + 9;
      throw new NeedMoreData();
    }
    if (typeof len === 'bigint' || len > this.maxMessageBytes) throw new GobError(`message too big: ${len} bytes`);
    if (len === 0) throw new GobError('empty message');
    if (r.remaining < len) {
      this.needed = r.pos - this.pos + len;
      throw new NeedMoreData();
    }
    this.cur = new Reader(this.data, r.pos, r.pos + len);
    this.pos = r.pos + len;
  }

  private decodeTopLevel(): Decoded {
    for (;;) {
      this.nextMessage();
      const id = this.cur.smallInt('type id');
      if (id < 0) {
        this.receiveDefinition(-id);
        if (this.cur.remaining > 0) throw new GobError('extra data in buffer after type definition');
        continue;
      }
      return {typeId: id, value: this.decodeTopLevelValue(id)};
    }
  }

  /** A top-level value: struct encoding for structs, otherwise a singleton (delta 0 + value). */
  private decodeTopLevelValue(id: number): unknown {
    const wire = this.types.get(id);
    if (wire?.kind === 'struct') return this.decodeStruct(wire);
    if (id === 0) throw new GobError('type id 0 is not a type');
    if (!wire && !builtinTypeById.has(id)) throw new GobError(`unknown type id ${id}`);
    const delta = this.cur.count('singleton delta');
    if (delta !== 0) throw new GobError('corrupted data: non-zero delta for singleton');
    return this.decodeValue(id);
  }

  private receiveDefinition(id: number): void {
    if (id < minUserTypeId) throw new GobError(`type definition with reserved id ${id}`);
    if (this.types.has(id)) throw new GobError(`duplicate type received: ${id}`);
    const wire = this.decodeWireType();
    this.types.set(id, wire);
    this.addedThisAttempt.push(id);
  }

  private decodeValue(id: number): unknown {
    const r = this.cur;
    switch (id) {
      case 1:
        return r.uint() !== 0;
      case 2:
        return r.int();
      case 3:
        return r.uint();
      case 4:
        return r.float();
      case 5:
        return Buffer.from(r.bytes());
      case 6:
        return r.string();
      case 7:
        return {re: r.float(), im: r.float()};
      case 8:
        return this.decodeInterface();
    }
    const wire = this.types.get(id);
    if (!wire) throw new GobError(`unknown type id ${id}`);
    if (++this.depth > this.maxDepth) throw new GobError('value nested too deeply');
    try {
      switch (wire.kind) {
        case 'struct':
          return this.decodeStruct(wire);
        case 'slice': {
          const n = this.cur.count('slice length');
          if (n > this.cur.remaining) throw new GobError(`slice length ${n} exceeds message`);
          const out = new Array<unknown>(n);
          for (let i = 0; i < n; i++) out[i] = this.decodeValue(wire.elem);
          return out;
        }
        case 'array': {
          const n = this.cur.count('array length');
          if (n !== wire.len) throw new GobError(`array length ${n} does not match type length ${wire.len}`);
          if (n > this.cur.remaining) throw new GobError(`array length ${n} exceeds message`);
          const out = new Array<unknown>(n);
          for (let i = 0; i < n; i++) out[i] = this.decodeValue(wire.elem);
          return out;
        }
        case 'map': {
          const n = this.cur.count('map size');
          if (n > this.cur.remaining) throw new GobError(`map size ${n} exceeds message`);
          const out = new Map<unknown, unknown>();
          for (let i = 0; i < n; i++) {
            const k = this.decodeValue(wire.key);
            out.set(k, this.decodeValue(wire.elem));
          }
          return out;
        }
        default:
          return new GoOpaque(wire.name, Buffer.from(this.cur.bytes()));
      }
    } finally {
      this.depth--;
    }
  }

  private decodeStruct(wire: Extract<WireType, {kind: 'struct'}>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let field = -1;
    for (;;) {
      const delta = this.cur.count('field delta');
      if (delta === 0) return out;
      field += delta;
      const f = wire.fields[field];
      if (!f) throw new GobError(`field number ${field} out of range for ${wire.name || 'struct'}`);
      const value = this.decodeValue(f.id);
      if (f.name !== '__proto__') out[f.name] = value;
    }
  }

  /** Go's decodeInterface: definitions may arrive mid-value, in further messages. */
  private decodeInterface(): GoInterface | null {
    const name = this.cur.string();
    if (name === '') return null;
    let id: number;
    for (;;) {
      if (this.cur.remaining === 0) this.nextMessage();
      id = this.cur.smallInt('interface type id');
      if (id >= 0) break;
      this.receiveDefinition(-id);
      // After a definition a delimited count may remain in the buffer; Go skips it.
      if (this.cur.remaining > 0) this.cur.uint();
    }
    // Go reads the value's byte count and ignores it; so do we, beyond a sanity check.
    const count = this.cur.count('interface value length');
    if (count > this.cur.remaining) throw new GobError('interface value exceeds message');
    return new GoInterface(name, this.decodeTopLevelValue(id), this.tryGoType(id));
  }

  private readonly goTypes = new Map<number, GoType>();

  private tryGoType(id: number): GoType | undefined {
    try {
      return this.goType(id);
    } catch {
      return undefined;
    }
  }

  /**
   * The received definition of a type id as an encoder descriptor, so a decoded value can be
   * sent back with the schema it came with (e.g. a whole model.Config for SaveConfig).
   * Stable per id, so an Encoder sends each definition once.
   */
  goType(id: number): GoType {
    const builtin = builtinTypeById.get(id);
    if (builtin) return builtin;
    const known = this.goTypes.get(id);
    if (known) return known;
    const wire = this.types.get(id);
    if (!wire) throw new GobError(`unknown type id ${id}`);
    // Build the object first and fill it in, so recursive types terminate.
    const t = {kind: wire.kind, name: wire.name} as Record<string, unknown>;
    this.goTypes.set(id, t as unknown as CompositeType);
    switch (wire.kind) {
      case 'struct':
        t.fields = wire.fields.map((f) => [f.name, this.goType(f.id)] as const);
        break;
      case 'slice':
        t.elem = this.goType(wire.elem);
        break;
      case 'array':
        t.elem = this.goType(wire.elem);
        t.len = wire.len;
        break;
      case 'map':
        t.key = this.goType(wire.key);
        t.elem = this.goType(wire.elem);
        break;
    }
    return t as unknown as CompositeType;
  }

  // The wireType schema is gob's bootstrap; decode it by hand.
  private decodeWireType(): WireType {
    let result: WireType | undefined;
    this.readFields((field) => {
      if (result) throw new GobError('type definition with more than one kind');
      switch (field) {
        case 0: {
          const t = this.readCompound(['elem', 'len']);
          result = {kind: 'array', name: t.name, elem: t.elem ?? 0, len: t.len ?? 0};
          break;
        }
        case 1: {
          const t = this.readCompound(['elem']);
          result = {kind: 'slice', name: t.name, elem: t.elem ?? 0};
          break;
        }
        case 2:
          result = this.readStructType();
          break;
        case 3: {
          const t = this.readCompound(['key', 'elem']);
          result = {kind: 'map', name: t.name, key: t.key ?? 0, elem: t.elem ?? 0};
          break;
        }
        case 4:
        case 5:
        case 6: {
          const t = this.readCompound([]);
          const kind = field === 4 ? 'gobEncoder' : field === 5 ? 'binaryMarshaler' : 'textMarshaler';
          result = {kind, name: t.name};
          break;
        }
        default:
          throw new GobError(`unknown wireType field ${field}`);
      }
    });
    if (!result) throw new GobError('empty type definition');
    return result;
  }

  private readFields(onField: (field: number) => void): void {
    let field = -1;
    for (;;) {
      const delta = this.cur.count('field delta');
      if (delta === 0) return;
      field += delta;
      onField(field);
    }
  }

  private readCommonType(): string {
    let name = '';
    this.readFields((f) => {
      if (f === 0) name = this.cur.string();
      else if (f === 1) this.cur.int();
      else throw new GobError(`unknown CommonType field ${f}`);
    });
    return name;
  }

  /** arrayType/sliceType/mapType/gobEncoderType: CommonType then int fields. */
  private readCompound<K extends string>(intFields: K[]): {name: string} & Partial<Record<K, number>> {
    const out = {name: ''} as {name: string} & Partial<Record<K, number>>;
    this.readFields((f) => {
      if (f === 0) out.name = this.readCommonType();
      else if (f - 1 < intFields.length) (out as Record<string, unknown>)[intFields[f - 1]] = this.cur.smallInt('type field');
      else throw new GobError(`unknown type field ${f}`);
    });
    return out;
  }

  private readStructType(): WireType {
    let name = '';
    const fields: Array<{name: string; id: number}> = [];
    this.readFields((f) => {
      if (f === 0) {
        name = this.readCommonType();
      } else if (f === 1) {
        const n = this.cur.count('field count');
        if (n > this.cur.remaining) throw new GobError('field count exceeds message');
        for (let i = 0; i < n; i++) {
          const field = {name: '', id: 0};
          this.readFields((ff) => {
            if (ff === 0) field.name = this.cur.string();
            else if (ff === 1) field.id = this.cur.smallInt('field type id');
            else throw new GobError(`unknown fieldType field ${ff}`);
          });
          fields.push(field);
        }
      } else {
        throw new GobError(`unknown structType field ${f}`);
      }
    });
    return {kind: 'struct', name, fields};
  }
}
