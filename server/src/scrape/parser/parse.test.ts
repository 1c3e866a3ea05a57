// Hand-written cases for every rule of the text 0.0.4 and OpenMetrics parsers (see README.md).
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {GO_NAN_BITS, LimitError, parse, parseEach, parseEachSliced, ParseError, type ParsedSample} from './mod.ts';

const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const OM = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** Renders samples as `name{a="b",…} value[ @ts]` (labels in stored order, __name__ first if it sorts first). */
function show(samples: ParsedSample[]): string[] {
  return samples.map((s) => {
    const name = s.labels.find((l) => l.name === '__name__')!.value;
    const rest = s.labels.filter((l) => l.name !== '__name__').map((l) => `${l.name}=${JSON.stringify(l.value)}`);
    const v = Number.isNaN(s.value) ? 'NaN' : Object.is(s.value, -0) ? '-0' : String(s.value);
    return `${name}${rest.length ? `{${rest.join(',')}}` : ''} ${v}${s.timestamp !== undefined ? ` @${s.timestamp}` : ''}`;
  });
}

function ok(body: string | Buffer, ct: string, want: string[]): void {
  const r = parse(body, ct);
  assert.deepEqual(show(r.samples), want);
  for (const s of r.samples) {
    for (let i = 1; i < s.labels.length; i++) assert.ok(s.labels[i - 1].name < s.labels[i].name, 'sorted, unique');
  }
}

function bad(body: string | Buffer, ct: string, re: RegExp): ParseError {
  let err: unknown;
  try {
    parse(body, ct);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ParseError, `expected ParseError for ${JSON.stringify(String(body))}, got ${String(err)}`);
  assert.match(err.message, re);
  return err;
}

describe('text format 0.0.4', () => {
  it('parses samples, labels, comments, HELP/TYPE', () => {
    const r = parse(
      '# HELP http_requests_total The total.\\nSecond line \\\\ ok\n# TYPE http_requests_total counter\n' +
        'http_requests_total{method="post",code="200"} 1027 1395066363000\n' +
        '# a comment\n#no-space comment\n\n' +
        'metric_without_timestamp_and_labels 12.47\n',
      TEXT,
    );
    assert.deepEqual(show(r.samples), [
      'http_requests_total{code="200",method="post"} 1027 @1395066363000',
      'metric_without_timestamp_and_labels 12.47',
    ]);
    assert.deepEqual(r.families.get('http_requests_total'), {type: 'counter', help: 'The total.\nSecond line \\ ok', unit: ''});
    assert.equal(r.format, 'text');
  });

  it('accepts the whitespace and comma variants promparse accepts', () => {
    ok(
      'a{ q="1" } 1\na { q="2", } 2\na { q = "3" , b = "x" } 3\na{q="4" b="y"} 4\na\t{q="5"}\t5\t 6 \nsome:rate5m{a_b="c"}\t1\n_x 1\na{}7\n',
      TEXT,
      ['a{q="1"} 1', 'a{q="2"} 2', 'a{b="x",q="3"} 3', 'a{b="y",q="4"} 4', 'a{q="5"} 5 @6', 'some:rate5m{a_b="c"} 1', '_x 1', 'a 7'],
    );
  });

  it('label escapes: \\" \\\\ \\n decoded, other escapes kept verbatim, raw newline allowed', () => {
    ok('a{l="q\\"b\\\\s\\nn\\t\\x"} 1\n', TEXT, ['a{l="q\\"b\\\\s\\nn\\\\t\\\\x"} 1']);
    ok('a{l="two\nlines"} 1\n', TEXT, ['a{l="two\\nlines"} 1']);
    ok('a{l="\\\\n"} 1\n', TEXT, ['a{l="\\\\n"} 1']);
    bad('a{l="x\\\ny"} 1\n', TEXT, /expected label value/);
  });

  it('values: Go ParseFloat forms, NaN as Go NaN bits, ±Inf', () => {
    const r = parse('a NaN\nb Nan\nc nan\nd +Inf\ne -Inf\nf inf\ng -infinity\nh 1e3\ni .5\nj 5.\nk -0\nl 1e-400\nm 0x10\n'.replace('m 0x10\n', ''), TEXT);
    assert.deepEqual(show(r.samples), ['a NaN', 'b NaN', 'c NaN', 'd Infinity', 'e -Infinity', 'f Infinity', 'g -Infinity', 'h 1000', 'i 0.5', 'j 5', 'k -0', 'l 0']);
    assert.equal(r.samples[0].valueBits, GO_NAN_BITS);
    assert.equal(r.samples[3].valueBits, undefined);
    for (const v of ['0x10', '0x1p-2', '1_000', '+NaN', '-nan', 'infin', '1e', 'e1', '.', '1e400', '-1e400', 'true', '1,5', '1.5\r']) {
      bad(`a ${v}\n`, TEXT, /ParseFloat|unsupported character/);
    }
    bad('a 1e400\n', TEXT, /value out of range/);
    bad('a 0x1p3\n', TEXT, /unsupported character in float/);
  });

  it('timestamps are int64 milliseconds; negative or fractional are rejected', () => {
    ok('a 1 0\nb 1 9007199254740991\n', TEXT, ['a 1 @0', 'b 1 @9007199254740991']);
    bad('a 1 -5\n', TEXT, /expected timestamp or new record/);
    bad('a 1 1.5\n', TEXT, /expected next entry after timestamp/);
    bad('a 1 2 3\n', TEXT, /expected next entry after timestamp/);
    bad('a 1 9223372036854775808\n', TEXT, /value out of range/);
  });

  it('types: untyped → unknown; invalid types rejected; HELP without text', () => {
    const r = parse('# TYPE a untyped\n# TYPE b gauge\n# HELP c\n# HELP d \n# TYPE e summary\n# TYPE f histogram\n', TEXT);
    assert.equal(r.families.get('a')!.type, 'unknown');
    assert.equal(r.families.get('c')!.help, '');
    bad('# TYPE a info\n', TEXT, /invalid metric type "info"/);
    bad('# TYPE a  counter\n', TEXT, /invalid metric type/);
    bad('# TYPE #\n', TEXT, /expected metric name after TYPE/);
  });

  it('invalid UTF-8 in label values and HELP is rejected; in comments it is fine', () => {
    bad(Buffer.from('a{b="\xff"} 1\n', 'latin1'), TEXT, /invalid UTF-8 label value/);
    bad(Buffer.from('# HELP a x\xff\n', 'latin1'), TEXT, /not a valid utf8/);
    bad(Buffer.from('# comment \xff\na{b="ü"} 1\n', 'latin1'), TEXT, /line 2: invalid UTF-8 label value/); // ü as the lone byte 0xfc
    ok(Buffer.from('# comment \xff\na 1\n', 'latin1'), TEXT, ['a 1']);
  });

  it('NUL handling follows promlex: allowed in values/HELP, ends input at line start', () => {
    ok('a{b="x\0y"} 1\n', TEXT, ['a{b="x\\u0000y"} 1']);
    ok('a 1\n\0b 2\n', TEXT, ['a 1']);
    bad('a\0{b="c"} 1\n', TEXT, /expected value after metric/);
  });

  it('rejects malformed lines like promparse', () => {
    bad('a\n', TEXT, /expected value after metric/);
    bad("a{b='c'} 1\n", TEXT, /expected label value/);
    bad('a{b=\n', TEXT, /expected label value/);
    bad('a{=""} 0\n', TEXT, /expected label name/);
    bad('{a="ok"} 1\n', TEXT, /expected a valid start token/);
    bad('a{b:c="d"} 1\n', TEXT, /expected equal/);
    bad('a{1b="d"} 1\n', TEXT, /expected label name/);
    bad('a{b="c",,d="e"} 1\n', TEXT, /expected label name/);
    bad('a{b="c"}{d="e"} 1\n', TEXT, /expected value after metric/);
    bad('1a 1\n', TEXT, /expected a valid start token/);
    bad('a 1\n  b 2\n', TEXT, /line 2: invalid metric name or label names: metric name " {2}b"/); // leading blanks join the name
    ok('a 1\n  \n\t# comment\n', TEXT, ['a 1']); // blank-only lines and indented comments are fine
    bad('a-b 1\n', TEXT, /ParseFloat/);
  });

  it('duplicate labels, empty values, missing name: as Prometheus stores them', () => {
    bad('a{b="1",b="2"} 1\n', TEXT, /label name "b" is not unique/);
    bad('a{__name__="b"} 1\n', TEXT, /label name "__name__" is not unique/);
    ok('a{b="",c="1"} 1\n', TEXT, ['a{c="1"} 1']);
    ok('a{b="",b="x"} 1\n', TEXT, ['a 1']); // labels.Builder deletes the name entirely
    bad('a{__name__=""} 1\n', TEXT, /missing metric name/);
    assert.deepEqual(parse('a{b=""} 1\n', TEXT).samples[0].emptyLabels, ['b']);
  });

  it('sorts labels in byte order with __name__ as an ordinary label', () => {
    const r = parse('m{z="1",A="2",a="3",_b="4"} 1\n', TEXT);
    assert.deepEqual(
      r.samples[0].labels.map((l) => l.name),
      ['A', '__name__', '_b', 'a', 'z'],
    );
  });

  it('parse errors carry line number and excerpt', () => {
    const e = bad('a 1\nb 2\nc{d="e"} x\n', TEXT, /line 3/);
    assert.equal(e.line, 3);
    assert.match(e.excerpt, /c\{d=\\"e\\"\} x/);
  });
});

describe('OpenMetrics 1.0', () => {
  it('parses every metric type, _created as its own series, unit, exemplars skipped, timestamps in seconds', () => {
    const body = [
      '# TYPE acme_http_router_request_seconds summary',
      '# UNIT acme_http_router_request_seconds seconds',
      '# HELP acme_http_router_request_seconds Latency though all of ACME\'s HTTP request router.',
      'acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32',
      'acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0',
      'acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0',
      '# TYPE go_goroutines gauge',
      'go_goroutines 69',
      '# TYPE process_cpu_seconds counter',
      '# UNIT process_cpu_seconds seconds',
      'process_cpu_seconds_total 4.20072246e+06',
      'process_cpu_seconds_created 1.5e9',
      '# TYPE foo histogram',
      'foo_bucket{le="0.0"} 0',
      'foo_bucket{le="1e-05"} 0 # {trace_id="KOO5S4vxi0o"} 0.67',
      'foo_bucket{le="+Inf"} 17 123.456 # {id="x",y=""} 9 1520879607.789',
      'foo_count 17',
      'foo_sum 324789.3',
      'foo_created 1520430000.123',
      '# TYPE gh gaugehistogram',
      'gh_bucket{le="+Inf"} 5',
      'gh_gcount 5',
      'gh_gsum 1',
      '# TYPE build info',
      'build_info{version="1.0"} 1',
      '# TYPE state stateset',
      'state{state="a"} 1',
      'state{state="b"} 0',
      '# TYPE u unknown',
      'u -Inf -1.5',
      'u2 NaN 0.0005',
      '# EOF',
      '',
    ].join('\n');
    const r = parse(body, OM);
    assert.equal(r.format, 'openmetrics');
    assert.deepEqual(show(r.samples), [
      'acme_http_router_request_seconds_sum{method="GET",path="/api/v1"} 9036.32',
      'acme_http_router_request_seconds_count{method="GET",path="/api/v1"} 807283',
      'acme_http_router_request_seconds_created{method="GET",path="/api/v1"} 1605281325',
      'go_goroutines 69',
      'process_cpu_seconds_total 4200722.46',
      'process_cpu_seconds_created 1500000000',
      'foo_bucket{le="0.0"} 0',
      'foo_bucket{le="1e-05"} 0',
      'foo_bucket{le="+Inf"} 17 @123456',
      'foo_count 17',
      'foo_sum 324789.3',
      'foo_created 1520430000.123',
      'gh_bucket{le="+Inf"} 5',
      'gh_gcount 5',
      'gh_gsum 1',
      'build_info{version="1.0"} 1',
      'state{state="a"} 1',
      'state{state="b"} 0',
      'u -Infinity @-1500',
      'u2 NaN @0',
    ]);
    assert.deepEqual(r.families.get('process_cpu_seconds'), {type: 'counter', help: '', unit: 'seconds'});
    assert.equal(r.families.get('gh')!.type, 'gaugehistogram');
    assert.equal(r.families.get('build')!.type, 'info');
    assert.equal(r.families.get('state')!.type, 'stateset');
    assert.equal(r.families.get('acme_http_router_request_seconds')!.help, "Latency though all of ACME's HTTP request router.");
  });

  it('timestamp conversion is int64(seconds*1000) (truncation)', () => {
    ok('a 1 1.0009\nb 1 -0.0019\nc 1 1e-4\n# EOF\n', OM, ['a 1 @1000', 'b 1 @-1', 'c 1 @0']);
    bad('a 1 NaN\n# EOF\n', OM, /invalid timestamp NaN/);
    bad('a 1 +Inf\n# EOF\n', OM, /invalid timestamp/);
    bad('a 1 x\n# EOF\n', OM, /ParseFloat/);
  });

  it('# EOF is mandatory, optional final newline, nothing after it', () => {
    ok('a 1\n# EOF', OM, ['a 1']);
    ok('# EOF\n', OM, []);
    bad('a 1\n', OM, /data does not end with # EOF/);
    bad('', OM, /data does not end with # EOF/);
    bad('a 1', OM, /data does not end with # EOF/);
    bad('# EOF\n\n', OM, /unexpected data after # EOF/);
    bad('# EOF\na 1\n', OM, /unexpected data after # EOF/);
    bad('a 1\n# EOF\n# EOF\n', OM, /unexpected data after # EOF/);
  });

  it('is strict about spacing, blank lines, comments and label syntax', () => {
    bad('\n# EOF\n', OM, /expected a valid start token/);
    bad('# random comment\n# EOF\n', OM, /expected a valid start token/);
    bad('#EOF\n', OM, /expected a valid start token/);
    bad('a  1\n# EOF\n', OM, /ParseFloat|expected value/);
    bad('a\t1\n# EOF\n', OM, /expected value after metric/);
    bad('a 1 \n# EOF\n', OM, /expected timestamp or # symbol/);
    bad('a{b="c",} 1\n# EOF\n', OM, /expected label name/);
    bad('a{,b="c"} 1\n# EOF\n', OM, /expected label name or left brace/);
    bad('a{b="c" d="e"} 1\n# EOF\n', OM, /expected comma/);
    bad('a{ b="c"} 1\n# EOF\n', OM, /expected label name or left brace/);
    bad('a {b="c"} 1\n# EOF\n', OM, /ParseFloat/);
    bad('a{b="x\ny"} 1\n# EOF\n', OM, /expected label value/);
    bad('a 1\r\n# EOF\n', OM, /ParseFloat|expected timestamp/);
    bad('# HELP a\n# EOF\n', OM, /expected text in HELP/);
    bad('# TYPE a untyped\n# EOF\n', OM, /invalid metric type "untyped"/);
    bad('# TYPE a counter \n# EOF\n', OM, /invalid metric type/);
  });

  it('UNIT must be a suffix of the family name after an underscore', () => {
    ok('# UNIT a_seconds seconds\n# UNIT b \n# EOF\n', OM, []);
    bad('# UNIT a_seconds bytes\n# EOF\n', OM, /unit "bytes" not a suffix of metric "a_seconds"/);
    bad('# UNIT aseconds seconds\n# EOF\n', OM, /not a suffix/);
    bad('# UNIT seconds seconds\n# EOF\n', OM, /not a suffix/);
  });

  it('validates exemplars even though it drops them', () => {
    ok('a_total 1 # {} 1\n# EOF\n', OM, ['a_total 1']);
    ok('a 1 # {a="b"} 1 1.5\n# EOF\n', OM, ['a 1']); // 2.48 allows exemplars on any name
    bad('a_total 1 # {a="b"}\n# EOF\n', OM, /expected value after exemplar labels/);
    bad('a_total 1 # {a="b"} x\n# EOF\n', OM, /ParseFloat/);
    bad('a_total 1 # {a="b"} 1 NaN\n# EOF\n', OM, /invalid exemplar timestamp/);
    bad('a_total 1 # {a="b"} 1 2 3\n# EOF\n', OM, /expected next entry after exemplar timestamp/);
    bad('a_total 1 # x\n# EOF\n', OM, /expected timestamp or # symbol|invalid/i);
    bad('a_total 1 # {a="b"} 1', OM, /data does not end with # EOF/);
  });

  it('HELP uses label-value escapes in OpenMetrics', () => {
    const r = parse('# HELP a q\\"x\\\\y\\nz\n# EOF\n', OM);
    assert.equal(r.families.get('a')!.help, 'q"x\\y\nz');
  });
});

describe('content type and limits', () => {
  it('falls back to text for missing, unknown and unparsable content types', () => {
    for (const ct of ['', 'text/plain', 'application/json', 'application/openmetrics-text; garbage', 'application/openmetrics-text;version=1.0.0;version=2']) {
      assert.equal(parse('a 1\n', ct).format, 'text', ct);
    }
    assert.equal(parse('a 1\n# EOF\n', 'Application/OpenMetrics-Text;version=0.0.1').format, 'openmetrics');
    bad('a 1\n', 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited', /unsupported exposition format/);
  });

  it('sample limit: error, no partial result; syntax errors take precedence', () => {
    assert.equal(parse('a 1\nb 2\n', TEXT, {sampleLimit: 2}).samples.length, 2);
    assert.throws(() => parse('a 1\nb 2\nc 3\n', TEXT, {sampleLimit: 2}), (e) => e instanceof LimitError && e.message === 'sample limit exceeded');
    assert.throws(() => parse('a 1\nb 2\nc 3\nd x\n', TEXT, {sampleLimit: 2}), ParseError);
  });

  it('label limits are checked on the final label set (target labels included)', () => {
    const target = {labels: [{name: 'job', value: 'j'}, {name: 'instance', value: 'i:1'}], honorLabels: false, honorTimestamps: true, scrapeTime: 5};
    assert.equal(parse('a{b="1"} 1\n', TEXT, {labelLimit: 2}).samples.length, 1);
    assert.throws(() => parse('a{b="1"} 1\n', TEXT, {labelLimit: 3, target}), /label_limit exceeded \(metric: a, number of labels: 4, limit: 3\)/);
    assert.throws(() => parse('a{long_name="1"} 1\n', TEXT, {labelNameLengthLimit: 8}), /label_name_length_limit exceeded/);
    assert.throws(() => parse('a{b="ééé"} 1\n', TEXT, {labelValueLengthLimit: 5}), /label_value_length_limit exceeded.*length: 6, limit: 5/);
    assert.equal(parse('a{b="ééé"} 1\n', TEXT, {labelValueLengthLimit: 6}).samples.length, 1);
  });

  it('handles a body that is not valid UTF-8 outside values (comments)', () => {
    const b = Buffer.concat([Buffer.from('# junk '), Buffer.from([0xff, 0xfe]), Buffer.from('\na{b="ü"} 1\n')]);
    assert.deepEqual(show(parse(b, TEXT).samples), ['a{b="ü"} 1']);
  });
});

describe('parseEachSliced', () => {
  // 0 ms slices: it stops at every clock check, so a body of a few hundred entries is parsed
  // in several slices.
  const sliced = async (body: string, ct: string, opts = {}): Promise<{samples: ParsedSample[]; slices: number; total: number}> => {
    const samples: ParsedSample[] = [];
    let slices = 1;
    const r = await parseEachSliced(body, ct, opts, (s) => samples.push(s), undefined, {
      sliceMs: 0,
      between: async () => {
        slices++;
      },
    });
    return {samples, slices, total: r.total};
  };
  const body = (n: number, om: boolean): string => {
    let b = '# HELP a_total Help.\n# TYPE a_total counter\n';
    for (let i = 0; i < n; i++) b += `a_total{i="${i}"} ${i}\n`;
    return om ? `${b}# EOF\n` : b;
  };

  for (const [format, ct] of [
    ['text', TEXT],
    ['OpenMetrics', OM],
  ] as const) {
    it(`${format}: the same samples as parseEach, in several slices`, async () => {
      const b = body(500, ct === OM);
      const whole: ParsedSample[] = [];
      const r = parseEach(b, ct, {}, (s) => whole.push(s));
      const got = await sliced(b, ct);
      assert.ok(got.slices > 2, `${got.slices} slices`);
      assert.equal(got.total, r.total);
      assert.deepEqual(show(got.samples), show(whole));
    });

    it(`${format}: a syntax error after a pause is the same ParseError`, async () => {
      const b = body(300, false) + 'a_total{i="x" 1\n' + (ct === OM ? '# EOF\n' : '');
      let want: unknown;
      try {
        parseEach(b, ct, {}, () => {});
      } catch (e) {
        want = e;
      }
      assert.ok(want instanceof ParseError);
      await assert.rejects(sliced(b, ct), (e: unknown) => e instanceof ParseError && e.message === want.message);
    });
  }

  it('the sample limit is checked at the end, as parseEach does', async () => {
    await assert.rejects(sliced(body(200, false), TEXT, {sampleLimit: 100}), LimitError);
  });

  it('a rejected between() ends the parse with its reason', async () => {
    const stop = new Error('stopped');
    await assert.rejects(
      parseEachSliced(body(500, false), TEXT, {}, () => {}, undefined, {sliceMs: 0, between: () => Promise.reject(stop)}),
      (e) => e === stop,
    );
  });
});
