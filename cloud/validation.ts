/**
 * The cloud's validator compilers (issue 11): fastify's own (@fastify/ajv-compiler, the same
 * ajv options) but two of them — query strings, params and headers arrive as text and are
 * coerced (`?week=`, `?limit=`), bodies are JSON and are not. A sync body with `seq: "5"` is
 * refused with 400 where the contract says integer (SPEC §9), instead of being quietly
 * turned into 5.
 */
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { Options as AjvOptions } from 'ajv';

type BuildCompiler = ReturnType<typeof AjvCompiler>;
type ExternalSchemas = Parameters<BuildCompiler>[0];
type Compile = ReturnType<BuildCompiler>;
/** What fastify hands a validator compiler (its types say `schema`; it is the route part). */
type RoutePart = { schema: unknown; method: string; url: string; httpPart?: string };

/** A `schemaController.compilersFactory.buildValidator` that coerces everything but bodies. */
export function bodyStrictValidatorBuilder(): (external: ExternalSchemas, options?: { customOptions?: AjvOptions }) => Compile {
  const build = AjvCompiler();
  return (external, options = {}) => {
    const custom = options.customOptions ?? {};
    const coercing = build(external, { ...options, customOptions: { ...custom, coerceTypes: 'array' } }) as unknown as (r: RoutePart) => unknown;
    const strict = build(external, { ...options, customOptions: { ...custom, coerceTypes: false } }) as unknown as (r: RoutePart) => unknown;
    return ((route: RoutePart) => (route.httpPart === 'body' ? strict(route) : coercing(route))) as unknown as Compile;
  };
}
