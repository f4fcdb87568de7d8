// Where the Chromium the browser tests drive is: CHROMIUM_PATH, else
// Debian's `chromium` package (/usr/bin/chromium), else one on PATH.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export const CHROMIUM_HINT =
  'Chromium not found: the dashboard browser tests drive a real headless Chromium. Install it (Debian/Ubuntu: apt-get install -y chromium), or set CHROMIUM_PATH to a Chromium or Chrome executable.';

/** The executable's path, or null. */
export function findChromium() {
  const given = process.env.CHROMIUM_PATH;
  if (given && existsSync(given)) return given;
  for (const path of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(path)) return path;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim() !== '') return found.stdout.trim();
  }
  return null;
}
