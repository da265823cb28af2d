/**
 * A first start of the embedded database that an interruption cannot leave half-made.
 *
 * PGlite creates its cluster (initdb) in the data directory itself, which takes a few seconds on
 * the first start; a Ctrl-C or a crash in that window used to leave a directory PGlite could
 * never open again ("PGlite failed to initialize properly") until someone deleted it by hand. So
 * a new cluster is made in a staging directory inside the data directory, and moved into place
 * only once complete, `PG_VERSION` last: the data directory holds a cluster iff it holds
 * `PG_VERSION`. A marker file lists what is being moved, so an interrupted move is undone on the
 * next start. Only files this procedure put there are ever deleted: a directory that holds other
 * files and no cluster is refused, not cleaned.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const STAGING = '.warden-initdb';
const MOVING = '.warden-initdb-moving';
const LOCK_FILE = 'warden.pid';

export class DataDirNotEmptyError extends Error {
  constructor(dataDir: string, entries: readonly string[]) {
    super(
      `${dataDir} holds files (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', …' : ''}) but no Warden database; ` +
        'point WARDEN_DATA_DIR at an empty or new directory',
    );
    this.name = 'DataDirNotEmptyError';
  }
}

/**
 * Makes sure `dataDir` holds a complete cluster, creating it through `create` (which must make a
 * cluster in the directory it is given and close it) when there is none.
 *
 * @example
 *   await ensureCluster('./.warden/data', async (dir) => (await PGlite.create(dir)).close());
 */
export async function ensureCluster(dataDir: string, create: (dir: string) => Promise<void>): Promise<void> {
  const staging = join(dataDir, STAGING);
  const moving = join(dataDir, MOVING);
  if (existsSync(join(dataDir, 'PG_VERSION'))) {
    // Complete (PG_VERSION moves last); leftovers of a move that had finished are just removed.
    rmSync(moving, { force: true });
    rmSync(staging, { recursive: true, force: true });
    return;
  }
  if (existsSync(moving)) {
    // A move was interrupted: take back what it had moved, then start over.
    const moved = JSON.parse(readFileSync(moving, 'utf8')) as string[];
    for (const name of moved) rmSync(join(dataDir, name), { recursive: true, force: true });
    rmSync(moving, { force: true });
  }
  rmSync(staging, { recursive: true, force: true });
  const foreign = readdirSync(dataDir).filter((n) => n !== LOCK_FILE);
  if (foreign.length > 0) throw new DataDirNotEmptyError(dataDir, foreign);

  await create(staging);

  const entries = readdirSync(staging).filter((n) => n !== 'PG_VERSION');
  if (!existsSync(join(staging, 'PG_VERSION')))
    throw new Error('the new embedded database has no PG_VERSION');
  writeFileSync(moving, JSON.stringify(entries), { mode: 0o600 });
  for (const name of entries) renameSync(join(staging, name), join(dataDir, name));
  renameSync(join(staging, 'PG_VERSION'), join(dataDir, 'PG_VERSION'));
  rmSync(moving, { force: true });
  rmSync(staging, { recursive: true, force: true });
}
