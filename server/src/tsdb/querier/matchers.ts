// Compiled matchers: a matcher that matches "" also matches series that lack the label
// (labelValue gives "" for those). The value tests are labels/matcher.ts's.

import type {Matcher} from '../block/mod.ts';
import {type Labels, labelValue, matcherTest} from '../labels/mod.ts';

export interface CompiledMatcher {
  readonly m: Matcher;
  readonly test: (value: string) => boolean;
  /** True if the matcher accepts "", i.e. also series without the label. */
  readonly matchesEmpty: boolean;
}

/** Compiles one matcher; throws on an unknown type or an invalid regex. */
export function compileMatcher(m: Matcher): CompiledMatcher {
  const test = matcherTest(m);
  return {m, test, matchesEmpty: test('')};
}

export function compileMatchers(ms: readonly Matcher[]): CompiledMatcher[] {
  return ms.map(compileMatcher);
}

/** True if the label set satisfies every matcher. */
export function matchesAll(labels: Labels, ms: readonly CompiledMatcher[]): boolean {
  for (const c of ms) if (!c.test(labelValue(labels, c.m.name))) return false;
  return true;
}
