// Mutation fuzzing of the decoder: every input either decodes or fails with a
// GobError; nothing else may escape, and nothing may hang.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {Decoder, Encoder, GobError, GoInterface, iface, map, slice, struct} from './index.ts';

const cases = Number(process.env.GOB_FUZZ_CASES ?? 100_000);

function seeds(): Buffer[] {
  const Request = struct('Request', [
    ['ServiceMethod', 'string'],
    ['Seq', 'uint'],
  ]);
  const MapIface = map('string', 'interface', 'map[string]interface {}');
  const AppError = struct('AppError', [
    ['Id', 'string'],
    ['Message', 'string'],
    ['StatusCode', 'int'],
  ]);
  const Rich = struct('Rich', [
    ['A', 'interface'],
    ['B', slice('interface', '[]interface {}')],
    ['C', MapIface],
    ['D', 'bytes'],
    ['E', 'float'],
    ['F', {kind: 'array', name: '', elem: 'int', len: 2}],
    ['G', map('string', slice('string'), 'Header')],
  ]);
  const enc = new Encoder();
  return [
    Buffer.concat([enc.encode(Request, {ServiceMethod: 'Plugin.ServeHTTP', Seq: 7}), enc.encode('string', 'hooks')]),
    new Encoder().encode(Rich, {
      A: new GoInterface('*model.AppError', {Id: 'x', Message: 'boom', StatusCode: 500}, AppError),
      B: [iface.string('k'), iface.int(3), null],
      C: new Map([['n', iface.float64(1.5)], ['m', new GoInterface('map[string]interface {}', new Map([['b', iface.bool(true)]]), MapIface)]]),
      D: Buffer.from('payload'),
      E: -2.25,
      F: [1, -1],
      G: new Map([['Accept', ['*/*']]]),
    }),
  ];
}

function mutate(rng: () => number, input: Buffer, pool: Buffer[]): Buffer {
  const b = Buffer.from(input);
  const op = Math.floor(rng() * 6);
  const at = Math.floor(rng() * Math.max(1, b.length));
  switch (op) {
    case 0:
      b[at] ^= 1 << Math.floor(rng() * 8);
      return b;
    case 1:
      b[at] = Math.floor(rng() * 256);
      return b;
    case 2:
      return b.subarray(0, at);
    case 3:
      return Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(rng() * 256)]), b.subarray(at)]);
    case 4: {
      const other = pool[Math.floor(rng() * pool.length)];
      return Buffer.concat([b.subarray(0, at), other.subarray(Math.floor(rng() * other.length))]);
    }
    default:
      return Buffer.from(Array.from({length: 1 + Math.floor(rng() * 64)}, () => Math.floor(rng() * 256)));
  }
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

void test(`gob decoder survives ${cases} mutated inputs`, () => {
  const rng = xorshift(0x6f6221);
  const pool = seeds();
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < cases; i++) {
    let input = pool[i % pool.length];
    const rounds = 1 + Math.floor(rng() * 3);
    for (let r = 0; r < rounds; r++) input = mutate(rng, input, pool);
    const d = new Decoder({maxMessageBytes: 1 << 20});
    try {
      // Feed in one or two chunks to exercise resumption.
      const cut = Math.floor(rng() * (input.length + 1));
      d.push(input.subarray(0, cut));
      while (d.next()) decoded++;
      d.push(input.subarray(cut));
      for (let guard = 0; d.next(); guard++) {
        decoded++;
        assert.ok(guard < input.length + 1, 'decoder made no progress');
      }
    } catch (err) {
      if (!(err instanceof GobError)) throw new Error(`input ${input.toString('hex')} threw ${String(err)}`);
      rejected++;
    }
  }
  assert.ok(decoded > 0 && rejected > 0, `decoded ${decoded}, rejected ${rejected}`);
});
