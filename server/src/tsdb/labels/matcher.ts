// Label matchers with PromQL semantics: regexes are RE2 syntax, fully anchored (regex.ts).
import {compileAnchored} from './regex.ts';

export type MatchType = '=' | '!=' | '=~' | '!~';

/** A matcher that matches "" also matches series without the label. */
export interface Matcher {
  type: MatchType;
  name: string;
  value: string;
}

/** The value test of one matcher; throws on an unknown type or an invalid regex. */
export function matcherTest(m: Matcher): (value: string) => boolean {
  switch (m.type) {
    case '=':
      return (v) => v === m.value;
    case '!=':
      return (v) => v !== m.value;
    case '=~': {
      const re = compileAnchored(m.value);
      return (v) => re.test(v);
    }
    case '!~': {
      const re = compileAnchored(m.value);
      return (v) => !re.test(v);
    }
    default:
      throw new Error(`unknown matcher type ${String((m as Matcher).type)}`);
  }
}
