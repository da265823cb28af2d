// Resolve hook for built.mjs: a module of src/ resolves to its compiled twin in dist/ when there is one.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SRC = new URL('../../src/', import.meta.url).href;
const DIST = new URL('../../dist/', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith(SRC)) return resolved;
  const built = DIST + resolved.url.slice(SRC.length).replace(/\.ts$/, '.js');
  if (!existsSync(fileURLToPath(built))) return resolved;
  return { ...resolved, url: built, format: 'module' };
}
