import assert from 'node:assert/strict';
import {test} from 'node:test';

import {ByteChunks, Decoder, Encoder, GobError, GoInterface, GoOpaque, iface, map, opaque, slice, struct} from './index.ts';
import {Reader, Writer} from './wire.ts';

/** Hex with spaces and "quoted strings" (ASCII) for readable golden vectors. */
function hex(s: string): Buffer {
  const parts: Buffer[] = [];
  const re = /"([^"]*)"|([0-9A-Fa-f]{2})/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) parts.push(m[1] !== undefined ? Buffer.from(m[1], 'latin1') : Buffer.from([parseInt(m[2], 16)]));
  return Buffer.concat(parts);
}

function decodeAll(bytes: Buffer): unknown[] {
  const d = new Decoder();
  d.push(bytes);
  const out: unknown[] = [];
  for (let v = d.next(); v; v = d.next()) out.push(v.value);
  assert.equal(d.buffered, 0, 'all bytes consumed');
  return out;
}

const Request = struct('Request', [
  ['ServiceMethod', 'string'],
  ['Seq', 'uint'],
]);
const Response = struct('Response', [
  ['ServiceMethod', 'string'],
  ['Seq', 'uint'],
  ['Error', 'string'],
]);
const Empty = struct('', []);

void test('unsigned and signed integers (spec §3.2)', () => {
  const cases: Array<[number | bigint, string]> = [
    [0, '00'],
    [7, '07'],
    [128, 'FF 80'],
    [256, 'FE 01 00'],
    [2n ** 64n - 1n, 'F8 FF FF FF FF FF FF FF FF'],
  ];
  for (const [v, h] of cases) {
    const w = new Writer();
    w.uint(v);
    assert.deepEqual(w.view(), hex(h), `u(${v})`);
    assert.equal(new Reader(hex(h)).uint(), v);
  }
  const signed: Array<[number | bigint, string]> = [
    [3, '06'],
    [-1, '01'],
    [65, 'FF 82'],
    [-65, 'FF 81'],
    [-129, 'FE 01 01'],
    [-(2n ** 63n), 'F8 FF FF FF FF FF FF FF FF'],
    [2n ** 62n, 'F8 80 00 00 00 00 00 00 00'],
  ];
  for (const [v, h] of signed) {
    const w = new Writer();
    w.int(v);
    assert.deepEqual(w.view(), hex(h), `i(${v})`);
    assert.equal(new Reader(hex(h)).int(), v);
  }
});

void test('floats are byte-reversed (spec §3.2)', () => {
  for (const [v, h] of [
    [17.0, 'FE 31 40'],
    [1.5, 'FE F8 3F'],
    [0, '00'],
  ] as const) {
    const w = new Writer();
    w.float(v);
    assert.deepEqual(w.view(), hex(h));
    assert.equal(new Reader(hex(h)).float(), v);
  }
  for (const v of [Math.PI, -0.1, 1e300, Number.MIN_VALUE, Infinity, -Infinity, 2 ** -1070]) {
    const w = new Writer();
    w.float(v);
    assert.equal(new Reader(Buffer.from(w.view())).float(), v);
  }
  const w = new Writer();
  w.float(NaN);
  assert.ok(Number.isNaN(new Reader(Buffer.from(w.view())).float()));
});

void test('top-level singletons match Go [V]', () => {
  assert.deepEqual(new Encoder().encode('int', 3), hex('03 04 00 06'));
  assert.deepEqual(new Encoder().encode('bool', true), hex('03 02 00 01'));
  assert.deepEqual(new Encoder().encode('uint', 1), hex('03 06 00 01'));
  assert.deepEqual(new Encoder().encode('string', 'hooks'), hex('08 0C 00 05 "hooks"'));
  assert.deepEqual(decodeAll(hex('03 04 00 06 03 02 00 01 03 06 00 01 08 0C 00 05 "hooks"')), [3, true, 1, 'hooks']);
});

const requestDefinition = hex(
  '2F FF 81 03 01 01 07 "Request" 01 FF 82 00 01 02 01 0D "ServiceMethod" 01 0C 00 01 03 "Seq" 01 06 00 00 00',
);
const responseDefinition = hex(
  '3A FF 81 03 01 01 08 "Response" 01 FF 82 00 01 03 01 0D "ServiceMethod" 01 0C 00 01 03 "Seq" 01 06 00 01 05 "Error" 01 0C 00 00 00',
);

void test('the first net/rpc request, byte for byte (spec §3.3) [V]', () => {
  const enc = new Encoder();
  const first = Buffer.concat([
    enc.encode(Request, {ServiceMethod: 'Dispenser.Dispense', Seq: 0}),
    enc.encode('string', 'hooks'),
  ]);
  assert.deepEqual(
    first,
    Buffer.concat([requestDefinition, hex('17 FF 82 01 12 "Dispenser.Dispense" 00 08 0C 00 05 "hooks"')]),
  );
  assert.equal(requestDefinition.length, 48);
  assert.deepEqual(
    enc.encode(Request, {ServiceMethod: 'Dispenser.Dispense', Seq: 1}),
    hex('19 FF 82 01 12 "Dispenser.Dispense" 01 01 00'),
  );
  const values = decodeAll(Buffer.concat([first, hex('16 FF 82 01 0F "Plugin.Dispense" 01 01 00')]));
  assert.deepEqual(values, [{ServiceMethod: 'Dispenser.Dispense'}, 'hooks', {ServiceMethod: 'Plugin.Dispense', Seq: 1}]);
});

void test('the dispense reply and Implemented exchange (spec §4.4) [V]', () => {
  assert.equal(responseDefinition.length, 59);
  const enc = new Encoder();
  const reply = Buffer.concat([enc.encode(Response, {ServiceMethod: 'Dispenser.Dispense'}), enc.encode('uint', 1)]);
  assert.deepEqual(reply, Buffer.concat([responseDefinition, hex('17 FF 82 01 12 "Dispenser.Dispense" 00 03 06 00 01')]));

  // Host → plugin: Plugin.Implemented with struct{}{} args.
  const hostBytes = Buffer.concat([
    requestDefinition,
    hex('17 FF 82 01 12 "Plugin.Implemented" 00'),
    hex('0A FF 83 03 01 02 FF 84 00 00 00'),
    hex('03 FF 84 00'),
  ]);
  const hostEnc = new Encoder();
  assert.deepEqual(
    Buffer.concat([hostEnc.encode(Request, {ServiceMethod: 'Plugin.Implemented'}), hostEnc.encode(Empty, {})]),
    hostBytes,
  );
  assert.deepEqual(decodeAll(hostBytes), [{ServiceMethod: 'Plugin.Implemented'}, {}]);

  // Plugin → host: []string{"OnActivate","ServeHTTP"}.
  const pluginEnc = new Encoder();
  const implemented = Buffer.concat([
    pluginEnc.encode(Response, {ServiceMethod: 'Plugin.Implemented'}),
    pluginEnc.encode(slice('string'), ['OnActivate', 'ServeHTTP']),
  ]);
  assert.deepEqual(
    implemented,
    Buffer.concat([
      responseDefinition,
      hex('17 FF 82 01 12 "Plugin.Implemented" 00'),
      hex('0C FF 83 02 01 02 FF 84 00 01 0C 00 00'),
      hex('19 FF 84 00 02 0A "OnActivate" 09 "ServeHTTP"'),
    ]),
  );
});

void test('unknown-method error response (spec §4.4 step 9) [V]', () => {
  const bytes = Buffer.concat([
    responseDefinition,
    hex('36 FF 82 01 0B "Plugin.Nope" 01 01 01 22 "rpc: can\'t find method Plugin.Nope" 00'),
    hex('0A FF 85 03 01 02 FF 86 00 00 00'),
    hex('03 FF 86 00'),
  ]);
  // The golden transcript's ids (65, then 67 for the empty struct) are Go's; decode them.
  const values = decodeAll(bytes);
  assert.deepEqual(values, [{ServiceMethod: 'Plugin.Nope', Seq: 1, Error: "rpc: can't find method Plugin.Nope"}, {}]);
});

void test('Z_OnActivateArgs as Go encodes it (spec §4.4 step 10) [V]', () => {
  const Z_OnActivateArgs = struct('Z_OnActivateArgs', [
    ['APIMuxId', 'uint'],
    ['DriverMuxId', 'uint'],
  ]);
  const goBytes = hex(
    '3B FF 85 03 01 01 10 "Z_OnActivateArgs" 01 FF 86 00 01 02 01 08 "APIMuxId" 01 06 00 01 0B "DriverMuxId" 01 06 00 00 00 07 FF 86 01 01 01 02 00',
  );
  assert.deepEqual(decodeAll(goBytes), [{APIMuxId: 1, DriverMuxId: 2}]);
  const enc = new Encoder();
  enc.encode(Request, {}); // take id 65 like the Go host had
  enc.encode(Empty, {}); // 66
  // Our own numbering differs from Go's (67 vs 67 here by construction): compare values only.
  assert.deepEqual(decodeAll(Buffer.concat([enc.encode(Z_OnActivateArgs, {APIMuxId: 1, DriverMuxId: 2})]).subarray(0)), [
    {APIMuxId: 1, DriverMuxId: 2},
  ]);
});

void test('an interface value split across two messages (spec §3.2.5) [V]', () => {
  const returnsDef = hex('27 FF 87 03 01 01 13 "Z_OnActivateReturns" 01 FF 88 00 01 01 01 01 41 01 10 00 00 00');
  // Message 1: Z_OnActivateReturns value (68), field A, name, then the AppError definition (-69).
  const appErrorWire = hex(
    '03 01 01 08 "AppError" 01 FF 8A 00 01 07 ' +
      '01 02 "Id" 01 0C 00 01 07 "Message" 01 0C 00 01 0D "DetailedError" 01 0C 00 01 09 "RequestId" 01 0C 00 ' +
      '01 0A "StatusCode" 01 04 00 01 05 "Where" 01 0C 00 01 07 "IsOAuth" 01 02 00 00 00',
  );
  const msg1Payload = Buffer.concat([hex('FF 88 01 0F "*model.AppError" FF 89'), appErrorWire]);
  assert.equal(msg1Payload.length, 129, 'matches the length Go sent');
  const msg1 = Buffer.concat([hex('FF 81'), msg1Payload]);
  const msg2 = hex('12 FF 8A 0E 01 01 78 01 04 "boom" 03 FE 03 E8 00 00');
  const all = Buffer.concat([returnsDef, msg1, msg2]);
  const [value] = decodeAll(all) as [{A: GoInterface}];
  assert.equal(value.A.name, '*model.AppError');
  assert.deepEqual(value.A.value, {Id: 'x', Message: 'boom', StatusCode: 500});

  // Fed byte by byte, the decoder waits for the second message instead of failing.
  const d = new Decoder();
  let got: unknown;
  for (const b of all) {
    d.push(Buffer.from([b]));
    const r = d.next();
    if (r) got = r.value;
  }
  assert.deepEqual((got as {A: GoInterface}).A.value, {Id: 'x', Message: 'boom', StatusCode: 500});
});

void test('map[string]interface{} with nested map (spec §3.2.5) [V]', () => {
  const bytes = Buffer.concat([
    hex('0E FF 91 04 01 02 FF 92 00 01 0C 01 10 00 00'),
    hex('58 FF 92 00 04'),
    hex('01 61 06 "string" 0C 03 00 01 78'),
    hex('01 62 07 "float64" 08 04 00 FE F8 3F'),
    hex('01 63 04 "bool" 02 02 00 01'),
    hex('01 64 17 "map[string]interface {}" FF 92 0E 00 01 01 65 05 "int64" 04 02 00 04'),
  ]);
  const [m] = decodeAll(bytes) as [Map<string, GoInterface>];
  assert.equal(m.get('a')?.value, 'x');
  assert.equal(m.get('b')?.name, 'float64');
  assert.equal(m.get('b')?.value, 1.5);
  assert.equal(m.get('c')?.value, true);
  const nested = m.get('d')?.value as Map<string, GoInterface>;
  assert.equal(m.get('d')?.name, 'map[string]interface {}');
  assert.equal(nested.get('e')?.name, 'int64');
  assert.equal(nested.get('e')?.value, 2);

  // Our encoding of the same value decodes to the same thing (definitions sent up front).
  const MapStringIface = map('string', 'interface', 'map[string]interface {}');
  const ours = new Encoder().encode(
    MapStringIface,
    new Map<string, unknown>([
      ['a', iface.string('x')],
      ['b', iface.float64(1.5)],
      ['c', iface.bool(true)],
      ['d', new GoInterface('map[string]interface {}', new Map([['e', iface.int64(2)]]), MapStringIface)],
    ]),
  );
  // Compare values and registered names; the schemas differ only in Go's type naming.
  const strip = (v: unknown): unknown =>
    v instanceof GoInterface ? {name: v.name, value: strip(v.value)} : v instanceof Map ? new Map([...v].map(([k, x]) => [k, strip(x)])) : v;
  assert.deepEqual(strip(decodeAll(ours)[0]), strip(decodeAll(bytes)[0]));
});

void test('Z_LogDebugArgs with []interface{} (spec §3.2.5) [V]', () => {
  const IfaceSlice = slice('interface', '[]interface {}');
  const Z_LogDebugArgs = struct('Z_LogDebugArgs', [
    ['A', 'string'],
    ['B', IfaceSlice],
  ]);
  const enc = new Encoder();
  const bytes = enc.encode(Z_LogDebugArgs, {A: 'hello', B: [iface.string('k'), iface.string('v'), iface.string('n'), iface.int(3)]});
  // Our ids: struct 65, slice 66; Go's transcript used 71/72, so compare the slice definition shape and the value.
  assert.ok(bytes.includes(hex('02 01 01 0E "[]interface {}" 01 FF 84 00 01 10 00 00')));
  assert.ok(
    bytes.includes(
      hex(
        'FF 82 01 05 "hello" 01 04 06 "string" 0C 03 00 01 "k" 06 "string" 0C 03 00 01 "v" 06 "string" 0C 03 00 01 "n" 03 "int" 04 02 00 06 00',
      ),
    ),
  );
  const [v] = decodeAll(bytes) as [{A: string; B: GoInterface[]}];
  assert.deepEqual(
    v.B.map((x) => x.value),
    ['k', 'v', 'n', 3],
  );
});

void test('zero values are omitted, nil and empty collapse (spec §3.2.4)', () => {
  const T = struct('T', [
    ['B', 'bool'],
    ['I', 'int'],
    ['S', 'string'],
    ['Bytes', 'bytes'],
    ['L', slice('string')],
    ['M', map('string', 'int')],
    ['P', struct('Inner', [['X', 'int']])],
    ['F', 'float'],
  ]);
  const enc = new Encoder();
  const zero = enc.encode(T, {B: false, I: 0, S: '', Bytes: Buffer.alloc(0), L: [], M: null, P: null, F: 0});
  const [z, v] = decodeAll(Buffer.concat([zero, enc.encode(T, {M: new Map(), P: {}, Bytes: Buffer.from([1])})]));
  assert.deepEqual(z, {});
  assert.deepEqual(v, {Bytes: Buffer.from([1]), M: new Map(), P: {}});
});

void test('[]byte field encoding (spec §3.2.5)', () => {
  const T = struct('T', [
    ['A', 'string'],
    ['B', 'bytes'],
  ]);
  const bytes = new Encoder().encode(T, {A: 'a', B: Buffer.from([1])});
  assert.ok(bytes.subarray(-5).equals(hex('01 01 01 01 00')) || bytes.includes(hex('01 01 "a" 01 01 01 00')));
});

void test('64-bit integers beyond 2^53 round-trip as bigint', () => {
  const T = struct('T', [
    ['U', 'uint'],
    ['I', 'int'],
    ['Small', 'int'],
  ]);
  const enc = new Encoder();
  const [v] = decodeAll(enc.encode(T, {U: 2n ** 64n - 1n, I: -(2n ** 63n), Small: -5}));
  assert.deepEqual(v, {U: 2n ** 64n - 1n, I: -(2n ** 63n), Small: -5});
  assert.throws(() => enc.encode(T, {U: -1}), GobError);
  assert.throws(() => enc.encode(T, {U: 2n ** 64n}), GobError);
});

void test('arrays, complex, opaque BinaryMarshaler (url.URL) and GobEncoder values', () => {
  const URL = opaque('binaryMarshaler', '');
  const T = struct('T', [
    ['Arr', {kind: 'array', name: '', elem: 'int', len: 3}],
    ['C', 'complex'],
    ['URL', URL],
    ['Time', opaque('gobEncoder', 'Time')],
  ]);
  const enc = new Encoder();
  const [v] = decodeAll(
    enc.encode(T, {Arr: [1, 2, 3], C: {re: 1.5, im: -2}, URL: '/plugins/x?y=1', Time: Buffer.from([1, 0, 0, 0, 14])}),
  ) as [{Arr: number[]; C: {re: number; im: number}; URL: GoOpaque; Time: GoOpaque}];
  assert.deepEqual(v.Arr, [1, 2, 3]);
  assert.deepEqual(v.C, {re: 1.5, im: -2});
  assert.equal(v.URL.toString(), '/plugins/x?y=1');
  assert.deepEqual(v.Time.bytes, Buffer.from([1, 0, 0, 0, 14]));
  assert.throws(() => enc.encode(T, {Arr: [1, 2]}), /array needs 3/);
});

void test('the encoder sends each definition once per stream and is atomic on error', () => {
  const T = struct('T', [['A', 'string']]);
  const enc = new Encoder();
  const first = enc.encode(T, {A: 'x'});
  const second = enc.encode(T, {A: 'x'});
  assert.ok(first.length > second.length);
  const Bad = struct('Bad', [['A', 'string']]);
  assert.throws(() => enc.encode(Bad, {A: 5}), GobError);
  // Bad was rolled back: encoding it properly now still sends its definition.
  const dec = new Decoder();
  dec.push(Buffer.concat([first, second, enc.encode(Bad, {A: 'ok'})]));
  assert.deepEqual(
    [dec.next()?.value, dec.next()?.value, dec.next()?.value],
    [{A: 'x'}, {A: 'x'}, {A: 'ok'}],
  );
});

void test('the decoder rejects malformed input with GobError', () => {
  const bad: string[] = [
    '03 FF 00 06', // definition with reserved id... (i(-64)?) covered below
    '02 80 00', // unknown wireType? a definition of id 64 with junk
    '03 04 01 06', // non-zero singleton delta
    '02 FF 82', // value of undefined type 65
    '05 F0 01 02 03 04', // invalid uint length byte
    '00', // empty message
  ];
  for (const h of bad) {
    const d = new Decoder();
    d.push(hex(h));
    assert.throws(() => d.next(), GobError, h);
  }
  // Duplicate definitions are refused.
  const d = new Decoder();
  d.push(Buffer.concat([requestDefinition, requestDefinition]));
  assert.throws(() => d.next(), /duplicate type/);
  // A message claiming more than the limit is refused before it is buffered.
  const small = new Decoder({maxMessageBytes: 100});
  small.push(hex('FE 10 00'));
  assert.throws(() => small.next(), /too big/);
});

void test('long byte slices are referenced, not copied, and encode exactly as when copied', () => {
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  const Args = struct('WriteArgs', [
    ['Name', 'string'],
    ['Data', 'bytes'],
    ['Small', 'bytes'],
    ['N', 'int'],
  ]);
  const value = {Name: 'x', Data: big, Small: Buffer.from('tiny'), N: 7};

  // The reference bytes: the same value through a Writer that copies everything.
  const copying = new Writer();
  copying.uint(1);
  copying.string('x');
  copying.uint(1);
  copying.bytes(big);
  copying.uint(1);
  copying.bytes(Buffer.from('tiny'));
  copying.uint(1);
  copying.int(7);
  copying.uint(0);

  const chunks = new Encoder().encodeChunks(Args, value);
  assert.ok(chunks.includes(big), 'the 300 kB slice is passed through as is');
  const flat = Buffer.concat(chunks);
  assert.deepEqual(flat, new Encoder().encode(Args, value));
  const decoded = decodeAll(flat)[0] as {Data: Buffer; Small: Buffer; N: number};
  assert.deepEqual(decoded.Data, big);
  assert.equal(decoded.Small.toString(), 'tiny');
  assert.equal(decoded.N, 7);
  // The value message's payload is the type id then exactly the copying writer's bytes.
  assert.ok(flat.subarray(flat.length - copying.len).equals(copying.view()));
});

void test('ByteChunks encode as the concatenation of their pieces', () => {
  const pieces = [Buffer.alloc(20_000, 1), Buffer.from('mid'), Buffer.alloc(70_000, 2), Buffer.alloc(0)];
  const whole = Buffer.concat(pieces);
  const chunked = Buffer.concat(new Encoder().encodeChunks('bytes', new ByteChunks(pieces)));
  assert.deepEqual(chunked, new Encoder().encode('bytes', whole));
  assert.deepEqual(decodeAll(chunked)[0], whole);
  // As a struct field, empty chunks are omitted like an empty []byte.
  const S = struct('S', [['B', 'bytes']]);
  assert.deepEqual(new Encoder().encode(S, {B: new ByteChunks([Buffer.alloc(0)])}), new Encoder().encode(S, {B: Buffer.alloc(0)}));
});

void test('Writer.view inlines referenced slices and keeps writing after them', () => {
  const w = new Writer(4);
  const big = Buffer.alloc(40_000, 9);
  w.uint(5);
  w.bytesByReference(big);
  w.string('after');
  const expected = new Writer();
  expected.uint(5);
  expected.bytes(big);
  expected.string('after');
  assert.equal(w.size, expected.len);
  assert.deepEqual(Buffer.concat(w.chunks()), expected.view());
  assert.deepEqual(w.view(), expected.view());
  w.uint(3);
  expected.uint(3);
  assert.deepEqual(w.view(), expected.view());
});
