// Prometheus-style durations for CLI flags: 500ms, 15s, 10m, 2h, 1d (and combinations like 1h30m).
export function parseDuration(s: string): number {
  const units: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000};
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * units[m[2]];
    consumed = m.index + m[0].length;
  }
  if (consumed !== s.length || s.length === 0 || !(total > 0)) throw new Error(`not a duration: ${JSON.stringify(s)} (use e.g. 15s, 10m, 2h)`);
  return Math.round(total);
}
