/**
 * Talking to Warden as an agent: register with proof of possession, then send requests signed with
 * HTTP Message Signatures (RFC 9421, Ed25519, Content-Digest over the body, a fresh nonce each).
 */
import { registrationMessage, rotationMessage } from '../../src/modules/identity/agent-keys.js';
import { createNonce, signRequest } from '../../src/modules/identity/http-signature.js';
import { type AgentKeyPair, generateAgentKeys, signBytes } from './keys.js';
import { attenuate, type Narrowing } from './tokens.js';

export class WardenError extends Error {
  constructor(
    readonly status: number,
    readonly problem: { type?: string; title?: string; detail?: string; [k: string]: unknown },
  ) {
    super(`${status} ${problem.title ?? 'error'}: ${problem.detail ?? ''}`);
    this.name = 'WardenError';
  }
}

export interface RegisterOptions {
  /** A credential allowed to register agents in the tenant (API key or session token). */
  apiKey: string;
  name: string;
  tier?: 'basic' | 'standard' | 'premium';
  metadata?: Record<string, unknown>;
  /** Only for the deployment operator's token: the tenant to register in. */
  tenantId?: string;
}

export interface DelegationOptions extends Pick<RegisterOptions, 'apiKey' | 'tenantId'> {
  /** Action patterns: `llm.call`, `sandbox.*`. */
  actions: string[];
  /** Resource patterns: `model:*`, `repo:acme/**`. */
  resources: string[];
  /** Lifetime (default 3600 s on the server). */
  ttlSeconds?: number;
  /** How many times this agent may delegate further (default 0). */
  maxDepth?: number;
}

/** What Warden answers when a token allows a request. */
export interface Grant {
  allowed: true;
  token_id: string;
  holder: string;
  holders: string[];
  actions: string[];
  resources: string[];
  not_after: string;
  remaining_depth: number;
}

export interface RequestOptions {
  method?: string;
  /** A JSON body (serialized here, so the signed digest covers exactly what is sent). */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * An agent of one Warden deployment.
 *
 * @example
 *   const agent = WardenAgent.create('https://warden.example');
 *   await agent.register({ apiKey, name: 'researcher' });
 *   const decision = await agent.request('/v1/oversight/evaluate', { method: 'POST', body: { action: 'llm.call' } });
 */
export class WardenAgent {
  /** The delegation token this agent acts under (set by obtainDelegation, or assign one you were given). */
  delegation: string | undefined;

  private constructor(
    readonly baseUrl: string,
    public keys: AgentKeyPair,
  ) {}

  static create(baseUrl: string, keys: AgentKeyPair = generateAgentKeys()): WardenAgent {
    return new WardenAgent(baseUrl.replace(/\/$/, ''), keys);
  }

  get id(): string {
    return this.keys.agentId;
  }

  private async json<T>(res: Response): Promise<T> {
    const text = await res.text();
    const body = text ? (JSON.parse(text) as T) : (undefined as T);
    if (!res.ok) throw new WardenError(res.status, (body ?? {}) as WardenError['problem']);
    return body;
  }

  private bearer(options: RegisterOptions): Record<string, string> {
    return {
      authorization: `Bearer ${options.apiKey}`,
      ...(options.tenantId ? { 'x-warden-tenant': options.tenantId } : {}),
    };
  }

  /** Registers this agent's public key, proving possession of the private key. Returns the agent record. */
  async register(options: RegisterOptions): Promise<Record<string, unknown>> {
    const headers = this.bearer(options);
    const ch = await this.json<{ challenge: string; tenant_id: string }>(
      await fetch(`${this.baseUrl}/v1/agents/challenge`, { method: 'POST', headers }),
    );
    const signature = signBytes(
      this.keys,
      registrationMessage(ch.tenant_id, ch.challenge, this.keys.publicKey),
    );
    return this.json(
      await fetch(`${this.baseUrl}/v1/agents`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: options.name,
          public_key: this.keys.publicKey,
          challenge: ch.challenge,
          signature,
          ...(options.tier ? { tier: options.tier } : {}),
          ...(options.metadata ? { metadata: options.metadata } : {}),
        }),
      }),
    );
  }

  /**
   * Has a delegation token minted for this agent (by a credential with `delegations:create`) and keeps
   * it in `delegation`. Returns the whole answer (token id, caveats, expiry).
   */
  async obtainDelegation(options: DelegationOptions): Promise<Record<string, unknown> & { token: string }> {
    const minted = await this.json<Record<string, unknown> & { token: string }>(
      await fetch(`${this.baseUrl}/v1/delegations`, {
        method: 'POST',
        headers: { ...this.bearer({ ...options, name: '' }), 'content-type': 'application/json' },
        body: JSON.stringify({
          agent_id: this.id,
          actions: options.actions,
          resources: options.resources,
          ...(options.ttlSeconds !== undefined ? { ttl_seconds: options.ttlSeconds } : {}),
          ...(options.maxDepth !== undefined ? { max_depth: options.maxDepth } : {}),
        }),
      }),
    );
    this.delegation = minted.token;
    return minted;
  }

  /**
   * Asks Warden, in a signed request, whether this agent's token allows `action` on `resource`.
   * Resolves to the grant; a refusal throws WardenError with the problem (401 invalid token, 403 not covered).
   */
  async authorize(action: string, resource: string, token = this.delegation): Promise<Grant> {
    if (token === undefined)
      throw new Error('no delegation token: call obtainDelegation or set `delegation`');
    return this.request<Grant>('/v1/delegations/verify', {
      method: 'POST',
      body: { token, action, resource },
    });
  }

  /**
   * A narrower token for a sub-agent, made offline from this agent's token (see `attenuate`).
   *
   * @example
   *   child.delegation = parent.delegate(child.id, { actions: ['sandbox.exec'], ttlSeconds: 600 });
   */
  delegate(subAgentId: string, narrowing: Omit<Narrowing, 'holder'> = {}): string {
    if (this.delegation === undefined) throw new Error('no delegation token to delegate from');
    return attenuate(this.delegation, { ...narrowing, holder: subAgentId });
  }

  /** The headers that sign one request (for use with any HTTP client). */
  signHeaders(method: string, url: string, body?: string): Record<string, string> {
    const base: Record<string, string> = body !== undefined ? { 'content-type': 'application/json' } : {};
    const signed = signRequest(
      { method, url, headers: base, ...(body !== undefined ? { body } : {}) },
      { keyId: this.keys.agentId, privateKey: this.keys.privateKey, alg: 'ed25519', nonce: createNonce() },
    );
    return { ...base, ...(signed as unknown as Record<string, string>) };
  }

  /** A signed request to Warden; resolves to the JSON answer or throws WardenError with the problem. */
  async request<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
    const method = (options.method ?? (options.body === undefined ? 'GET' : 'POST')).toUpperCase();
    const url = `${this.baseUrl}${path}`;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const res = await fetch(url, {
      method,
      headers: { ...options.headers, ...this.signHeaders(method, url, body) },
      ...(body !== undefined ? { body } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return this.json<T>(res);
  }

  /**
   * Moves the agent to a new key: both keys sign the hand-over. Needs a credential allowed to
   * manage agents. Afterwards this object signs with the new key.
   */
  async rotateKey(
    options: Pick<RegisterOptions, 'apiKey' | 'tenantId'>,
    keyVersion: number,
  ): Promise<Record<string, unknown>> {
    const next = generateAgentKeys();
    const message = rotationMessage(this.id, keyVersion, next.publicKey);
    const agent = await this.json<Record<string, unknown>>(
      await fetch(`${this.baseUrl}/v1/agents/${this.id}/rotate-key`, {
        method: 'POST',
        headers: { ...this.bearer({ ...options, name: '' }), 'content-type': 'application/json' },
        body: JSON.stringify({
          new_public_key: next.publicKey,
          signature_by_current: signBytes(this.keys, message),
          signature_by_new: signBytes(next, message),
        }),
      }),
    );
    // The id stays the first key's hash; only the signing key changes.
    this.keys = { ...next, agentId: this.id };
    return agent;
  }
}
