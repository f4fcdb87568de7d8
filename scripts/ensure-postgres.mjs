#!/usr/bin/env node
// Makes sure the PostgreSQL server binaries (initdb, postgres) are there
// before the tests run: the PostgreSQL tests start their own private clusters
// from them (never a shared server). Installs Debian's package when we are
// root with apt-get; otherwise says exactly what to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { findPostgresBin, INSTALL_HINT } from './postgres-bin.mjs';

if (findPostgresBin() !== null) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasAptGet = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (isRoot && hasAptGet) {
  console.log('PostgreSQL server binaries not found: installing the Debian package postgresql (apt-get)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'postgresql'], { stdio: 'inherit', env });
  if (findPostgresBin() !== null) process.exit(0);
}

console.error(`${INSTALL_HINT}\nThen run npm test again.`);
process.exit(1);
