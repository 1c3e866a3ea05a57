// Axis-tick and tooltip value text for a panel unit (spec §1.5 formatValue).
import type {Unit} from './panels.ts';

function trim(n: number, digits: number): string {
  return Number(n.toFixed(digits)).toString();
}

function plain(v: number, extra: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${trim(v / 1e6, 2 + extra)}M`;
  if (a >= 1e3) return `${trim(v / 1e3, 2 + extra)}k`;
  if (a >= 10) return trim(v, 2 + extra);
  if (a === 0) return '0';
  return Number(v.toPrecision(3 + extra)).toString();
}

/**
 * Formats a value for display; null/NaN/±Inf (gaps) become an empty string.
 * `extraDigits` adds precision (axis ticks closer together than the default shows).
 */
export function formatValue(unit: Unit | undefined, v: number | null | undefined, extraDigits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  const a = Math.abs(v);
  const x = extraDigits;
  switch (unit) {
    case 'bytes':
      // Decimal units, as upstream (1 KB = 1000 B).
      if (a >= 1e9) return `${trim(v / 1e9, 2 + x)} GB`;
      if (a >= 1e6) return `${trim(v / 1e6, 2 + x)} MB`;
      if (a >= 1e3) return `${trim(v / 1e3, 2 + x)} KB`;
      return `${trim(v, x)} B`;
    case '%':
      return `${v.toFixed(1 + x)}%`;
    case 's':
      if (a === 0) return '0 s';
      if (a >= 1) return `${plain(v, x)} s`;
      if (a >= 0.001) return `${plain(v * 1e3, x)} ms`;
      return `${plain(v * 1e6, x)} μs`;
    default:
      return plain(v, x);
  }
}

/** Axis tick labels: the default precision, raised until neighbouring ticks read differently. */
export function formatTicks(unit: Unit | undefined, ticks: readonly number[]): string[] {
  let labels: string[] = [];
  for (let extra = 0; extra <= 4; extra++) {
    labels = ticks.map((v) => formatValue(unit, v, extra));
    if (labels.every((l, i) => i === 0 || l !== labels[i - 1])) return labels;
  }
  return labels;
}
