/**
 * A first start of the embedded database that an interruption cannot leave half-made.
 *
 * PGlite creates its cluster (initdb) in the data directory on the first start, which takes a few
 * seconds; a Ctrl-C or a crash in that window used to leave a directory PGlite could never open
 * again ("PGlite failed to initialize properly") until someone deleted it by hand. So a marker file
 * is written before the cluster is created and removed once the database is ready: a directory
 * that still holds the marker was interrupted, and everything in it but the marker and the lock
 * file was made by that attempt, so it is cleared and the start begins again. Only files this
 * procedure vouched for are ever deleted: a directory that holds other files and no cluster is
 * refused, not cleaned. (Creating the cluster elsewhere and moving it in would cost a second open
 * of the database on every first start.)
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MARKER = '.warden-initdb';
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
 * Prepares `dataDir` for opening: nothing to do when it holds a complete cluster; otherwise clears
 * an interrupted first start and marks a new one. Returns the function to call once the database
 * is ready (it removes the mark), or undefined when the cluster already existed.
 *
 * @example
 *   const created = beginFirstStart(dir);
 *   const pg = await PGlite.create(dir);
 *   created?.();
 */
export function beginFirstStart(dataDir: string): (() => void) | undefined {
  const marker = join(dataDir, MARKER);
  if (existsSync(marker)) {
    // Interrupted: everything here but the lock file was made by that attempt.
    for (const name of readdirSync(dataDir))
      if (name !== LOCK_FILE && name !== MARKER)
        rmSync(join(dataDir, name), { recursive: true, force: true });
  } else if (existsSync(join(dataDir, 'PG_VERSION'))) {
    return undefined;
  } else {
    const foreign = readdirSync(dataDir).filter((n) => n !== LOCK_FILE);
    if (foreign.length > 0) throw new DataDirNotEmptyError(dataDir, foreign);
    writeFileSync(marker, `first start of the embedded database by pid ${process.pid}\n`, { mode: 0o600 });
  }
  return () => rmSync(marker, { force: true });
}
