// Label matchers with PromQL semantics: regexes are fully anchored (RE2 syntax is close
// enough to JS for the patterns in use; `s` so `.` matches newlines, as in Go).

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
      const re = new RegExp(`^(?:${m.value})$`, 'su');
      return (v) => re.test(v);
    }
    case '!~': {
      const re = new RegExp(`^(?:${m.value})$`, 'su');
      return (v) => !re.test(v);
    }
    default:
      throw new Error(`unknown matcher type ${String((m as Matcher).type)}`);
  }
}
