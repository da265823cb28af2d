/**
 * One typed configuration, read from `WARDEN_*` environment variables over an optional YAML file
 * (`warden.yaml` in the working directory, or the path in `WARDEN_CONFIG`), validated at start-up.
 * A bad value is a `ConfigError` naming the key and what is allowed; the CLI exits with code 2.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export interface WardenConfig {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  redisUrl: string | undefined;
  natsUrl: string | undefined;
  masterKey: string | undefined;
  adminToken: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  modules: string[];
  bodyLimitBytes: number;
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  corsOrigins: string[];
  otlpEndpoint: string | undefined;
  shutdownTimeoutMs: number;
  maxEventLoopDelayMs: number;
  maxInFlightRequests: number;
  admissionTargetMs: number;
  auditPrepareWorkers: number;
  auditWriterThread: boolean;
  auditFlushMs: number;
  outboxPollMs: number;
  trustProxy: boolean;
  signatureMaxAgeSeconds: number;
  sessionTtlSeconds: number;
  /** Trusted OIDC issuers for bearer JWTs: `{ issuer, audience, tenant_claim, roles_claim }[]`. */
  oidcIssuers: unknown[];
}

/** Keys whose values are credentials: masked by `config print`, redacted from logs. */
export const SECRET_KEYS = new Set<keyof WardenConfig>([
  'masterKey',
  'adminToken',
  'databaseUrl',
  'redisUrl',
]);

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`config ${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Kind =
  | { type: 'string'; secret?: boolean; url?: string[] }
  | { type: 'int'; min: number; max: number }
  | { type: 'bool' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'list' }
  | { type: 'json-list' };

interface KeySpec {
  env: string;
  yaml: string;
  kind: Kind;
  default: unknown;
  help: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The single table of settings: environment name, YAML name, type, default, meaning. */
export const CONFIG_SPEC: Record<keyof WardenConfig, KeySpec> = {
  host: {
    env: 'WARDEN_HOST',
    yaml: 'host',
    kind: { type: 'string' },
    default: '127.0.0.1',
    help: 'address to listen on',
  },
  port: {
    env: 'WARDEN_PORT',
    yaml: 'port',
    kind: { type: 'int', min: 0, max: 65535 },
    default: 8080,
    help: 'TCP port',
  },
  dataDir: {
    env: 'WARDEN_DATA_DIR',
    yaml: 'data_dir',
    kind: { type: 'string' },
    default: './.warden',
    help: 'embedded data: PGlite database, key files, local objects',
  },
  databaseUrl: {
    env: 'WARDEN_DATABASE_URL',
    yaml: 'database_url',
    kind: { type: 'string', secret: true, url: ['postgres:', 'postgresql:'] },
    default: undefined,
    help: 'PostgreSQL URL; unset = embedded PGlite',
  },
  databasePoolSize: {
    env: 'WARDEN_DATABASE_POOL_SIZE',
    yaml: 'database_pool_size',
    kind: { type: 'int', min: 1, max: 1000 },
    default: 10,
    help: 'PostgreSQL connections per node',
  },
  redisUrl: {
    env: 'WARDEN_REDIS_URL',
    yaml: 'redis_url',
    kind: { type: 'string', secret: true, url: ['redis:', 'rediss:'] },
    default: undefined,
    help: 'Redis URL for counters; unset = in-process',
  },
  natsUrl: {
    env: 'WARDEN_NATS_URL',
    yaml: 'nats_url',
    kind: { type: 'string', url: ['nats:', 'tls:'] },
    default: undefined,
    help: 'NATS JetStream URL for the event bus; unset = in-process',
  },
  masterKey: {
    env: 'WARDEN_MASTER_KEY',
    yaml: 'master_key',
    kind: { type: 'string', secret: true },
    default: undefined,
    help: 'secrets master key(s): base64 32 bytes, or id:base64[,id:base64…] (first is primary)',
  },
  adminToken: {
    env: 'WARDEN_ADMIN_TOKEN',
    yaml: 'admin_token',
    kind: { type: 'string', secret: true },
    default: undefined,
    help: 'operator bearer token; unset on embedded = generated into <data dir>/admin-token',
  },
  logLevel: {
    env: 'WARDEN_LOG_LEVEL',
    yaml: 'log_level',
    kind: { type: 'enum', values: LOG_LEVELS },
    default: 'info',
    help: 'log level',
  },
  modules: {
    env: 'WARDEN_MODULES',
    yaml: 'modules',
    kind: { type: 'list' },
    default: ['all'],
    help: 'modules this node serves (comma-separated, or all)',
  },
  bodyLimitBytes: {
    env: 'WARDEN_BODY_LIMIT_BYTES',
    yaml: 'body_limit_bytes',
    kind: { type: 'int', min: 1024, max: 64 * 1024 * 1024 },
    default: 1024 * 1024,
    help: 'largest accepted request body',
  },
  rateLimitPerSecond: {
    env: 'WARDEN_RATE_LIMIT_PER_SECOND',
    yaml: 'rate_limit_per_second',
    kind: { type: 'int', min: 0, max: 10_000_000 },
    default: 1000,
    help: 'requests per second per principal (0 = off)',
  },
  rateLimitBurst: {
    env: 'WARDEN_RATE_LIMIT_BURST',
    yaml: 'rate_limit_burst',
    kind: { type: 'int', min: 1, max: 10_000_000 },
    default: 2000,
    help: 'token-bucket capacity per principal',
  },
  corsOrigins: {
    env: 'WARDEN_CORS_ORIGINS',
    yaml: 'cors_origins',
    kind: { type: 'list' },
    default: [],
    help: 'origins allowed by CORS (comma-separated); empty = same-origin only',
  },
  otlpEndpoint: {
    env: 'WARDEN_OTLP_ENDPOINT',
    yaml: 'otlp_endpoint',
    kind: { type: 'string', url: ['http:', 'https:'] },
    default: undefined,
    help: 'OTLP/HTTP traces endpoint base URL; unset = no tracing',
  },
  shutdownTimeoutMs: {
    env: 'WARDEN_SHUTDOWN_TIMEOUT_MS',
    yaml: 'shutdown_timeout_ms',
    kind: { type: 'int', min: 100, max: 600_000 },
    default: 10_000,
    help: 'how long graceful shutdown may drain',
  },
  maxEventLoopDelayMs: {
    env: 'WARDEN_MAX_EVENT_LOOP_DELAY_MS',
    yaml: 'max_event_loop_delay_ms',
    kind: { type: 'int', min: 0, max: 60_000 },
    default: 1000,
    help: 'event-loop delay above which requests are shed with 503 (0 = off)',
  },
  maxInFlightRequests: {
    env: 'WARDEN_MAX_IN_FLIGHT',
    yaml: 'max_in_flight',
    kind: { type: 'int', min: 0, max: 1_000_000 },
    default: 2048,
    help: 'concurrent requests above which new ones are shed with 503 (0 = off)',
  },
  admissionTargetMs: {
    env: 'WARDEN_ADMISSION_TARGET_MS',
    yaml: 'admission_target_ms',
    kind: { type: 'int', min: 0, max: 60_000 },
    default: 50,
    help: 'event-loop delay (p90) a node keeps to: past it, a growing share of new requests gets 503 at once so the admitted ones stay fast (0 = off)',
  },
  auditPrepareWorkers: {
    env: 'WARDEN_AUDIT_PREPARE_WORKERS',
    yaml: 'audit_prepare_workers',
    kind: { type: 'int', min: 0, max: 16 },
    default: 0,
    help: 'worker threads that redact, canonicalise and hash audit records off the thread that writes them (0 = on it; worth it with cores to spare)',
  },
  auditWriterThread: {
    env: 'WARDEN_AUDIT_WRITER_THREAD',
    yaml: 'audit_writer_thread',
    kind: { type: 'bool' },
    default: true,
    help: 'prepare and write audit records on a thread of their own, off the event loop serving requests (PostgreSQL: with 2 connections of its own; PGlite: taking turns on the embedded database thread)',
  },
  auditFlushMs: {
    env: 'WARDEN_AUDIT_FLUSH_MS',
    yaml: 'audit_flush_ms',
    kind: { type: 'int', min: 1, max: 10_000 },
    default: 20,
    help: 'the longest an audit record waits in memory before its batch is written: what a crash of the node can lose',
  },
  outboxPollMs: {
    env: 'WARDEN_OUTBOX_POLL_MS',
    yaml: 'outbox_poll_ms',
    kind: { type: 'int', min: 10, max: 60_000 },
    default: 250,
    help: 'how often the outbox relay looks for events written by other nodes',
  },
  signatureMaxAgeSeconds: {
    env: 'WARDEN_SIGNATURE_MAX_AGE_SECONDS',
    yaml: 'signature_max_age_seconds',
    kind: { type: 'int', min: 5, max: 3600 },
    default: 300,
    help: 'how old an agent request signature may be; also the replay-protection window',
  },
  trustProxy: {
    env: 'WARDEN_TRUST_PROXY',
    yaml: 'trust_proxy',
    kind: { type: 'bool' },
    default: false,
    help: 'trust X-Forwarded-* headers from a load balancer',
  },
  sessionTtlSeconds: {
    env: 'WARDEN_SESSION_TTL_SECONDS',
    yaml: 'session_ttl_seconds',
    kind: { type: 'int', min: 60, max: 30 * 24 * 3600 },
    default: 12 * 3600,
    help: 'how long a dashboard login session lives',
  },
  oidcIssuers: {
    env: 'WARDEN_OIDC_ISSUERS',
    yaml: 'oidc_issuers',
    kind: { type: 'json-list' },
    default: [],
    help: 'trusted OIDC issuers for bearer JWTs, a JSON/YAML list of {issuer, audience, tenant_claim, roles_claim}',
  },
};

function coerce(key: string, kind: Kind, raw: unknown): unknown {
  switch (kind.type) {
    case 'string': {
      if (typeof raw !== 'string' || raw.length === 0)
        throw new ConfigError(key, 'must be a non-empty string');
      if (kind.url) {
        let url: URL;
        try {
          url = new URL(raw);
        } catch {
          throw new ConfigError(key, `must be a URL with scheme ${kind.url.join(' or ')}`);
        }
        if (!kind.url.includes(url.protocol)) {
          throw new ConfigError(
            key,
            `must be a URL with scheme ${kind.url.join(' or ')}, got ${url.protocol}`,
          );
        }
      }
      return raw;
    }
    case 'int': {
      const n =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && /^-?\d+$/.test(raw.trim())
            ? Number(raw)
            : NaN;
      if (!Number.isSafeInteger(n) || n < kind.min || n > kind.max) {
        throw new ConfigError(
          key,
          `must be an integer between ${kind.min} and ${kind.max}, got ${JSON.stringify(raw)}`,
        );
      }
      return n;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(key, `must be true or false, got ${JSON.stringify(raw)}`);
    }
    case 'enum': {
      if (typeof raw !== 'string' || !kind.values.includes(raw)) {
        throw new ConfigError(key, `must be one of ${kind.values.join(', ')}, got ${JSON.stringify(raw)}`);
      }
      return raw;
    }
    case 'list': {
      if (Array.isArray(raw) && raw.every((v) => typeof v === 'string'))
        return raw.map((v) => v.trim()).filter(Boolean);
      if (typeof raw === 'string')
        return raw
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean);
      throw new ConfigError(key, 'must be a comma-separated string or a list of strings');
    }
    case 'json-list': {
      let value = raw;
      if (typeof raw === 'string') {
        try {
          value = parseYaml(raw);
        } catch (err) {
          throw new ConfigError(key, `must be a JSON or YAML list: ${(err as Error).message}`);
        }
      }
      if (!Array.isArray(value)) throw new ConfigError(key, 'must be a JSON or YAML list');
      return value;
    }
  }
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Path of the YAML file; default `WARDEN_CONFIG` or `./warden.yaml` if it exists. */
  file?: string | undefined;
  /** Values that win over everything (CLI flags such as `--port`). */
  overrides?: Partial<WardenConfig>;
}

function readYaml(path: string, required: boolean): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError('WARDEN_CONFIG', `cannot read ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError('WARDEN_CONFIG', `${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (doc == null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError('WARDEN_CONFIG', `${path} must hold a mapping of settings`);
  }
  return doc as Record<string, unknown>;
}

/**
 * Build the effective configuration: defaults < warden.yaml < environment < overrides.
 *
 * @example
 *   const config = loadConfig({ env: { WARDEN_PORT: '9090' } });
 *   config.port; // 9090
 */
export function loadConfig(options: LoadConfigOptions = {}): WardenConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.WARDEN_CONFIG;
  const yaml = readYaml(resolve(file ?? 'warden.yaml'), file !== undefined);
  const known = new Set(Object.values(CONFIG_SPEC).map((s) => s.yaml));
  for (const key of Object.keys(yaml)) {
    if (!known.has(key))
      throw new ConfigError(key, `unknown setting in the config file; known: ${[...known].join(', ')}`);
  }
  for (const name of Object.keys(env)) {
    if (!name.startsWith('WARDEN_') || name.startsWith('WARDEN_TEST_') || name === 'WARDEN_CONFIG') continue;
    if (!Object.values(CONFIG_SPEC).some((s) => s.env === name) && !EXTRA_ENV.has(name)) {
      throw new ConfigError(
        name,
        'unknown environment setting (check the spelling; `warden config print --help` lists them)',
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CONFIG_SPEC) as [keyof WardenConfig, KeySpec][]) {
    let value: unknown = spec.default;
    if (yaml[spec.yaml] !== undefined) value = coerce(spec.yaml, spec.kind, yaml[spec.yaml]);
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') value = coerce(spec.env, spec.kind, fromEnv);
    if (options.overrides && options.overrides[key] !== undefined) {
      value = coerce(`--${key}`, spec.kind, options.overrides[key]);
    }
    out[key] = value;
  }
  const config = out as unknown as WardenConfig;
  validateModules(config.modules);
  return config;
}

/** Environment variables read elsewhere (not settings of this table). */
const EXTRA_ENV = new Set(['WARDEN_URL', 'WARDEN_TOKEN']);

let knownModules: readonly string[] = [];
/** The server registers its module names so `modules` can be checked without a cycle. */
export function registerModuleNames(names: readonly string[]): void {
  knownModules = names;
}

function validateModules(modules: string[]): void {
  if (modules.length === 0) throw new ConfigError('WARDEN_MODULES', 'must name at least one module, or all');
  if (knownModules.length === 0) return;
  for (const m of modules) {
    if (m !== 'all' && !knownModules.includes(m)) {
      throw new ConfigError(
        'WARDEN_MODULES',
        `unknown module ${JSON.stringify(m)}; known: all, ${knownModules.join(', ')}`,
      );
    }
  }
}

/** The effective config for display: secrets masked, URL passwords hidden. */
export function maskedConfig(config: WardenConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) {
      out[key] = null;
    } else if (SECRET_KEYS.has(key as keyof WardenConfig)) {
      out[key] = maskSecret(String(value));
    } else {
      out[key] = value;
    }
  }
  return out;
}

function maskSecret(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.host) {
      if (url.password) url.password = '****';
      return url.toString();
    }
  } catch {
    // not a URL: mask entirely
  }
  return '****';
}
