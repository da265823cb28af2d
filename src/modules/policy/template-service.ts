/**
 * Templates: the built-in catalogue and the tenants' own (published with versions, private or
 * public). Deploying a template creates a draft policy from it; forking copies it into the
 * caller's tenant as a private template. A template is referred to by its built-in name
 * (`high-cost-sandbox-approval`) or its id.
 */
import { type Static, Type } from 'typebox';
import type { Database } from '../../platform/db/database.js';
import type { Principal } from '../../platform/http/auth.js';
import { isUuid, newId } from '../../platform/ids.js';
import type { CompiledCache } from './compiled-cache.js';
import { compileRules, runTests } from './engine.js';
import { PolicyProblems } from './errors.js';
import { actorOf, recordAudit } from './events.js';
import type { PolicyService } from './service.js';
import { compileProblem } from './service.js';
import * as store from './store.js';
import {
  BUILTIN_TEMPLATES,
  renderTemplate,
  type TemplateContent,
  type TemplateParameter,
} from './templates-catalogue.js';
import { MAX_RULES, MAX_TESTS, type Policy, type PolicyVersion, Rule, TestCase } from './types.js';

export const TemplateParameterSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }),
    type: Type.Union([
      Type.Literal('number'),
      Type.Literal('integer'),
      Type.Literal('string'),
      Type.Literal('string_list'),
      Type.Literal('boolean'),
    ]),
    description: Type.String({ maxLength: 500 }),
    default: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export const TemplateContentBody = {
  parameters: Type.Array(TemplateParameterSchema, { maxItems: 50, default: [] }),
  rules: Type.Array(Rule, { minItems: 1, maxItems: MAX_RULES }),
  tests: Type.Array(TestCase, { maxItems: MAX_TESTS, default: [] }),
};

export const PublishTemplateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, pattern: '^\\S(.*\\S)?$' }),
    description: Type.String({ maxLength: 2000, default: '' }),
    visibility: Type.Union([Type.Literal('private'), Type.Literal('public')], { default: 'private' }),
    ...TemplateContentBody,
  },
  { additionalProperties: false },
);
export type PublishTemplateBody = Static<typeof PublishTemplateBody>;

export const TemplateVersionBody = Type.Object(
  {
    ...TemplateContentBody,
    visibility: Type.Optional(Type.Union([Type.Literal('private'), Type.Literal('public')])),
  },
  { additionalProperties: false },
);
export type TemplateVersionBody = Static<typeof TemplateVersionBody>;

export const DeployTemplateBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^\\S(.*\\S)?$',
      description: 'The new policy’s name',
    }),
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'Template version (default: latest)' })),
    parameters: Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
      maxProperties: 50,
      default: {},
    }),
  },
  { additionalProperties: false },
);
export type DeployTemplateBody = Static<typeof DeployTemplateBody>;

export const ForkTemplateBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200, pattern: '^\\S(.*\\S)?$' }) },
  { additionalProperties: false },
);

export const TemplateSchema = Type.Object(
  {
    ref: Type.String({ description: 'Built-in name or template id' }),
    builtin: Type.Boolean(),
    name: Type.String(),
    description: Type.String(),
    visibility: Type.Union([Type.Literal('builtin'), Type.Literal('private'), Type.Literal('public')]),
    owned: Type.Boolean({ description: 'Published by the caller’s tenant' }),
    version: Type.Integer(),
    versions: Type.Array(Type.Integer()),
    forked_from: Type.Union([Type.String(), Type.Null()]),
    parameters: Type.Array(TemplateParameterSchema),
    rules: Type.Array(Rule),
    tests: Type.Array(TestCase),
  },
  { additionalProperties: false },
);
export type Template = Static<typeof TemplateSchema>;

export interface TemplateServiceDeps {
  db: Database;
  compiled: CompiledCache;
  policies: PolicyService;
  onEventsCommitted: () => void;
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '23505';
}

export function createTemplateService(deps: TemplateServiceDeps) {
  const { db } = deps;

  function builtin(name: string): Template | undefined {
    const t = BUILTIN_TEMPLATES.find((b) => b.name === name);
    if (!t) return undefined;
    return {
      ref: t.name,
      builtin: true,
      name: t.name,
      description: t.description,
      visibility: 'builtin',
      owned: false,
      version: 1,
      versions: [1],
      forked_from: null,
      parameters: [...t.parameters] as Template['parameters'],
      rules: [...t.rules],
      tests: [...t.tests],
    };
  }

  async function stored(tenantId: string, id: string, version?: number): Promise<Template> {
    return db.withTenant(tenantId, async (trx) => {
      const row = await store.getTemplate(trx, id);
      if (!row) throw PolicyProblems.templateNotFound.create(`no template ${id} visible to this tenant`);
      const versions = await store.listTemplateVersions(trx, id);
      const v = versions.find((x) => x.version === (version ?? row.latest_version));
      if (!v) throw PolicyProblems.templateNotFound.create(`template ${id} has no version ${version}`);
      return {
        ref: row.id,
        builtin: false,
        name: row.name,
        description: row.description,
        visibility: row.visibility,
        owned: row.tenant_id === tenantId,
        version: v.version,
        versions: versions.map((x) => x.version),
        forked_from: row.forked_from,
        parameters: v.parameters as Template['parameters'],
        rules: v.rules,
        tests: v.tests,
      };
    });
  }

  async function resolve(tenantId: string, ref: string, version?: number): Promise<Template> {
    if (isUuid(ref)) return stored(tenantId, ref, version);
    const b = builtin(ref);
    if (!b || (version !== undefined && version !== 1))
      throw PolicyProblems.templateNotFound.create(
        `no built-in template ${JSON.stringify(ref)}${version ? ` version ${version}` : ''}`,
      );
    return b;
  }

  /** A template must render with its defaults, compile, and pass its own tests before it is stored. */
  function validate(content: TemplateContent): void {
    const rendered = renderTemplate(content, {});
    if (!rendered.ok)
      throw PolicyProblems.templateParameterInvalid.create(
        `every parameter of a published template needs a valid default: ${rendered.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`,
        { errors: rendered.errors },
      );
    const compiled = compileRules(deps.compiled.env, rendered.rules);
    if (!compiled.ok) throw compileProblem(rendered.rules, compiled);
    const failures = runTests(compiled.policy, content.tests, new Date()).filter((r) => !r.passed);
    if (failures.length > 0)
      throw PolicyProblems.testsFailed.create(
        `${failures.length} test case(s) of the template fail with its defaults`,
        { failures },
      );
  }

  return {
    /** The built-in catalogue, then the tenant's own templates and every public one. */
    async list(tenantId: string, limit: number): Promise<Template[]> {
      const builtins = BUILTIN_TEMPLATES.map((b) => builtin(b.name)!);
      const rows = await db.withTenant(tenantId, (trx) => store.listTemplates(trx, limit, undefined));
      const own = await Promise.all(rows.map((r) => stored(tenantId, r.id)));
      return [...builtins, ...own];
    },

    get: resolve,

    /**
     * Creates a draft policy from a template.
     *
     * @example
     *   await templates.deploy(p, tenantId, 'high-cost-sandbox-approval', { name: 'sandbox guard', parameters: { max_cost: 20 } });
     */
    async deploy(
      by: Principal,
      tenantId: string,
      ref: string,
      body: DeployTemplateBody,
    ): Promise<{ policy: Policy; version: PolicyVersion }> {
      const t = await resolve(tenantId, ref, body.version);
      const rendered = renderTemplate(t as TemplateContent, body.parameters ?? {});
      if (!rendered.ok)
        throw PolicyProblems.templateParameterInvalid.create(
          rendered.errors.map((e) => `${e.field} ${e.message}`).join('; '),
          { errors: rendered.errors, field: rendered.errors[0]?.field },
        );
      return deps.policies.createPolicy(
        by,
        tenantId,
        { name: body.name, description: t.description, rules: rendered.rules, tests: t.tests },
        { template: t.ref, template_version: t.version, parameters: body.parameters ?? {} },
      );
    },

    async publish(
      by: Principal,
      tenantId: string,
      body: PublishTemplateBody,
      forkedFrom: string | null = null,
    ): Promise<Template> {
      validate(body as TemplateContent);
      const id = newId();
      try {
        await db.withTenant(tenantId, async (trx) => {
          await store.insertTemplate(trx, {
            id,
            tenant_id: tenantId,
            name: body.name,
            description: body.description ?? '',
            visibility: body.visibility ?? 'private',
            latest_version: 1,
            forked_from: forkedFrom,
            created_by: actorOf(by),
          });
          await store.insertTemplateVersion(trx, {
            id: newId(),
            tenant_id: tenantId,
            template_id: id,
            version: 1,
            parameters: (body.parameters ?? []) as unknown[],
            rules: body.rules,
            tests: body.tests ?? [],
            created_by: actorOf(by),
          });
          await recordAudit(trx, {
            tenantId,
            eventType: forkedFrom ? 'template.forked' : 'template.published',
            actor: actorOf(by),
            resourceId: id,
            action: 'publish',
            outcome: 'success',
            metadata: { name: body.name, visibility: body.visibility ?? 'private', forked_from: forkedFrom },
          });
        });
      } catch (err) {
        if (isUniqueViolation(err))
          throw PolicyProblems.templateNameTaken.create(
            `a template named ${JSON.stringify(body.name)} exists`,
            { field: 'body.name' },
          );
        throw err;
      }
      deps.onEventsCommitted();
      return stored(tenantId, id);
    },

    async addVersion(
      by: Principal,
      tenantId: string,
      id: string,
      body: TemplateVersionBody,
    ): Promise<Template> {
      await db.withTenant(tenantId, async (trx) => {
        const row = await store.getTemplate(trx, id, false);
        if (!row) throw PolicyProblems.templateNotFound.create(`no template ${id} visible to this tenant`);
        if (row.tenant_id !== tenantId)
          throw PolicyProblems.templateNotOwned.create(
            'only the publishing tenant adds versions; fork the template to change it',
          );
        // After the existence check: an unknown id is a 404 whatever the body holds.
        validate(body as TemplateContent);
        const version = row.latest_version + 1;
        await store.insertTemplateVersion(trx, {
          id: newId(),
          tenant_id: tenantId,
          template_id: id,
          version,
          parameters: (body.parameters ?? []) as unknown[],
          rules: body.rules,
          tests: body.tests ?? [],
          created_by: actorOf(by),
        });
        await store.updateTemplate(trx, id, {
          latest_version: version,
          ...(body.visibility ? { visibility: body.visibility } : {}),
        });
        await recordAudit(trx, {
          tenantId,
          eventType: 'template.version.published',
          actor: actorOf(by),
          resourceId: id,
          action: 'publish',
          outcome: 'success',
          metadata: { version, visibility: body.visibility ?? row.visibility },
        });
      });
      deps.onEventsCommitted();
      return stored(tenantId, id);
    },

    /** Copies a built-in or visible template into the caller's tenant as a private template. */
    async fork(by: Principal, tenantId: string, ref: string, name: string): Promise<Template> {
      const t = await resolve(tenantId, ref);
      return this.publish(
        by,
        tenantId,
        {
          name,
          description: t.description,
          visibility: 'private',
          parameters: t.parameters as TemplateParameter[] as PublishTemplateBody['parameters'],
          rules: t.rules,
          tests: t.tests,
        },
        `${t.ref}@${t.version}`,
      );
    },
  };
}

export type TemplateService = ReturnType<typeof createTemplateService>;
