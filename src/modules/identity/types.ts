/**
 * Identity's domain types and their TypeBox schemas: the single source for validation, TypeScript
 * types and the OpenAPI document.
 */
import { type Static, Type } from 'typebox';

export const TenantStatus = Type.Union([Type.Literal('active'), Type.Literal('deactivated')]);

export const Tenant = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'UUIDv7' }),
    name: Type.String(),
    status: TenantStatus,
    version: Type.Integer({ description: 'Increases on every change; also the ETag' }),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Tenant', additionalProperties: false },
);
export type Tenant = Static<typeof Tenant>;

export const TenantName = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^\\S(.*\\S)?$',
  description: '1 to 200 characters, no leading or trailing spaces; unique (case-insensitive)',
});

export const CreateTenantBody = Type.Object({ name: TenantName }, { additionalProperties: false });
export type CreateTenantBody = Static<typeof CreateTenantBody>;

export const TenantList = Type.Object(
  {
    items: Type.Array(Type.Ref('Tenant')),
    next_cursor: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as `cursor` for the next page',
    }),
  },
  { additionalProperties: false },
);

export const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
