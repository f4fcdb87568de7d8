#!/usr/bin/env node
// Makes sure a `redis-server` binary is on PATH before the tests run: the
// Redis tests start their own private servers from it (never a shared one).
// Installs Debian's package when we are root with apt-get; otherwise says
// exactly what to install.
import { execFileSync, spawnSync } from 'node:child_process';

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

if (has('redis-server')) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && has('apt-get')) {
  console.log('redis-server not found: installing the Debian package redis-server (apt-get)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'inherit', env });
  if (has('redis-server')) process.exit(0);
}

console.error(
  [
    'The tests need the redis-server binary on PATH (they start private servers on loopback ports).',
    'Install it, then run npm test again:',
    '  Debian/Ubuntu: sudo apt-get install -y redis-server',
    '  macOS (Homebrew): brew install redis',
  ].join('\n'),
);
process.exit(1);
