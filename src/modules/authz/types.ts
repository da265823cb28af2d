/** Authz schemas: the single source for validation, types and the OpenAPI document. */
import { type Static, Type } from 'typebox';
import { MAX_MACAROON_TEXT_LENGTH } from './macaroon.js';

/** Longest lifetime of a minted token: revocations are remembered until expiry, so lifetimes are bounded. */
export const MAX_TTL_SECONDS = 90 * 24 * 3600;
const MAX_PATTERNS = 32;

const AgentId = Type.String({
  pattern: '^[0-9a-f]{64}$',
  description: 'The agent (hex SHA-256 of its first public key) the token is bound to',
});
const ActionPattern = Type.String({
  minLength: 1,
  maxLength: 128,
  description: 'An action (`sandbox.exec`) or every action under a prefix (`sandbox.*`)',
});
const ResourcePattern = Type.String({
  minLength: 1,
  maxLength: 256,
  description:
    '`/`-separated resource name; `*` matches within a segment, a final `/**` one or more segments',
});
/**
 * Tokens are accepted up to twice the verifier's limit so that an oversized one reaches the verifier
 * and gets its own problem type (`delegation-token-too-large`) rather than a generic validation error.
 */
const TokenText = Type.String({
  minLength: 1,
  maxLength: MAX_MACAROON_TEXT_LENGTH * 2,
  description: 'A delegation token: libmacaroons v2, base64url',
});

export const MintBody = Type.Object(
  {
    agent_id: AgentId,
    actions: Type.Array(ActionPattern, { minItems: 1, maxItems: MAX_PATTERNS }),
    resources: Type.Array(ResourcePattern, { minItems: 1, maxItems: MAX_PATTERNS }),
    ttl_seconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_TTL_SECONDS,
        description: 'Lifetime from now (default 3600 when expires_at is not given)',
      }),
    ),
    expires_at: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'Last moment of validity (alternative to ttl_seconds)',
      }),
    ),
    max_depth: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 8,
        default: 0,
        description: 'How many times the holder may delegate further (0 = not at all)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type MintBody = Static<typeof MintBody>;

const Caveats = Type.Object(
  {
    tenant_id: Type.String({ format: 'uuid' }),
    holder: AgentId,
    actions: Type.Array(Type.String()),
    resources: Type.Array(Type.String()),
    not_after: Type.String({ format: 'date-time' }),
    max_depth: Type.Integer(),
  },
  { additionalProperties: false },
);

export const Delegation = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'The token id (the macaroon identifier); revoke by it' }),
    tenant_id: Type.String({ format: 'uuid' }),
    agent_id: AgentId,
    caveats: Caveats,
    status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
    expires_at: Type.String({ format: 'date-time' }),
    created_by: Type.String({ description: 'Who minted it (kind:id)' }),
    created_at: Type.String({ format: 'date-time' }),
    revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revoked_by: Type.Union([Type.String(), Type.Null()]),
    revoke_reason: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'Delegation', additionalProperties: false },
);
export type Delegation = Static<typeof Delegation>;

export const MintedDelegation = Type.Object(
  {
    ...Delegation.properties,
    token: Type.String({ description: 'The delegation token, shown this once (Warden keeps only its id)' }),
  },
  { additionalProperties: false },
);
export type MintedDelegation = Static<typeof MintedDelegation>;

export const DelegationIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const RevokeBody = Type.Object(
  {
    token_id: Type.String({ format: 'uuid', description: 'The id of the root token to revoke' }),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type RevokeBody = Static<typeof RevokeBody>;

export const InspectBody = Type.Object({ token: TokenText }, { additionalProperties: false });

const InspectedCaveat = Type.Object(
  {
    index: Type.Integer({ description: '1-based position in the chain' }),
    kind: Type.String({
      description: 'tenant, holder, actions, resources, not_after, depth, unknown or third_party',
    }),
    text: Type.String(),
  },
  { additionalProperties: false },
);

export const Inspection = Type.Object(
  {
    token_id: Type.String(),
    caveats: Type.Array(InspectedCaveat),
    signature_valid: Type.Boolean({
      description: 'Whether the HMAC chain verifies under the tenant root key',
    }),
    effective: Type.Union([
      Type.Object(
        {
          holder: Type.String(),
          holders: Type.Array(Type.String(), { description: 'The delegation chain, original holder first' }),
          actions: Type.Array(Type.String()),
          resources: Type.Array(Type.String()),
          not_after: Type.String({ format: 'date-time' }),
          remaining_depth: Type.Integer(),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    problem: Type.Union([
      Type.Object({ code: Type.String(), detail: Type.String() }, { additionalProperties: false }),
      Type.Null(),
    ]),
    delegation: Type.Union([Type.Ref('Delegation'), Type.Null()]),
  },
  { additionalProperties: false },
);
export type Inspection = Static<typeof Inspection>;

export const VerifyBody = Type.Object(
  {
    token: TokenText,
    action: Type.String({ minLength: 1, maxLength: 256 }),
    resource: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type VerifyBody = Static<typeof VerifyBody>;

export const VerifyAnswer = Type.Object(
  {
    allowed: Type.Literal(true),
    token_id: Type.String(),
    holder: Type.String(),
    holders: Type.Array(Type.String()),
    actions: Type.Array(Type.String()),
    resources: Type.Array(Type.String()),
    not_after: Type.String({ format: 'date-time' }),
    remaining_depth: Type.Integer(),
  },
  { additionalProperties: false },
);
