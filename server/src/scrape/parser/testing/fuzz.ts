// Seed corpus and byte-level mutator for the parser fuzz test and the differential fuzz.
import {mattermostExposition} from './mattermost.ts';

/** Small valid expositions in both formats exercising every construct. */
export function seedCorpus(): Buffer[] {
  const seeds = [
    '# HELP a The a.\n# TYPE a counter\na{b="c",d="e\\"f\\\\g\\nh"} 1 1700000000000\na{b="x"} NaN\nb +Inf\nc -Inf\nd 1e-3\n# comment\n\n',
    'x { a = "1" , } 2\ny\t3\t4\nz{q="0.5"} 5.\nlong_name_here{A="B",_x="ü€😀"} -0.0\n',
    '# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 1\ns_count 1\n',
    '# TYPE a counter\n# UNIT a_seconds seconds\n# HELP a help \\" text\na_total{x="y"} 1 1.5 # {tr="1"} 2 3\na_created 1.2e9\n# EOF\n',
    '# TYPE g gaugehistogram\ng_bucket{le="+Inf"} 1 # {} 1\ng_gcount 1\ng_gsum 0\n# TYPE i info\ni_info{v="1"} 1\n# TYPE st stateset\nst{st="a"} 1\nst{st="b"} 0\n# TYPE u unknown\nu Nan -1.25\n# EOF',
    mattermostExposition({series: 200, format: 'text', seed: 7}),
    mattermostExposition({series: 200, format: 'openmetrics', seed: 8}),
  ];
  return seeds.map((s) => Buffer.from(s));
}

const TOKENS = [
  '{', '}', '"', '\\', '=', ',', ' ', '\t', '\n', '\r', '#', '# ', '# EOF\n', '# HELP ', '# TYPE ', '# UNIT ', ' # {',
  'NaN', 'Nan', '+Inf', '-Inf', 'inf', '0x1p3', '1_0', '1e400', '1e-400', '.', 'e', '-', '+', '0', '9223372036854775808',
  '__name__', 'le', '_total', '_created', 'counter', 'gauge', 'histogram', 'untyped', 'info', 'stateset', 'gaugehistogram',
  '\0', '\xff', 'é', '😀', '\\n', '\\"', '\\\\', '\\x',
];

/** One to four random edits: byte flips, token insertions, deletions, duplications, splices. */
export function mutate(seed: Buffer, r: () => number): Buffer {
  let b = Buffer.from(seed);
  const edits = 1 + Math.floor(r() * 4);
  for (let e = 0; e < edits; e++) {
    const pos = Math.floor(r() * (b.length + 1));
    switch (Math.floor(r() * 6)) {
      case 0: // random byte
        if (b.length) b[Math.min(pos, b.length - 1)] = Math.floor(r() * 256);
        break;
      case 1: {
        // insert token
        const t = Buffer.from(TOKENS[Math.floor(r() * TOKENS.length)], r() < 0.1 ? 'latin1' : 'utf8');
        b = Buffer.concat([b.subarray(0, pos), t, b.subarray(pos)]);
        break;
      }
      case 2: {
        // delete a run
        const len = 1 + Math.floor(r() * 8);
        b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + len)]);
        break;
      }
      case 3: {
        // duplicate a run
        const len = 1 + Math.floor(r() * 40);
        b = Buffer.concat([b.subarray(0, pos), b.subarray(pos, pos + len), b.subarray(pos)]);
        break;
      }
      case 4: // truncate
        b = b.subarray(0, pos);
        break;
      default: {
        // replace a token with another
        const t = Buffer.from(TOKENS[Math.floor(r() * TOKENS.length)]);
        b = Buffer.concat([b.subarray(0, pos), t, b.subarray(pos + t.length)]);
      }
    }
  }
  return b;
}
