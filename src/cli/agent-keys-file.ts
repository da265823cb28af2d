/**
 * The local file where `warden agent register|rotate` keep agents' private keys: JSON, mode 0600 in a
 * 0700 directory, written by rename so a crash never leaves half a file. A file readable by anyone but
 * its owner is refused (as ssh refuses such a key). Path: `--keys`, else `WARDEN_AGENT_KEYS`, else
 * `<data dir>/agent-keys.json`.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CliError, EXIT } from './client.js';

export interface StoredAgentKey {
  name: string;
  tenant_id: string;
  public_key: string;
  /** PKCS#8 PEM of the Ed25519 private key. */
  private_key_pem: string;
  key_version: number;
  /** A key generated for a rotation the server has not confirmed yet (kept so it is never lost). */
  pending_private_key_pem?: string;
}

export interface AgentKeysFile {
  version: 1;
  agents: Record<string, StoredAgentKey>;
}

export function agentKeysPath(option: string | undefined): string {
  return resolve(
    option ??
      process.env.WARDEN_AGENT_KEYS ??
      resolve(process.env.WARDEN_DATA_DIR ?? './.warden', 'agent-keys.json'),
  );
}

export function readAgentKeys(path: string): AgentKeysFile {
  if (!existsSync(path)) return { version: 1, agents: {} };
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new CliError(
      `the agent keys file ${path} is accessible to others (mode ${mode.toString(8)}); run chmod 600 on it`,
      EXIT.usage,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError(
      `the agent keys file ${path} is not valid JSON: ${(err as Error).message}`,
      EXIT.usage,
    );
  }
  const file = parsed as Partial<AgentKeysFile>;
  if (file?.version !== 1 || typeof file.agents !== 'object' || file.agents === null) {
    throw new CliError(`the agent keys file ${path} is not a Warden agent keys file`, EXIT.usage);
  }
  return file as AgentKeysFile;
}

export function writeAgentKeys(path: string, file: AgentKeysFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
  // Whatever the umask did, the file ends 0600.
  chmodSync(path, 0o600);
}
