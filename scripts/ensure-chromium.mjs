#!/usr/bin/env node
// Makes sure a Chromium is there before the tests run (the dashboard's browser
// test drives it headless through playwright-core). Installs Debian's
// package when we are root with apt-get; otherwise says exactly what to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { CHROMIUM_HINT, findChromium } from './chromium-bin.mjs';

if (findChromium() !== null) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasAptGet = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (isRoot && hasAptGet) {
  console.log('Chromium not found: installing the Debian package chromium (apt-get)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
  if (findChromium() !== null) process.exit(0);
}

console.error(`${CHROMIUM_HINT}\nThen run npm test again.`);
process.exit(1);
