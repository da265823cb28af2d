/**
 * Compiled versions, kept in memory by version id. A version's rules never change once it exists,
 * so an entry never goes stale; the cache is bounded, and a version compiled again after eviction
 * compiles to the same program. Decisions never compile: they take what propose (or the first
 * decision after a restart) put here.
 */
import type { CelEnvironment } from './cel/compile.js';
import { type CompiledPolicy, type CompileRulesResult, compileRules } from './engine.js';
import type { Rule } from './types.js';

export class CompiledCache {
  readonly #entries = new Map<string, CompiledPolicy>();

  constructor(
    readonly env: CelEnvironment,
    private readonly maxEntries = 512,
  ) {}

  /**
   * The compiled form of a version's rules, compiling (and checking) them on first use.
   *
   * @example
   *   const r = cache.compile(version.id, version.rules);
   *   if (r.ok) decide(r.policy, action, activation);
   */
  compile(versionId: string, rules: readonly Rule[]): CompileRulesResult {
    const hit = this.#entries.get(versionId);
    if (hit) return { ok: true, policy: hit };
    const r = compileRules(this.env, rules);
    if (r.ok) {
      if (this.#entries.size >= this.maxEntries)
        this.#entries.delete(this.#entries.keys().next().value as string);
      this.#entries.set(versionId, r.policy);
    }
    return r;
  }

  has(versionId: string): boolean {
    return this.#entries.has(versionId);
  }
}
