// parseGoFloat vs Go's strconv.ParseFloat (+ Prometheus' p/P/_ ban). The Go oracle runs when
// `go` is on PATH (Debian golang); the hand table always runs.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {describe, it} from 'node:test';
import {plainDecimalAt} from './float.ts';
import {goInt64, parseGoFloat} from './mod.ts';
import {which} from './testing/oracle.ts';
import {rng} from './testing/mattermost.ts';

function bits(v: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(Number.isNaN(v) ? NaN : v);
  return Number.isNaN(v) ? '7ff8000000000001' : b.toString('hex');
}

const TABLE: [string, number | 'err'][] = [
  ['1', 1], ['-1.5e-3', -0.0015], ['.5', 0.5], ['5.', 5], ['+5', 5], ['1E+5', 1e5], ['-0', -0], ['1e-400', 0],
  ['NaN', NaN], ['Nan', NaN], ['nAN', NaN], ['+Inf', Infinity], ['-Inf', -Infinity], ['inf', Infinity], ['INFINITY', Infinity],
  ['+nan', 'err'], ['-NaN', 'err'], ['infin', 'err'], ['0x1p-2', 'err'], ['0x10', 'err'], ['1_0', 'err'], ['1e400', 'err'],
  ['', 'err'], ['.', 'err'], ['e5', 'err'], ['1e', 'err'], ['1e+', 'err'], [' 1', 'err'], ['1 ', 'err'], ['Infinity1', 'err'],
  ['1.7976931348623157e308', 1.7976931348623157e308], ['1.7976931348623159e308', 'err'], ['4.9e-324', 5e-324],
];

describe('parseGoFloat', () => {
  it('hand table', () => {
    for (const [s, want] of TABLE) {
      const got = parseGoFloat(s);
      if (want === 'err') assert.equal(got, undefined, s);
      else assert.ok(got !== undefined && Object.is(got, want) || (Number.isNaN(want) && Number.isNaN(got)), `${s}: ${got}`);
    }
  });

  it('goInt64 truncates and maps overflow to MinInt64 like amd64', () => {
    assert.equal(goInt64(1500.9), 1500);
    assert.equal(goInt64(-1.9), -1);
    assert.ok(Object.is(goInt64(-0.5), 0));
    assert.equal(goInt64(1e300), -9223372036854775808);
  });

  const go = which('go');
  it('agrees with Go strconv.ParseFloat on generated strings', {skip: go ? false : 'go not installed'}, () => {
    const r = rng(5);
    const parts = ['0', '1', '9', '5', '.', 'e', 'E', '+', '-', 'x', 'p', '_', 'inf', 'nan', 'Inf', 'NaN', '00', '308', '324', '999'];
    const inputs = new Set(TABLE.map((t) => t[0]));
    while (inputs.size < 20000) {
      let s = '';
      const n = 1 + Math.floor(r() * 6);
      for (let i = 0; i < n; i++) s += parts[Math.floor(r() * parts.length)];
      inputs.add(s);
    }
    const list = [...inputs];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gofloat-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'main.go'),
        `package main
import ("bufio";"encoding/json";"fmt";"math";"os";"strconv";"strings")
func main() {
  sc := bufio.NewScanner(os.Stdin); out := bufio.NewWriter(os.Stdout); defer out.Flush()
  for sc.Scan() { var s string; json.Unmarshal(sc.Bytes(), &s)
    if strings.ContainsAny(s, "pP_") { fmt.Fprintln(out, "err"); continue }
    f, err := strconv.ParseFloat(s, 64)
    if err != nil { fmt.Fprintln(out, "err"); continue }
    fmt.Fprintf(out, "%016x\\n", math.Float64bits(f)) }
}
`,
      );
      const res = spawnSync(go!, ['run', 'main.go'], {
        cwd: dir,
        input: list.map((s) => JSON.stringify(s)).join('\n') + '\n',
        encoding: 'utf8',
        env: {...process.env, GOCACHE: path.join(dir, 'cache'), GO111MODULE: 'off'},
        maxBuffer: 1 << 26,
      });
      assert.equal(res.status, 0, res.stderr);
      const lines = res.stdout.trim().split('\n');
      assert.equal(lines.length, list.length);
      const diffs: string[] = [];
      list.forEach((s, i) => {
        const v = parseGoFloat(s);
        const ours = v === undefined ? 'err' : bits(v);
        if (ours !== lines[i]) diffs.push(`${JSON.stringify(s)}: go ${lines[i]} ours ${ours}`);
      });
      assert.deepEqual(diffs.slice(0, 20), []);
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });
});

describe('plainDecimalAt', () => {
  it('agrees with parseGoFloat bit for bit where it answers, and declines the rest', () => {
    const cases = ['0', '-0', '7', '-12', '3.25', '.5', '7.', '-.5', '0.1', '0.3', '123456789012345', '1.23456789012345', '-99.999', '000123', '9007199254740991'];
    const declined = ['', '-', '.', '1e3', '+1', '1.2.3', 'NaN', '+Inf', '1_0', '1234567890123456', '0x10', '1 '];
    let seed = 7;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let k = 0; k < 20_000; k++) {
      const intDigits = Math.floor(rnd() * 9);
      const fracDigits = Math.floor(rnd() * 8);
      let t = rnd() < 0.3 ? '-' : '';
      for (let d = 0; d < intDigits; d++) t += String(Math.floor(rnd() * 10));
      if (fracDigits > 0 || rnd() < 0.1) t += '.';
      for (let d = 0; d < fracDigits; d++) t += String(Math.floor(rnd() * 10));
      cases.push(t);
    }
    const bits = (x: number): bigint => new BigUint64Array(new Float64Array([x]).buffer)[0];
    for (const c of cases) {
      const body = `x ${c} y`;
      const got = plainDecimalAt(body, 2, 2 + c.length);
      const want = parseGoFloat(c);
      if (Number.isNaN(got)) {
        assert.ok(/^-?\d{16,}$|^-?\.?$|^-?\d*\.\d*$/.test(c) || want === undefined, `declined ${JSON.stringify(c)}`);
        continue;
      }
      assert.ok(want !== undefined, c);
      assert.equal(bits(got), bits(want), c);
    }
    for (const c of declined) assert.ok(Number.isNaN(plainDecimalAt(c, 0, c.length)), JSON.stringify(c));
  });
});
