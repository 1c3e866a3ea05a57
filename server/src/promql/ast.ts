// PromQL text → our own small AST, type-checked the way Prometheus 2.42's parser checks
// it. The grammar is @prometheus-io/lezer-promql (the editor grammar of Prometheus 3.x):
// it accepts constructs 2.42 does not have, recovers from errors instead of failing, and
// binds a signed number literal tighter than `^`; all three are handled here.

import type {SyntaxNode} from '@lezer/common';
import {parser} from '@prometheus-io/lezer-promql';
import {type Matcher, type MatchType, compileAnchored, matcherTest} from '../tsdb/labels/mod.ts';
import {badData} from './errors.ts';
import {FUNCTIONS, UNSUPPORTED_FUNCTIONS, type ValueType} from './functions.ts';

export type {ValueType};

export type AtModifier = {kind: 'time'; ms: number} | {kind: 'start'} | {kind: 'end'};

export interface VectorSelector {
  kind: 'vector';
  name?: string;
  matchers: Matcher[];
  /** ms; negative means "later". */
  offset: number;
  at?: AtModifier;
  pos: number;
}

export interface MatrixSelector {
  kind: 'matrix';
  vector: VectorSelector;
  rangeMs: number;
  pos: number;
}

export interface SubqueryExpr {
  kind: 'subquery';
  expr: Expr;
  rangeMs: number;
  /** 0 = the default step (Prometheus' global evaluation interval). */
  stepMs: number;
  offset: number;
  at?: AtModifier;
  pos: number;
}

export interface NumberLiteral {
  kind: 'number';
  value: number;
  pos: number;
}

export interface StringLiteral {
  kind: 'string';
  value: string;
  pos: number;
}

export interface Call {
  kind: 'call';
  func: string;
  args: Expr[];
  pos: number;
}

export type AggregateOp = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'group' | 'stddev' | 'stdvar' | 'topk' | 'bottomk' | 'quantile' | 'count_values';

export interface AggregateExpr {
  kind: 'aggregate';
  op: AggregateOp;
  expr: Expr;
  param?: Expr;
  grouping: string[];
  without: boolean;
  pos: number;
}

export type ArithOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type CompareOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithOp | CompareOp | SetOp;

export type Cardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

export interface VectorMatching {
  card: Cardinality;
  /** true: `on(labels)`; false: `ignoring(labels)` (also the default, with no labels). */
  on: boolean;
  labels: string[];
  /** Labels copied from the "one" side (group_left/group_right). */
  include: string[];
}

export interface BinaryExpr {
  kind: 'binary';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  returnBool: boolean;
  /** Set when both sides are instant vectors. */
  matching?: VectorMatching;
  pos: number;
}

export interface UnaryExpr {
  kind: 'unary';
  op: '-' | '+';
  expr: Expr;
  pos: number;
}

export type Expr = VectorSelector | MatrixSelector | SubqueryExpr | NumberLiteral | StringLiteral | Call | AggregateExpr | BinaryExpr | UnaryExpr;

export function typeOf(e: Expr): ValueType {
  switch (e.kind) {
    case 'vector':
    case 'aggregate':
      return 'vector';
    case 'matrix':
    case 'subquery':
      return 'matrix';
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'call':
      return FUNCTIONS[e.func].ret;
    case 'binary':
      return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'unary':
      return typeOf(e.expr);
  }
}

const DOCUMENTED: Record<ValueType, string> = {vector: 'instant vector', matrix: 'range vector', scalar: 'scalar', string: 'string'};

export function documentedType(t: ValueType): string {
  return DOCUMENTED[t];
}

export function isComparison(op: BinaryOp): op is CompareOp {
  return op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';
}

export function isSetOp(op: BinaryOp): op is SetOp {
  return op === 'and' || op === 'or' || op === 'unless';
}

// ---------------------------------------------------------------------------------------

const BINARY_OPS: Record<string, BinaryOp> = {
  Pow: '^',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Atan2: 'atan2',
  Add: '+',
  Sub: '-',
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Lss: '<',
  Gte: '>=',
  Lte: '<=',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
};

/** PromQL's binary operator precedence (higher binds tighter); `^` is right-associative. */
const PRECEDENCE: Record<BinaryOp, number> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '<': 3,
  '>=': 3,
  '<=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  atan2: 5,
  '^': 6,
};

const MATCH_OPS: Record<string, MatchType> = {EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~'};

const AGGREGATE_OPS = new Set<string>(['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values']);
const PARAM_AGGREGATES = new Set<string>(['topk', 'bottomk', 'quantile', 'count_values']);

function lineCol(q: string, pos: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < pos && i < q.length; i++) {
    if (q[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return `${line}:${col}`;
}

class Converter {
  private readonly pending = new Map<string, ((e: Expr) => void)[]>();

  constructor(
    private readonly q: string,
    private readonly holtWintersRenamed = false,
  ) {}

  text(n: SyntaxNode): string {
    return this.q.slice(n.from, n.to);
  }

  fail(pos: number, msg: string): never {
    throw badData(`${lineCol(this.q, pos)}: parse error: ${msg}`, pos);
  }

  unsupported(n: SyntaxNode, construct: string): never {
    throw badData(`unsupported: ${construct}`, n.from);
  }

  children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }

  /** Child expression nodes (lezer's `Expr` group), skipping punctuation and modifiers. */
  exprChildren(n: SyntaxNode): SyntaxNode[] {
    return this.children(n).filter((c) => c.type.is('Expr'));
  }

  expr(n: SyntaxNode): Expr {
    return this.exprWithModifiers(n);
  }

  exprInner(n: SyntaxNode): Expr {
    switch (n.name) {
      case 'ParenExpr': {
        const inner = this.exprChildren(n);
        if (inner.length !== 1) this.fail(n.from, 'unexpected parenthesis content');
        return this.expr(inner[0]);
      }
      case 'NumberDurationLiteral':
        return {kind: 'number', value: parseNumberOrDuration(this.text(n), (m) => this.fail(n.from, m)), pos: n.from};
      case 'StringLiteral':
        return {kind: 'string', value: unquoteString(this.text(n), (m) => this.fail(n.from, m)), pos: n.from};
      case 'VectorSelector':
        return this.vectorSelector(n);
      case 'MatrixSelector':
        return this.matrixSelector(n);
      case 'SubqueryExpr':
        return this.subquery(n);
      case 'OffsetExpr':
      case 'StepInvariantExpr':
        return this.modifierExpr(n);
      case 'FunctionCall':
        return this.call(n);
      case 'AggregateExpr':
        return this.aggregate(n);
      case 'BinaryExpr':
        return this.binary(n);
      case 'UnaryExpr':
        return this.unary(n);
      case 'AnchoredExpr':
        return this.unsupported(n, 'the anchored modifier');
      case 'SmoothedExpr':
        return this.unsupported(n, 'the smoothed modifier');
      default:
        return this.fail(n.from, `unexpected ${n.name}`);
    }
  }

  vectorSelector(n: SyntaxNode): VectorSelector {
    const matchers: Matcher[] = [];
    let name: string | undefined;
    for (const c of this.children(n)) {
      if (c.name === 'Identifier') {
        name = this.text(c);
      } else if (c.name === 'LabelMatchers') {
        for (const m of this.children(c)) {
          if (m.name === 'QuotedLabelMatcher' || m.name === 'QuotedLabelName') this.unsupported(m, 'quoted label names');
          if (m.name !== 'UnquotedLabelMatcher') continue;
          const parts = this.children(m);
          const ln = parts.find((p) => p.name === 'LabelName');
          const op = parts.find((p) => p.name === 'MatchOp')?.firstChild;
          const val = parts.find((p) => p.name === 'StringLiteral');
          if (!ln || !op || !val) this.fail(m.from, 'invalid label matcher');
          const type = MATCH_OPS[op.name];
          const value = unquoteString(this.text(val), (msg) => this.fail(val.from, msg));
          if (type === '=~' || type === '!~') {
            try {
              compileAnchored(value);
            } catch (e) {
              this.fail(val.from, `error parsing regexp: ${(e as Error).message}`);
            }
          }
          matchers.push({type, name: this.text(ln), value});
        }
      }
    }
    if (name !== undefined) {
      for (const m of matchers) {
        if (m.name === '__name__') this.fail(n.from, `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(m.value)}`);
      }
      matchers.unshift({type: '=', name: '__name__', value: name});
    }
    // Prometheus refuses selectors that would match every series.
    const nonEmpty = matchers.some((m) => {
      try {
        return !matcherTest(m)('');
      } catch {
        return true;
      }
    });
    if (!nonEmpty) this.fail(n.from, 'vector selector must contain at least one non-empty matcher');
    return {kind: 'vector', name, matchers, offset: 0, pos: n.from};
  }

  duration(n: SyntaxNode): number {
    // DurationExpr / OffsetDurationExpr: a plain literal, or arithmetic (Prometheus 3.x).
    const kids = this.children(n);
    if (kids.length === 1 && kids[0].name === 'NumberDurationLiteralInDurationContext') {
      const ms = parseDurationOrSeconds(this.text(kids[0]), (m) => this.fail(kids[0].from, m));
      if (!(ms > 0)) this.fail(kids[0].from, 'duration must be greater than 0');
      return ms;
    }
    if (n.name === 'OffsetDurationExpr' && kids.length === 2 && kids[0].name === 'UnaryOp') {
      const v = this.duration(kids[1]);
      return this.text(kids[0]) === '-' ? -v : v;
    }
    return this.unsupported(n, 'duration expressions');
  }

  matrixSelector(n: SyntaxNode): MatrixSelector {
    const inner = this.exprChildren(n)[0];
    const durNode = this.children(n).find((c) => c.name === 'DurationExpr');
    if (!inner || !durNode) this.fail(n.from, 'invalid range selector');
    this.checkPostfixRange(inner);
    if (inner.name !== 'VectorSelector') {
      this.fail(n.from, 'ranges only allowed for vector selectors');
    }
    const vector = this.vectorSelector(inner);
    const rangeMs = this.duration(durNode);
    if (!(rangeMs > 0)) this.fail(durNode.from, 'range must be greater than 0');
    return {kind: 'matrix', vector, rangeMs, pos: n.from};
  }

  /** lezer applies `[…]` to a whole preceding binary/unary expression; PromQL to its last operand. */
  checkPostfixRange(inner: SyntaxNode): void {
    if (inner.name === 'BinaryExpr') this.fail(inner.from, 'binary expression must contain only scalar and instant vector types');
    if (inner.name === 'UnaryExpr') this.fail(inner.from, 'unary expression only allowed on expressions of type scalar or instant vector');
  }

  subquery(n: SyntaxNode): SubqueryExpr {
    const inner = this.exprChildren(n)[0];
    const durs = this.children(n).filter((c) => c.name === 'DurationExpr');
    if (!inner || durs.length === 0) this.fail(n.from, 'invalid subquery');
    this.checkPostfixRange(inner);
    const expr = this.expr(inner);
    if (typeOf(expr) !== 'vector') this.fail(n.from, `subquery is only allowed on instant vector, got ${documentedType(typeOf(expr))} instead`);
    const rangeMs = this.duration(durs[0]);
    if (!(rangeMs > 0)) this.fail(durs[0].from, 'range must be greater than 0');
    const stepMs = durs.length > 1 ? this.duration(durs[1]) : 0;
    if (durs.length > 1 && !(stepMs > 0)) this.fail(durs[1].from, 'step must be greater than 0');
    return {kind: 'subquery', expr, rangeMs, stepMs, offset: 0, pos: n.from};
  }

  /**
   * lezer attaches a trailing `offset`/`@` to the whole preceding expression
   * (`a - b @ 5` → `(a - b) @ 5`); in PromQL it binds to the selector right before it.
   * Returns the node the modifier really belongs to.
   */
  modifierTarget(inner: SyntaxNode): SyntaxNode {
    let n = inner;
    for (;;) {
      if (n.name === 'BinaryExpr' || n.name === 'UnaryExpr') {
        const operands = this.exprChildren(n);
        n = operands[operands.length - 1];
        continue;
      }
      return n;
    }
  }

  /** Queues `apply` for the selector/subquery `target` converts to (checked then). */
  addModifier(target: SyntaxNode, what: string, apply: (e: VectorSelector | SubqueryExpr) => void): void {
    const key = `${target.from}:${target.to}:${target.name}`;
    const list = this.pending.get(key) ?? [];
    list.push((e: Expr) => {
      if (e.kind !== 'vector' && e.kind !== 'subquery' && e.kind !== 'matrix') {
        this.fail(target.from, `${what} modifier must be preceded by an instant vector selector or range vector selector or a subquery`);
      }
      apply(e.kind === 'matrix' ? e.vector : e);
    });
    this.pending.set(key, list);
  }

  /** Converts a node and applies the modifiers queued for it (innermost first). */
  exprWithModifiers(n: SyntaxNode): Expr {
    const e = this.exprInner(n);
    const key = `${n.from}:${n.to}:${n.name}`;
    const mods = this.pending.get(key);
    if (mods) {
      this.pending.delete(key);
      for (const m of mods.reverse()) m(e);
    }
    return e;
  }

  /** Queues the `offset`/`@` of modifier node `n` for the selector it really belongs to. */
  queueModifier(n: SyntaxNode, inner: SyntaxNode): void {
    const target = this.modifierTarget(inner);
    if (n.name === 'OffsetExpr') {
      const dur = this.children(n).find((c) => c.name === 'OffsetDurationExpr');
      if (!dur) this.fail(n.from, 'invalid offset');
      const offset = this.duration(dur);
      this.addModifier(target, 'offset', (t) => {
        if (t.offset !== 0) this.fail(n.from, 'offset may not be set multiple times');
        t.offset = offset;
      });
      return;
    }
    const kids = this.children(n);
    const pre = kids.find((c) => c.name === 'AtModifierPreprocessors');
    let at: AtModifier;
    if (pre) {
      at = pre.firstChild?.name === 'AtEnd' ? {kind: 'end'} : {kind: 'start'};
    } else {
      const lit = kids.find((c) => c.name === 'NumberDurationLiteral');
      if (!lit) this.fail(n.from, 'invalid @ modifier');
      const secs = parseNumberOrDuration(this.text(lit), (m) => this.fail(lit.from, m));
      if (!Number.isFinite(secs)) this.fail(lit.from, 'timestamp out of bounds for @ modifier');
      at = {kind: 'time', ms: Math.round(secs * 1000)};
    }
    this.addModifier(target, '@', (t) => {
      if (t.at) this.fail(n.from, '@ <timestamp> may not be set multiple times');
      t.at = at;
    });
  }

  /** OffsetExpr / StepInvariantExpr (`@`). */
  modifierExpr(n: SyntaxNode): Expr {
    const inner = this.exprChildren(n)[0];
    if (!inner) this.fail(n.from, `invalid ${n.name === 'OffsetExpr' ? 'offset' : '@'} modifier`);
    this.queueModifier(n, inner);
    return this.expr(inner);
  }

  call(n: SyntaxNode): Expr {
    const ident = this.children(n).find((c) => c.name === 'FunctionIdentifier');
    const body = this.children(n).find((c) => c.name === 'FunctionCallBody');
    if (!ident || !body) this.fail(n.from, 'invalid function call');
    let name = this.text(ident);
    if (this.holtWintersRenamed && name === 'double_exponential_smoothing') name = 'holt_winters';
    if (UNSUPPORTED_FUNCTIONS.has(name) || !(name in FUNCTIONS)) this.unsupported(ident, `function ${JSON.stringify(name)}`);
    const fn = FUNCTIONS[name];
    const args = this.exprChildren(body).map((a) => this.expr(a));
    const nargs = fn.args.length;
    if (fn.variadic === 0) {
      if (args.length !== nargs) this.fail(n.from, `expected ${nargs} argument(s) in call to ${JSON.stringify(name)}, got ${args.length}`);
    } else {
      const min = nargs - 1;
      if (args.length < min) this.fail(n.from, `expected at least ${min} argument(s) in call to ${JSON.stringify(name)}, got ${args.length}`);
      if (fn.variadic > 0 && args.length > min + fn.variadic) {
        this.fail(n.from, `expected at most ${min + fn.variadic} argument(s) in call to ${JSON.stringify(name)}, got ${args.length}`);
      }
    }
    args.forEach((a, i) => {
      const want = fn.args[Math.min(i, nargs - 1)];
      const got = typeOf(a);
      if (got !== want) {
        this.fail(a.pos, `expected type ${documentedType(want)} in call to function ${JSON.stringify(name)}, got ${documentedType(got)}`);
      }
    });
    return {kind: 'call', func: name, args, pos: n.from};
  }

  groupingLabels(n: SyntaxNode): string[] {
    const out: string[] = [];
    for (const c of this.children(n)) {
      if (c.name === 'QuotedLabelName') this.unsupported(c, 'quoted label names');
      if (c.name === 'LabelName') out.push(this.text(c));
    }
    return out;
  }

  aggregate(n: SyntaxNode): Expr {
    const kids = this.children(n);
    const opNode = kids.find((c) => c.name === 'AggregateOp')!;
    const op = this.text(opNode).toLowerCase();
    if (!AGGREGATE_OPS.has(op)) this.unsupported(opNode, `aggregation ${JSON.stringify(op)}`);
    const body = kids.find((c) => c.name === 'FunctionCallBody');
    if (!body) this.fail(n.from, 'invalid aggregation');
    const mod = kids.find((c) => c.name === 'AggregateModifier');
    let grouping: string[] = [];
    let without = false;
    if (mod) {
      without = mod.firstChild?.name === 'Without';
      const gl = this.children(mod).find((c) => c.name === 'GroupingLabels');
      if (gl) grouping = this.groupingLabels(gl);
    }
    const args = this.exprChildren(body).map((a) => this.expr(a));
    const wantArgs = PARAM_AGGREGATES.has(op) ? 2 : 1;
    if (args.length !== wantArgs) {
      this.fail(body.from, wantArgs === 2 ? `wrong number of arguments for aggregate expression provided, expected 2, got ${args.length}` : `wrong number of arguments for aggregate expression provided, expected 1, got ${args.length}`);
    }
    const expr = args[wantArgs - 1];
    const param = wantArgs === 2 ? args[0] : undefined;
    if (typeOf(expr) !== 'vector') this.fail(expr.pos, `expected type instant vector in aggregation expression, got ${documentedType(typeOf(expr))}`);
    if (param) {
      const want = op === 'count_values' ? 'string' : 'scalar';
      if (typeOf(param) !== want) this.fail(param.pos, `expected type ${documentedType(want)} in aggregation parameter, got ${documentedType(typeOf(param))}`);
    }
    return {kind: 'aggregate', op: op as AggregateOp, expr, param, grouping, without, pos: n.from};
  }

  /** True for a BinaryExpr, possibly under postfix modifiers lezer attached to it. */
  isBinaryChain(n: SyntaxNode): boolean {
    if (n.name === 'BinaryExpr') return true;
    if (n.name === 'OffsetExpr' || n.name === 'StepInvariantExpr') {
      const inner = this.exprChildren(n)[0];
      return inner !== undefined && this.isBinaryChain(inner);
    }
    return false;
  }

  /**
   * Flattens a chain of binary operators into operands and operators. lezer gives `offset`
   * and `@` no precedence, so `a or b offset 1m * c` arrives as `((a or b) offset 1m) * c`;
   * flattening (modifier → last operand) and re-associating yields PromQL's `a or ((b offset 1m) * c)`.
   */
  flatten(n: SyntaxNode, operands: SyntaxNode[], ops: {op: BinaryOp; node: SyntaxNode; kids: SyntaxNode[]}[]): void {
    if (n.name === 'OffsetExpr' || n.name === 'StepInvariantExpr') {
      const inner = this.exprChildren(n)[0];
      if (inner && this.isBinaryChain(inner)) {
        this.flatten(inner, operands, ops);
        this.queueModifier(n, operands[operands.length - 1]);
        return;
      }
    }
    if (n.name !== 'BinaryExpr') {
      operands.push(n);
      return;
    }
    const kids = this.children(n);
    const sides = kids.filter((c) => c.type.is('Expr'));
    const opNode = kids.find((c) => c.name in BINARY_OPS || c.name === 'TrimUpper' || c.name === 'TrimLower');
    if (sides.length !== 2 || !opNode) this.fail(n.from, 'invalid binary expression');
    if (opNode.name === 'TrimUpper' || opNode.name === 'TrimLower') this.unsupported(opNode, `operator ${this.text(opNode)}`);
    if (kids.some((c) => c.name === 'FillModifier')) this.unsupported(n, 'fill modifiers');
    this.flatten(sides[0], operands, ops);
    ops.push({op: BINARY_OPS[opNode.name], node: n, kids});
    this.flatten(sides[1], operands, ops);
  }

  binary(n: SyntaxNode): Expr {
    const operands: SyntaxNode[] = [];
    const ops: {op: BinaryOp; node: SyntaxNode; kids: SyntaxNode[]}[] = [];
    this.flatten(n, operands, ops);
    let next = 0; // index of the next operand; ops[k] follows operands[k]
    const parse = (minPrec: number): Expr => {
      const k = next++;
      const node = operands[k];
      let lhs: Expr;
      // lezer binds a signed literal tighter than `^`; Prometheus reads `-1 ^ 2` as `-(1 ^ 2)`.
      const litText = node.name === 'NumberDurationLiteral' ? this.text(node).replace(/^([+-])\s+/, '$1') : '';
      if (/^[-+]/.test(litText) && k < ops.length && ops[k].op === '^') {
        const base: NumberLiteral = {kind: 'number', value: parseNumberOrDuration(litText.slice(1), (m) => this.fail(node.from, m)), pos: node.from + 1};
        const info = ops[k];
        lhs = foldUnary(litText[0] as '-' | '+', this.makeBinary(info.node, '^', base, parse(PRECEDENCE['^']), info.kids), node.from);
      } else {
        lhs = this.expr(node);
      }
      while (next - 1 < ops.length) {
        const info = ops[next - 1];
        const prec = PRECEDENCE[info.op];
        if (prec < minPrec) break;
        const rhs = parse(info.op === '^' ? prec : prec + 1);
        lhs = this.makeBinary(info.node, info.op, lhs, rhs, info.kids);
      }
      return lhs;
    };
    return parse(0);
  }

  makeBinary(n: SyntaxNode, op: BinaryOp, lhs: Expr, rhs: Expr, kids: SyntaxNode[]): Expr {
    const returnBool = kids.some((c) => c.name === 'BoolModifier');
    const mm = kids.find((c) => c.name === 'MatchingModifierClause');
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    if ((lt !== 'scalar' && lt !== 'vector') || (rt !== 'scalar' && rt !== 'vector')) {
      this.fail(n.from, 'binary expression must contain only scalar and instant vector types');
    }
    if (returnBool && !isComparison(op)) this.fail(n.from, 'bool modifier can only be used on comparison operators');
    if (isComparison(op) && lt === 'scalar' && rt === 'scalar' && !returnBool) this.fail(n.from, 'comparisons between scalars must use BOOL modifier');
    if (isSetOp(op) && (lt === 'scalar' || rt === 'scalar')) this.fail(n.from, `set operator ${JSON.stringify(op)} not allowed in binary scalar expression`);
    let matching: VectorMatching | undefined;
    if (lt === 'vector' && rt === 'vector') {
      matching = {card: isSetOp(op) ? 'many-to-many' : 'one-to-one', on: false, labels: [], include: []};
      if (mm) {
        const mk = this.children(mm);
        matching.on = mk[0].name === 'On';
        const groups = mk.filter((c) => c.name === 'GroupingLabels');
        matching.labels = groups[0] ? this.groupingLabels(groups[0]) : [];
        const g = mk.find((c) => c.name === 'GroupLeft' || c.name === 'GroupRight');
        if (g) {
          if (isSetOp(op)) this.fail(g.from, `no grouping allowed for ${JSON.stringify(op)} operation`);
          matching.card = g.name === 'GroupLeft' ? 'many-to-one' : 'one-to-many';
          matching.include = groups[1] ? this.groupingLabels(groups[1]) : [];
          if (matching.on) {
            for (const l of matching.include) {
              if (matching.labels.includes(l)) this.fail(g.from, `label ${JSON.stringify(l)} must not occur in ON and GROUP clause at once`);
            }
          }
        }
      }
    } else if (mm) {
      this.fail(mm.from, 'vector matching only allowed between instant vectors');
    }
    return {kind: 'binary', op, lhs, rhs, returnBool, matching, pos: n.from};
  }

  unary(n: SyntaxNode): Expr {
    const kids = this.children(n);
    const opNode = kids.find((c) => c.name === 'UnaryOp');
    const inner = kids.find((c) => c.type.is('Expr'));
    if (!opNode || !inner) this.fail(n.from, 'invalid unary expression');
    const e = this.expr(inner);
    const t = typeOf(e);
    if (t !== 'scalar' && t !== 'vector') this.fail(n.from, 'unary expression only allowed on expressions of type scalar or instant vector');
    return foldUnary(this.text(opNode) as '-' | '+', e, n.from);
  }
}

function foldUnary(op: '-' | '+', e: Expr, pos: number): Expr {
  if (e.kind === 'number') return {kind: 'number', value: op === '-' ? -e.value : e.value, pos};
  if (op === '+') return e;
  return {kind: 'unary', op, expr: e, pos};
}

function findError(tree: ReturnType<typeof parser.parse>): SyntaxNode | null {
  let found: SyntaxNode | null = null;
  tree.iterate({
    enter(n) {
      if (found) return false;
      if (n.type.isError) {
        found = n.node;
        return false;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * Rewrites, outside string literals, what Go's lexer takes but the grammar does not:
 * 2.42's `holt_winters` (the grammar knows only its 3.x name; mapped back on conversion;
 * positions after it shift by 16 in messages) and a number with a trailing dot (`1.`,
 * same length: the dot becomes a space).
 */
function preprocess(query: string): {text: string; holtWinters: boolean} {
  const renameHW = query.includes('holt_winters') && !query.includes('double_exponential_smoothing');
  let out = '';
  let holtWinters = false;
  let i = 0;
  while (i < query.length) {
    const c = query[i];
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < query.length && query[j] !== c) j += query[j] === '\\' && c !== '`' ? 2 : 1;
      out += query.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '#') {
      const nl = query.indexOf('\n', i);
      const j = nl < 0 ? query.length : nl;
      out += query.slice(i, j);
      i = j;
      continue;
    }
    const prevIdent = i > 0 && /[\w:.]/.test(query[i - 1]);
    if (renameHW && !prevIdent) {
      const m = /^holt_winters(?=\s*\()/.exec(query.slice(i));
      if (m) {
        out += 'double_exponential_smoothing';
        holtWinters = true;
        i += m[0].length;
        continue;
      }
    }
    if (!prevIdent) {
      const m = /^\d+\.(?![\w.])/.exec(query.slice(i));
      if (m) {
        out += m[0].slice(0, -1) + ' ';
        i += m[0].length;
        continue;
      }
    }
    out += c;
    i++;
  }
  return {text: out, holtWinters};
}

export function parseExpr(original: string): Expr {
  const {text: query, holtWinters} = preprocess(original);
  const conv = new Converter(query, holtWinters);
  if (query.trim() === '') conv.fail(0, 'no expression found in input');
  const tree = parser.parse(query);
  const err = findError(tree);
  if (err) {
    const e = err as SyntaxNode;
    const prev = e.prevSibling;
    if (prev && prev.name === 'Identifier' && query.slice(e.from, e.to).startsWith('(')) {
      const name = query.slice(prev.from, prev.to);
      conv.fail(prev.from, `unknown function with name ${JSON.stringify(name)}`);
    }
    if (e.from >= query.length) conv.fail(e.from, 'unexpected end of input');
    const snippet = query.slice(e.from, Math.min(e.to > e.from ? e.to : e.from + 1, e.from + 20));
    conv.fail(e.from, `unexpected ${JSON.stringify(snippet)}`);
  }
  const top = tree.topNode;
  const exprs = conv.exprChildren(top);
  if (exprs.length !== 1) conv.fail(0, 'expected exactly one expression');
  return conv.expr(exprs[0]);
}

// --- literals ---------------------------------------------------------------------------

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];

/** Prometheus' model.ParseDuration (units y w d h m s ms, each once, in that order). */
export function parseDuration(s: string): number | null {
  if (s === '0') return 0;
  const m = DURATION_RE.exec(s);
  if (!m || s === '') return null;
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) if (m[i + 1] !== undefined) ms += Number(m[i + 1]) * UNIT_MS[i];
  return ms;
}

/** Go's strconv.ParseFloat for the forms PromQL's lexer hands it (decimal, hex, Inf, NaN). */
export function parseGoFloat(s: string): number | null {
  const t = s.replace(/_/g, '');
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(t)) return NaN;
  if (/^[+-]?0x[0-9a-f]+$/i.test(t)) {
    const neg = t.startsWith('-');
    const v = Number.parseInt(t.replace(/^[+-]?0x/i, ''), 16);
    return neg ? -v : v;
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) {
    const v = Number(t);
    // Go's ParseFloat refuses values beyond float64 instead of rounding them to ±Inf.
    return Number.isFinite(v) ? v : null;
  }
  return null;
}

function parseNumberOrDuration(text: string, fail: (m: string) => never): number {
  // A signed literal is one lezer node; whitespace may follow the sign.
  const s = text.replace(/^([+-])\s+/, '$1');
  const n = parseGoFloat(s);
  if (n !== null) return n;
  const sign = s.startsWith('-') ? -1 : 1;
  const d = parseDuration(s.replace(/^[+-]/, ''));
  if (d !== null) return (sign * d) / 1000;
  return fail(`bad number or duration syntax: ${JSON.stringify(s)}`);
}

function parseDurationOrSeconds(s: string, fail: (m: string) => never): number {
  const d = parseDuration(s);
  if (d !== null) return d;
  const n = parseGoFloat(s);
  if (n !== null && Number.isFinite(n)) return Math.round(n * 1000);
  return fail(`not a valid duration string: ${JSON.stringify(s)}`);
}

/** Go string literal rules: "…" and '…' with escapes, `…` raw. */
export function unquoteString(lit: string, fail: (m: string) => never): string {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q) return fail('unterminated quoted string');
  const body = lit.slice(1, -1);
  if (q === '`') return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    switch (e) {
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
      case "'":
        if (e !== q) fail(`unknown escape sequence \\${e}`);
        out += e;
        break;
      case 'x': {
        const h = body.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) fail('invalid \\x escape');
        out += String.fromCharCode(parseInt(h, 16));
        i += 2;
        break;
      }
      case 'u':
      case 'U': {
        const len = e === 'u' ? 4 : 8;
        const h = body.slice(i + 1, i + 1 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) fail(`invalid \\${e} escape`);
        const cp = parseInt(h, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) fail(`invalid \\${e} escape`);
        out += String.fromCodePoint(cp);
        i += len;
        break;
      }
      default:
        if (e !== undefined && /[0-7]/.test(e)) {
          const o = body.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(o)) fail('invalid octal escape');
          const v = parseInt(o, 8);
          if (v > 255) fail('octal escape value > 255');
          out += String.fromCharCode(v);
          i += 2;
          break;
        }
        fail(`unknown escape sequence \\${e ?? ''}`);
    }
  }
  return out;
}

