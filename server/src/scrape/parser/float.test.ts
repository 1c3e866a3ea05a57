// parseGoFloat vs Go's strconv.ParseFloat (+ Prometheus' p/P/_ ban). The Go oracle runs when
// `go` is on PATH (Debian golang); the hand table always runs.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {describe, it} from 'node:test';
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
