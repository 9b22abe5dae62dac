import { assertNever } from './ast.ts';
import type { BoundExpr } from './check.ts';
import type { LiteralArg } from './functions.ts';
import type { Value } from './types.ts';

/**
 * Turns bound expressions into JavaScript expression text over row `i`. Inputs are `c<k>[i]` (the compiled loop
 * aliases input column k as `c<k>`), literals are reads of the parameter array `p`, helpers are `f.<name>`, and
 * intermediate values live in temporaries `t<n>` the loop declares once. Every compound expression is
 * parenthesised, so emitters can splice their arguments anywhere.
 */
export class Codegen {
  readonly params: Value[] = [];
  readonly columns = new Set<number>();
  /** Temporaries needed by the widest statement; statements run one after another, so they share them. */
  maxTemps = 0;
  private temps = 0;

  /** The code of one statement's expression; temporaries restart at t0. */
  statement(b: BoundExpr): string {
    this.temps = 0;
    const text = this.gen(b);
    this.maxTemps = Math.max(this.maxTemps, this.temps);
    return text;
  }

  private gen(b: BoundExpr): string {
    switch (b.kind) {
      case 'col':
        this.columns.add(b.index);
        return `c${b.index}[i]`;
      case 'lit':
        return b.value === null ? 'null' : `p[${this.param(b.value)}]`;
      case 'call':
        return this.genCall(b);
      case 'case':
        return this.genCase(b);
      case 'cast':
        return this.genCast(b);
      default:
        return assertNever(b);
    }
  }

  private temp(): string {
    return `t${this.temps++}`;
  }

  /** Equal primitive literals share one slot; the loop reads `p[k]` instead of code text built from user data. */
  private param(v: Value): number {
    const k = typeof v === 'object' ? -1 : this.params.findIndex((x) => Object.is(x, v));
    if (k >= 0) return k;
    this.params.push(v);
    return this.params.length - 1;
  }

  private genCall(b: Extract<BoundExpr, { kind: 'call' }>): string {
    const propagate = b.def.nulls === 'propagate';
    const codes = b.args.map((a) => this.gen(a));
    if (propagate && codes.includes('null')) return 'null';
    const types = b.args.map((a) => a.type);
    const literals = b.args.map((a): LiteralArg | undefined => (a.kind === 'lit' ? { value: a.value } : undefined));
    const template = b.def.emit(
      codes.map((_, k) => placeholder(k)),
      types,
      literals,
    );
    const nullChecks: string[] = [];
    const setup: string[] = [];
    const subst = codes.map((code, k) => {
      if (propagate && types[k].nullable) {
        const t = this.temp();
        nullChecks.push(`(${t} = ${code}) === null`);
        return t;
      }
      if (isAtomic(code) || uses(template, k) <= 1) return code;
      const t = this.temp();
      setup.push(`(${t} = ${code})`);
      return t;
    });
    let body = wrap(fill(template, subst));
    if (setup.length > 0) body = `(${setup.join(', ')}, ${body})`;
    if (nullChecks.length === 0) return body;
    const test = nullChecks.length === 1 ? nullChecks[0] : `(${nullChecks.join(' || ')})`;
    return `(${test} ? null : ${body})`;
  }

  /** `(w1 ? v1 : (w2 ? v2 : otherwise))`; a null condition counts as false, as in SQL. */
  private genCase(b: Extract<BoundExpr, { kind: 'case' }>): string {
    // Generated in source order so parameters are numbered as the user reads the expression.
    const arms = b.branches.map(({ when, then }) => {
      const w = this.gen(when);
      return { test: when.type.nullable ? `(${w} === true)` : w, value: this.gen(then), never: w === 'null' };
    });
    return arms.reduceRight(
      (rest, arm) => (arm.never ? rest : `(${arm.test} ? ${arm.value} : ${rest})`),
      this.gen(b.otherwise),
    );
  }

  private genCast(b: Extract<BoundExpr, { kind: 'cast' }>): string {
    const code = this.gen(b.arg);
    if (code === 'null' || b.rule.helper === undefined) return code;
    const extra = (b.rule.params ?? []).map((v) => `, p[${this.param(v)}]`).join('');
    if (!b.arg.type.nullable) return `f.${b.rule.helper}(${code}${extra})`;
    const t = this.temp();
    return `((${t} = ${code}) === null ? null : f.${b.rule.helper}(${t}${extra}))`;
  }
}

// Marks argument k in an emitter's output; the characters cannot occur in generated JavaScript.
function placeholder(k: number): string {
  return `\u00ab${k}\u00bb`;
}

function uses(template: string, k: number): number {
  return template.split(placeholder(k)).length - 1;
}

function fill(template: string, subst: readonly string[]): string {
  return template.replace(/\u00ab(\d+)\u00bb/g, (_, k: string) => subst[Number(k)]);
}

/** Code cheap enough to repeat: a temporary, a parameter read or a constant. */
function isAtomic(code: string): boolean {
  return /^(t\d+|p\[\d+\]|null|true|false|-?\d+(\.\d+)?)$/.test(code);
}

/** Parenthesises `code` unless it already is one primary expression (a name, member access, call or group). */
export function wrap(code: string): string {
  let depth = 0;
  let outside = '';
  for (const ch of code) {
    if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    else if (depth === 0) outside += ch;
  }
  return /^[\w$.]*$/.test(outside) ? code : `(${code})`;
}
