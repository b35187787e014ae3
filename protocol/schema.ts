/**
 * One source of truth per shape (STYLE.md §3): TypeBox schemas compiled once, used to
 * validate in both directions at runtime, with readable error paths.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';

export interface Validator<T extends TSchema> {
  schema: T;
  check(value: unknown): value is Static<T>;
  /** One line per problem: `/path: message`. Empty when the value is valid. */
  errors(value: unknown): string[];
}

export function validator<T extends TSchema>(schema: T): Validator<T> {
  const compiled: TypeCheck<T> = TypeCompiler.Compile(schema);
  return {
    schema,
    check: (value: unknown): value is Static<T> => compiled.Check(value),
    errors(value: unknown): string[] {
      const out: string[] = [];
      for (const e of compiled.Errors(value)) {
        out.push(`${e.path || '/'}: ${e.message}`);
        if (out.length >= 20) break;
      }
      return out;
    },
  };
}

/** Parse JSON text and validate it; never throws. */
export function parseJson<T extends TSchema>(
  v: Validator<T>,
  text: string | Uint8Array,
): { ok: true; value: Static<T> } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'));
  } catch (e) {
    return { ok: false, error: `malformed JSON: ${(e as Error).message}` };
  }
  if (!v.check(value)) return { ok: false, error: v.errors(value).join('; ') };
  return { ok: true, value };
}
