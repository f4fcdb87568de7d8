// Where the PostgreSQL server binaries (initdb, postgres) are. Shared by
// scripts/ensure-postgres.mjs and test/helpers/postgres-server.ts.
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian's postgresql package puts one directory per major version here, not on PATH. */
export const DEBIAN_ROOT = '/usr/lib/postgresql';

function hasServer(dir) {
  return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
}

/**
 * The directory holding `initdb` and `postgres`: the highest major version
 * under /usr/lib/postgresql/<major>/bin (Debian, Ubuntu), else the first
 * directory on PATH that has both (Homebrew, other distributions). Null when
 * there is none.
 */
export function findPostgresBin() {
  const majors = existsSync(DEBIAN_ROOT)
    ? readdirSync(DEBIAN_ROOT)
        .filter((name) => /^\d+$/.test(name))
        .map(Number)
        .sort((a, b) => b - a)
    : [];
  for (const major of majors) {
    const dir = join(DEBIAN_ROOT, String(major), 'bin');
    if (hasServer(dir)) return dir;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && hasServer(dir)) return dir;
  }
  return null;
}

/** What to tell someone who has no PostgreSQL server binaries. */
export const INSTALL_HINT = [
  'The PostgreSQL tests need the PostgreSQL server binaries (initdb, postgres): they start private',
  'clusters in temporary directories on loopback ports, never a shared server. Install them:',
  '  Debian/Ubuntu: sudo apt-get install -y postgresql   (binaries in /usr/lib/postgresql/<major>/bin)',
  '  macOS (Homebrew): brew install postgresql@17, then put "$(brew --prefix postgresql@17)/bin" on PATH',
].join('\n');
