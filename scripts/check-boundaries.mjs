// Fails when code crosses a boundary STYLE.md draws:
//  - src/platform/ (the kernel) imports no module;
//  - a module reaches another module only through its index.ts (never its store, service, routes…);
//  - modules do not import each other in a cycle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const IMPORT_RE =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const problems = [];
const moduleEdges = new Map();
const moduleOf = (rel) => /^src\/modules\/([^/]+)\//.exec(rel)?.[1];

for (const file of files(join(root, 'src'))) {
  const rel = relative(root, file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) continue;
    const target = relative(root, resolve(dirname(file), spec)).replace(/\.js$/, '.ts');
    const from = moduleOf(rel);
    const to = moduleOf(target);
    if (rel.startsWith('src/platform/') && target.startsWith('src/modules/')) {
      problems.push(`${rel}: the kernel must not import a module (${spec})`);
    }
    if (to && from !== to) {
      if (from && target !== `src/modules/${to}/index.ts`) {
        problems.push(`${rel}: reach module ${to} through its index.ts, not ${spec}`);
      }
      if (from) {
        if (!moduleEdges.has(from)) moduleEdges.set(from, new Set());
        moduleEdges.get(from).add(to);
      }
    }
  }
}

// The SDK ships without the server: it may import only the pure protocol files it bundles.
const SDK_MAY_IMPORT = new Set([
  'src/modules/identity/http-signature.ts',
  'src/modules/identity/content-digest.ts',
  'src/modules/identity/structured-fields.ts',
  'src/modules/identity/agent-keys.ts',
  'src/modules/authz/macaroon.ts',
  'src/modules/authz/delegation-token.ts',
  'src/modules/authz/patterns.ts',
]);
let sdkFiles = [];
try {
  sdkFiles = files(join(root, 'sdk', 'src'));
} catch {
  // no SDK in this tree
}
for (const file of sdkFiles) {
  const rel = relative(root, file);
  for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) {
      if (!spec.startsWith('node:'))
        problems.push(`${rel}: the SDK has no dependencies, but imports ${spec}`);
      continue;
    }
    const target = relative(root, resolve(dirname(file), spec)).replace(/\.js$/, '.ts');
    if (!target.startsWith('sdk/') && !SDK_MAY_IMPORT.has(target)) {
      problems.push(`${rel}: the SDK may not import server code (${spec})`);
    }
  }
}

// Cycles between modules.
const state = new Map();
function visit(node, path) {
  if (state.get(node) === 'done') return;
  if (state.get(node) === 'active') {
    problems.push(`module import cycle: ${[...path.slice(path.indexOf(node)), node].join(' -> ')}`);
    return;
  }
  state.set(node, 'active');
  for (const next of moduleEdges.get(node) ?? []) visit(next, [...path, node]);
  state.set(node, 'done');
}
for (const node of moduleEdges.keys()) visit(node, []);

if (problems.length > 0) {
  console.error(
    `module boundaries: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`,
  );
  process.exit(1);
}
console.log('module boundaries: ok');
