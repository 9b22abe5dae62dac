import { arithmeticFunctions } from './builtins/arithmetic.ts';
import { logicFunctions } from './builtins/logic.ts';
import { textFunctions } from './builtins/text.ts';
import { timeFunctions } from './builtins/time.ts';
import { castHelpers } from './casts.ts';
import type { FieldType, Value } from './types.ts';

/** A runtime helper that compiled code calls as `f.<name>(...)`; it must not keep state between calls. */
export type Helper = (...args: never[]) => unknown;

/** The value of an argument that is a literal in the expression, so `infer`/`emit` can specialise on it. */
export interface LiteralArg {
  readonly value: Value;
}

/**
 * A function of the expression language: documentation, type rule and code generator in one value.
 * @example
 * registry.register({
 *   name: 'cents', description: 'Amount in cents.', example: "call('cents', col('amount'))", signature: 'cents(number) → int64',
 *   nulls: 'propagate', infer: (a) => (a.length === 1 ? { type: { kind: 'int64' }, nullable: false } : 'cents takes 1 number'),
 *   emit: ([x]) => `Math.round(${x} * 100)`,
 * });
 */
export interface FunctionDef {
  readonly name: string;
  readonly description: string;
  /** A use in napkin DSL text, shown by docs and error hints. */
  readonly example: string;
  /** `name(arg types) → result`, for docs. */
  readonly signature: string;
  /**
   * `propagate`: the result is null when any argument is null, so `emit` only ever sees non-null values and
   * `infer` describes the result for non-null arguments (the checker adds nullability; return `nullable: true` only
   * when the function itself can produce null, as `div` does for a zero divisor).
   * `custom`: `emit` receives possibly-null values and `infer` decides nullability itself.
   */
  readonly nulls: 'propagate' | 'custom';
  /** How lineage reports a column that flows through this function; every built-in is a `transformation`. */
  readonly lineage?: 'identity' | 'transformation';
  /** The result type for these argument types, or a one-line error saying what the function takes. */
  readonly infer: (args: readonly FieldType[], literals: readonly (LiteralArg | undefined)[]) => FieldType | string;
  /**
   * A fully parenthesised JavaScript expression computing the result. Each entry of `args` is a cheap,
   * side-effect-free expression that may be repeated; literals arrive as parameter reads, never as code text.
   * Helpers declared in `helpers` are called as `f.<name>(...)`.
   */
  readonly emit: (
    args: readonly string[],
    argTypes: readonly FieldType[],
    literals: readonly (LiteralArg | undefined)[],
  ) => string;
  /** Runtime helpers `emit` refers to; merged into the function table compiled code receives. */
  readonly helpers?: Readonly<Record<string, Helper>>;
}

export interface RegisterOptions {
  /** Replace an existing function of the same name instead of failing. */
  readonly override?: boolean;
}

/** The functions (and their runtime helpers) one project's expressions may call. */
export interface Registry {
  register(def: FunctionDef, options?: RegisterOptions): void;
  get(name: string): FunctionDef | undefined;
  names(): string[];
  list(): FunctionDef[];
  /** The function table compiled code receives as `f`: cast helpers plus every registered function's helpers. */
  helpers(): Readonly<Record<string, Helper>>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CAST_OWNER = '(cast)';

/** A registry holding every built-in, each registered through the same `register` users call. */
export function createRegistry(): Registry {
  const r = createEmptyRegistry();
  for (const def of [...arithmeticFunctions, ...logicFunctions, ...textFunctions, ...timeFunctions]) r.register(def);
  return r;
}

/** A registry with no functions (casts still work); for tests and for projects that want a closed vocabulary. */
export function createEmptyRegistry(): Registry {
  const defs = new Map<string, FunctionDef>();
  // A helper may be shared by several functions (same code), but rebinding a name is only allowed to the one
  // function that uses it, or two functions would silently run each other's code.
  const helpers = new Map<string, { fn: Helper; owners: Set<string> }>();
  for (const [name, fn] of Object.entries(castHelpers)) helpers.set(name, { fn, owners: new Set([CAST_OWNER]) });
  let table: Readonly<Record<string, Helper>> | undefined;

  return {
    register(def, options = {}) {
      validate(def);
      if (defs.has(def.name) && options.override !== true)
        throw new Error(`function '${def.name}' is already registered; pass { override: true } to replace it`);
      for (const [name, fn] of Object.entries(def.helpers ?? {})) {
        const have = helpers.get(name);
        const others = have === undefined ? [] : [...have.owners].filter((o) => o !== def.name);
        if (have !== undefined && have.fn !== fn && others.length > 0)
          throw new Error(`function '${def.name}': helper '${name}' is already defined by ${others.join(', ')}`);
      }
      for (const [name, fn] of Object.entries(def.helpers ?? {})) {
        const have = helpers.get(name);
        if (have !== undefined && have.fn === fn) have.owners.add(def.name);
        else helpers.set(name, { fn, owners: new Set([def.name]) });
      }
      defs.set(def.name, def);
      table = undefined;
    },
    get: (name) => defs.get(name),
    names: () => [...defs.keys()],
    list: () => [...defs.values()],
    helpers() {
      table ??= Object.freeze(Object.fromEntries([...helpers].map(([name, h]) => [name, h.fn])));
      return table;
    },
  };
}

function validate(def: FunctionDef): void {
  if (!NAME.test(def.name)) throw new Error(`function name '${def.name}' must be an identifier`);
  if (def.nulls !== 'propagate' && def.nulls !== 'custom')
    throw new Error(`function '${def.name}': nulls must be 'propagate' or 'custom'`);
  if (typeof def.infer !== 'function' || typeof def.emit !== 'function')
    throw new Error(`function '${def.name}': infer and emit must be functions`);
  for (const name of Object.keys(def.helpers ?? {})) {
    if (!NAME.test(name)) throw new Error(`function '${def.name}': helper name '${name}' must be an identifier`);
  }
}
