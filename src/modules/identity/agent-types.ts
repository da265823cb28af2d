/** Agent schemas: the single source for validation, types and the OpenAPI document. */
import { type Static, Type } from 'typebox';

const PublicKey = Type.String({
  minLength: 43,
  maxLength: 43,
  pattern: '^[A-Za-z0-9_-]{43}$',
  description: 'Raw Ed25519 public key, 32 bytes, base64url without padding',
});
const Signature = Type.String({
  minLength: 86,
  maxLength: 86,
  pattern: '^[A-Za-z0-9_-]{86}$',
  description: 'Ed25519 signature, 64 bytes, base64url without padding',
});
const Tier = Type.Union([Type.Literal('basic'), Type.Literal('standard'), Type.Literal('premium')]);
const TrustLevel = Type.Union([
  Type.Literal('trusted'),
  Type.Literal('untrusted'),
  Type.Literal('suspended'),
]);
const Metadata = Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), {
  maxProperties: 50,
  description: 'Free-form attributes (at most 50 keys)',
});

export const Agent = Type.Object(
  {
    id: Type.String({
      pattern: '^[0-9a-f]{64}$',
      description: 'Hex SHA-256 of the first public key; also the signature keyid',
    }),
    tenant_id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    public_key: Type.String({ description: 'The current key, base64url' }),
    key_version: Type.Integer(),
    tier: Tier,
    trust_level: TrustLevel,
    status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
    owner: Type.String({ description: 'Who registered it (kind:id)' }),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
    last_active_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { $id: 'Agent', additionalProperties: false },
);
export type Agent = Static<typeof Agent>;

export const Challenge = Type.Object(
  {
    challenge: Type.String({
      description: 'Sign `warden-agent-registration:v1\\n<tenant_id>\\n<challenge>\\n<public_key>`',
    }),
    tenant_id: Type.String({ format: 'uuid' }),
    expires_at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

export const RegisterAgentBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    public_key: PublicKey,
    challenge: Type.String({ minLength: 43, maxLength: 43, pattern: '^[A-Za-z0-9_-]{43}$' }),
    signature: Signature,
    tier: Type.Optional(Tier),
    trust_level: Type.Optional(Type.Union([Type.Literal('trusted'), Type.Literal('untrusted')])),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export type RegisterAgentBody = Static<typeof RegisterAgentBody>;

export const RotateKeyBody = Type.Object(
  {
    new_public_key: PublicKey,
    signature_by_current: Signature,
    signature_by_new: Signature,
  },
  {
    additionalProperties: false,
    description: 'Both keys sign `warden-agent-rotation:v1\\n<agent_id>\\n<key_version>\\n<new_public_key>`',
  },
);
export type RotateKeyBody = Static<typeof RotateKeyBody>;

export const AgentIdParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9a-f]{64}$' }) },
  { additionalProperties: false },
);

export const AgentListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ maxLength: 300 })),
    include_revoked: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);

export const AgentList = Type.Object(
  { items: Type.Array(Type.Ref('Agent')), next_cursor: Type.Union([Type.String(), Type.Null()]) },
  { additionalProperties: false },
);

export const ReasonBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false },
);
