// Type descriptors for Go's encoding/gob, as the TypeScript side authors them.
// gob matches struct fields by name, so a descriptor only needs the Go field
// names and wire kinds; Go struct names are informational on the wire.

/** The builtin gob kinds, named as gob names them. */
export type BuiltinType = 'bool' | 'int' | 'uint' | 'float' | 'bytes' | 'string' | 'complex' | 'interface';

export interface StructType {
  readonly kind: 'struct';
  readonly name: string;
  readonly fields: ReadonlyArray<readonly [name: string, type: GoType]>;
}
export interface SliceType {
  readonly kind: 'slice';
  readonly name: string;
  readonly elem: GoType;
}
export interface ArrayType {
  readonly kind: 'array';
  readonly name: string;
  readonly elem: GoType;
  readonly len: number;
}
export interface MapType {
  readonly kind: 'map';
  readonly name: string;
  readonly key: GoType;
  readonly elem: GoType;
}
/** A type with its own marshalling (GobEncoder, BinaryMarshaler or TextMarshaler): opaque bytes. */
export interface OpaqueType {
  readonly kind: 'gobEncoder' | 'binaryMarshaler' | 'textMarshaler';
  readonly name: string;
}
export type CompositeType = StructType | SliceType | ArrayType | MapType | OpaqueType;
export type GoType = BuiltinType | CompositeType;

/** Wire ids of the builtin types (gob's bootstrap ids). */
export const builtinTypeIds: Readonly<Record<BuiltinType, number>> = {
  bool: 1,
  int: 2,
  uint: 3,
  float: 4,
  bytes: 5,
  string: 6,
  complex: 7,
  interface: 8,
};
export const builtinTypeById: ReadonlyMap<number, BuiltinType> = new Map(
  Object.entries(builtinTypeIds).map(([name, id]) => [id, name as BuiltinType]),
);

/** The first id a user type may have; gob rejects definitions below it. */
export const firstUserTypeId = 65;
export const minUserTypeId = 64;

export function struct(name: string, fields: ReadonlyArray<readonly [string, GoType]>): StructType {
  return {kind: 'struct', name, fields};
}
export function slice(elem: GoType, name = ''): SliceType {
  return {kind: 'slice', name, elem};
}
export function array(elem: GoType, len: number, name = ''): ArrayType {
  return {kind: 'array', name, elem, len};
}
export function map(key: GoType, elem: GoType, name = ''): MapType {
  return {kind: 'map', name, key, elem};
}
export function opaque(kind: OpaqueType['kind'], name: string): OpaqueType {
  return {kind, name};
}

/** A definition as it arrived on the wire (the decoder's view of a type). */
export type WireType =
  | {kind: 'struct'; name: string; fields: Array<{name: string; id: number}>}
  | {kind: 'slice'; name: string; elem: number}
  | {kind: 'array'; name: string; elem: number; len: number}
  | {kind: 'map'; name: string; key: number; elem: number}
  | {kind: 'gobEncoder' | 'binaryMarshaler' | 'textMarshaler'; name: string};

/** An interface value: the registered Go name of the concrete type, and the value. */
export class GoInterface {
  constructor(
    readonly name: string,
    readonly value: unknown,
    /** Needed to encode; the decoder leaves it unset (it knows the wire type instead). */
    readonly type?: GoType,
  ) {}
}

/** The bytes a GobEncoder/BinaryMarshaler type produced (e.g. url.URL → its String()). */
export class GoOpaque {
  constructor(
    readonly typeName: string,
    readonly bytes: Buffer,
  ) {}
  toString(): string {
    return this.bytes.toString('utf8');
  }
}

/**
 * One Go []byte given as consecutive pieces, so a caller holding several buffers
 * need not concatenate them: encodes exactly like their concatenation.
 */
export class ByteChunks {
  readonly length: number;
  constructor(readonly chunks: readonly Uint8Array[]) {
    let n = 0;
    for (const c of chunks) n += c.length;
    this.length = n;
  }
}

export interface GoComplex {
  re: number;
  im: number;
}

// Interface constructors for the names gob pre-registers (and Mattermost registers).
export const iface = {
  string: (v: string) => new GoInterface('string', v, 'string'),
  bool: (v: boolean) => new GoInterface('bool', v, 'bool'),
  float64: (v: number) => new GoInterface('float64', v, 'float'),
  int: (v: number | bigint) => new GoInterface('int', v, 'int'),
  int64: (v: number | bigint) => new GoInterface('int64', v, 'int'),
  uint64: (v: number | bigint) => new GoInterface('uint64', v, 'uint'),
  bytes: (v: Uint8Array) => new GoInterface('[]uint8', v, 'bytes'),
};
