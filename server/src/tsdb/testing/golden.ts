// Test fixtures: the spec's §9 worked example (promtool 2.42 output), as hex.

export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex');
}

/** tiny.om, as parsed: up{job="a"} ×3, up{job="b"} ×1. */
export const TINY_SERIES = [
  {
    labels: {__name__: 'up', job: 'a'},
    samples: [
      {t: 1704067200000, v: 1},
      {t: 1704067215000, v: 1},
      {t: 1704067230500, v: 0},
    ],
  },
  {labels: {__name__: 'up', job: 'b'}, samples: [{t: 1704067200000, v: 2.5}]},
];

/** §9.1 chunks/000001, 2.x form (60 bytes). */
export const TINY_CHUNKS_V2 = hex(`
85bd 40dd 0100 0000 1701 0003 80d0 8fa5
9863 3ff0 0000 0000 0000 9875 40fa 622b
ff13 9466 7c11 0100 0180 d08f a598 6340
0400 0000 0000 0000 0059 d7f6`);

/** §9.1, 3.x form of the same segment. */
export const TINY_CHUNKS_V3 = Buffer.concat([
  TINY_CHUNKS_V2.subarray(0, 0x25),
  hex('10 01 00 01 80 d0 8f a5 98 63 40 04 00 00 00 00 00 00 0f 6a ef 43'),
]);

/** §9.2 index, 2.x layout (347 bytes). */
export const TINY_INDEX_V2 = hex(`
baaa d700 0200 0000 1900 0000 0600 085f
5f6e 616d 655f 5f01 6101 6203 6a6f 6202
7570 9d4a dd99 0000 0000 0000 0000 0000
1002 0105 0402 0180 d08f a598 63a4 ee01
08f9 dfed 5200 0000 0000 0000 0000 0000
0e02 0105 0403 0180 d08f a598 6300 2504
6f82 ff00 0000 000c 0000 0001 0000 0001
0000 0005 d2be 18a5 0000 0010 0000 0001
0000 0002 0000 0002 0000 0003 fc41 5442
0000 000c 0000 0002 0000 0003 0000 0005
bb33 cbd4 0000 000c 0000 0002 0000 0003
0000 0005 bb33 cbd4 0000 0008 0000 0001
0000 0003 a769 2ed2 0000 0008 0000 0001
0000 0005 81c8 c93a 0000 0015 0000 0002
0108 5f5f 6e61 6d65 5f5f 6401 036a 6f62
7870 f133 3200 0000 2a00 0000 0402 0000
9001 0208 5f5f 6e61 6d65 5f5f 0275 70a4
0102 036a 6f62 0161 b801 0203 6a6f 6201
62c8 01a9 8a2b 3b00 0000 0000 0000 0500
0000 0000 0000 2600 0000 0000 0000 6300
0000 0000 0000 d800 0000 0000 0000 9000
0000 0000 0000 f502 8f9d 90`);

/** §9.3 index, 3.7+ layout (272 bytes). */
export const TINY_INDEX_V3 = hex(`
ba aa d7 00 02 00 00 00 18 00 00 00 05 08 5f 5f
6e 61 6d 65 5f 5f 01 61 01 62 03 6a 6f 62 02 75
70 f0 b3 15 e7 00 00 00 00 00 00 00 00 00 00 00
10 02 00 04 03 01 01 80 d0 8f a5 98 63 a4 ee 01
08 0b fa 90 7e 00 00 00 00 00 00 00 00 00 00 00
0e 02 00 04 03 02 01 80 d0 8f a5 98 63 00 25 24
fb 49 5b 00 00 00 00 0c 00 00 00 02 00 00 00 03
00 00 00 05 bb 33 cb d4 00 00 00 0c 00 00 00 02
00 00 00 03 00 00 00 05 bb 33 cb d4 00 00 00 08
00 00 00 01 00 00 00 03 a7 69 2e d2 00 00 00 08
00 00 00 01 00 00 00 05 81 c8 c9 3a 00 00 00 28
00 00 00 04 02 00 00 64 02 08 5f 5f 6e 61 6d 65
5f 5f 02 75 70 78 02 03 6a 6f 62 01 61 8c 01 02
03 6a 6f 62 01 62 9c 01 26 77 04 e4 00 00 00 00
00 00 00 05 00 00 00 00 00 00 00 25 00 00 00 00
00 00 00 63 00 00 00 00 00 00 00 ac 00 00 00 00
00 00 00 63 00 00 00 00 00 00 00 ac c1 9c 95 e4`);

/** §2 meta.json for ULID 01M8ABCD77QWNSD91V4FC5WVFE (266 bytes, no trailing newline). */
export const TINY_ULID = '01M8ABCD77QWNSD91V4FC5WVFE';
export const TINY_META = `{
\t"ulid": "01M8ABCD77QWNSD91V4FC5WVFE",
\t"minTime": 1704067200000,
\t"maxTime": 1704067230501,
\t"stats": {
\t\t"numSamples": 4,
\t\t"numSeries": 2,
\t\t"numChunks": 2
\t},
\t"compaction": {
\t\t"level": 1,
\t\t"sources": [
\t\t\t"01M8ABCD77QWNSD91V4FC5WVFE"
\t\t]
\t},
\t"version": 1
}`;

export const EMPTY_TOMBSTONES = hex('01 30 BA 30 01 00 00 00 00');
