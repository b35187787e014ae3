/**
 * The dashboard's modules are classic scripts sharing one global scope (no build step). A
 * top-level name declared in two of them is either a SyntaxError that stops the later script
 * (`const`, `let`, `class`) or, for `function`, a silent override that breaks the earlier one
 * at its next call. Every top-level name is read with the TypeScript compiler's parser.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '..', '..', 'cloud', 'dashboard');

/** Names a script declares at its top level (functions, classes, const/let/var). */
export function topLevelNames(source: string, file = 'x.js'): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const names: string[] = [];
  const bind = (n: ts.BindingName): void => {
    if (ts.isIdentifier(n)) names.push(n.text);
    else for (const e of n.elements) if (!ts.isOmittedExpression(e)) bind(e.name);
  };
  for (const st of sf.statements) {
    if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) names.push(st.name.text);
    else if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) bind(d.name);
  }
  return names;
}

describe('dashboard scripts', () => {
  it('reads top-level names, and only top-level ones', () => {
    expect(topLevelNames("'use strict';\nconst a = 1, { b, c: [d] } = {};\nfunction e() { const inner = 1; }\nclass F {}\nconst g = (() => { function h() {} return h; })();"))
      .toEqual(['a', 'b', 'd', 'e', 'F', 'g']);
  });

  it('declare no top-level name twice across the files served together', () => {
    const owners = new Map<string, string[]>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
      for (const name of topLevelNames(readFileSync(join(dir, file), 'utf8'), file)) owners.set(name, [...(owners.get(name) ?? []), file]);
    }
    const twice = [...owners].filter(([, files]) => files.length > 1).map(([name, files]) => `${name}: ${files.join(', ')}`);
    expect(twice, 'wrap a module\'s helpers in an IIFE or rename them').toEqual([]);
  });
});
