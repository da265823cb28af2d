// `node --import tsx --import ./bench/servers/built.mjs server.ts`: the benchmark servers are
// written against src/ (typed), but run the compiled program in dist/ — what `npm start` runs. Code
// run from src/ through tsx differs measurably on hot paths (esbuild's keepNames wraps every
// nested function in a `__name(…)` call that defines a property each time it is created).
// bench/run.ts builds dist/ before every benchmark. Modules with no compiled twin (tests, the
// CEL conformance adapters) still load from src/.
import { register } from 'node:module';

register('./built-hooks.mjs', import.meta.url);
