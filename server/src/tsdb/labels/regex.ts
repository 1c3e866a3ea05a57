// Label regexes in RE2 syntax (what PromQL, the API's match[] and Mattermost's dashboards
// write) compiled to JS RegExps, anchored as Prometheus 2.42 does. One place, so a selector
// means the same in a query, in /api/v1/series and in the store.

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/**
 * Translates the RE2 syntax JS lacks: `(?P<name>`, leading `(?flags)`, `[[:class:]]`, `\z`.
 * Remaining differences: RE2 has no backreferences or lookaround (JS accepts them), and
 * JS `u`-mode rejects some escapes RE2 allows (those patterns fail as invalid).
 */
export function re2ToJs(re: string): string {
  let s = re.replace(/\[:(\^?)([a-z]+):\]/g, (m: string, neg: string, name: string) => {
    const cls = POSIX_CLASSES[name];
    if (!cls || neg) return m;
    return cls;
  });
  s = escapeLoneBrackets(s.replace(/\(\?P</g, '(?<').replace(/\\z/g, '$'));
  const lead = /^\(\?([imsU]+)\)/.exec(s);
  if (lead) {
    const flags = lead[1].replace(/U/g, '');
    s = flags ? `(?${flags}:${s.slice(lead[0].length)})` : s.slice(lead[0].length);
  }
  return s;
}

/** RE2 reads a `]`, `{` or `}` that opens/closes nothing as a literal; JS `u` mode refuses them. */
function escapeLoneBrackets(re: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < re.length; i++) {
    const c = re[i];
    if (c === '\\') {
      out += c + (re[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      // `[]a]` and `[^]a]`: a `]` right after the opening is a literal in RE2.
      if (c === ']' && !(re[i - 1] === '[' || (re[i - 1] === '^' && re[i - 2] === '['))) inClass = false;
      out += c === ']' && inClass ? '\\]' : c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
    } else if (c === ']' || c === '}') {
      out += '\\' + c;
    } else if (c === '{') {
      const q = /^\{\d+(,\d*)?\}/.exec(re.slice(i));
      if (q) {
        out += q[0];
        i += q[0].length - 1;
      } else out += '\\{';
    } else out += c;
  }
  return out;
}

/** Prometheus 2.42 anchors label regexes as `^(?:re)$` (no `s` flag: `.` does not match \n). */
export function compileAnchored(re: string): RegExp {
  return new RegExp(`^(?:${re2ToJs(re)})$`, 'u');
}
