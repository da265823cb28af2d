/**
 * Schemas of the human side of identity: users, sessions, API keys, tenant update and onboarding.
 * The single source for validation, TypeScript types and the OpenAPI document.
 */
import { type Static, Type } from 'typebox';
import { ROLES } from './roles.js';

export const RoleSchema = Type.Union(
  [
    Type.Literal('owner'),
    Type.Literal('admin'),
    Type.Literal('approver'),
    Type.Literal('auditor'),
    Type.Literal('developer'),
    Type.Literal('viewer'),
  ],
  { description: `${ROLES.join(', ')} (see the role matrix in roles.ts)` },
);

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
export const Password = Type.String({
  minLength: 12,
  maxLength: 256,
  description: '12 to 256 characters',
});

export const User = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    tenant_id: Type.String({ format: 'uuid' }),
    email: Type.String(),
    role: RoleSchema,
    status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'User', additionalProperties: false },
);
export type User = Static<typeof User>;

export const CreateUserBody = Type.Object(
  {
    email: Email,
    role: RoleSchema,
    password: Type.Optional(Password),
  },
  { additionalProperties: false },
);
export type CreateUserBody = Static<typeof CreateUserBody>;

export const UserList = Type.Object(
  {
    items: Type.Array(Type.Ref('User')),
    next_cursor: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

const PermissionPattern = Type.String({
  pattern: '^(\\*|[a-z][a-z0-9_-]*:([a-z][a-z0-9_-]*|\\*))$',
  maxLength: 100,
  description: '`area:verb`, `area:*` or `*`',
});

export const ApiKey = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    tenant_id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    prefix: Type.String({ description: 'The visible start of the key, to tell keys apart' }),
    role: RoleSchema,
    scopes: Type.Array(Type.String()),
    created_by: Type.String(),
    expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'ApiKey', additionalProperties: false },
);
export type ApiKey = Static<typeof ApiKey>;

export const CreatedApiKey = Type.Object(
  {
    ...ApiKey.properties,
    key: Type.String({ description: 'The secret key. Shown in this response only; store it now.' }),
  },
  { additionalProperties: false },
);
export type CreatedApiKey = Static<typeof CreatedApiKey>;

export const CreateApiKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    role: Type.Optional(RoleSchema),
    scopes: Type.Optional(Type.Array(PermissionPattern, { maxItems: 50, uniqueItems: true })),
    expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'In the future' })),
  },
  { additionalProperties: false },
);
export type CreateApiKeyBody = Static<typeof CreateApiKeyBody>;

export const ApiKeyList = Type.Object(
  {
    items: Type.Array(Type.Ref('ApiKey')),
    next_cursor: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const Session = Type.Object(
  {
    user: Type.Ref('User'),
    token: Type.String({
      description:
        'The session token (also set as the HttpOnly `warden_session` cookie); send as a bearer token',
    }),
    expires_at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

export const Me = Type.Object(
  {
    kind: Type.String(),
    id: Type.String(),
    tenant_id: Type.Union([Type.String(), Type.Null()]),
    roles: Type.Array(Type.String()),
    scopes: Type.Optional(Type.Array(Type.String())),
    user: Type.Optional(Type.Ref('User')),
  },
  { additionalProperties: false },
);

export const UpdateTenantBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^\\S(.*\\S)?$',
      description: '1 to 200 characters, no leading or trailing spaces; unique (case-insensitive)',
    }),
  },
  { additionalProperties: false },
);

export const OnboardBody = Type.Object(
  { owner_email: Email, owner_password: Password },
  { additionalProperties: false },
);
export type OnboardBody = Static<typeof OnboardBody>;

export const Onboarded = Type.Object(
  {
    tenant: Type.Ref('Tenant'),
    owner: Type.Ref('User'),
    api_key: CreatedApiKey,
    default_policy_set: Type.String(),
  },
  { additionalProperties: false },
);
