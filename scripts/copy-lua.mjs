#!/usr/bin/env node
// tsc does not copy non-TypeScript files: put the Lua scripts next to the
// compiled modules that load them (dist/src/**/lua/*.lua).
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
let copied = 0;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.lua')) {
      const target = join(root, 'dist', relative(root, path));
      cpSync(path, target, { recursive: true });
      copied++;
    }
  }
}
if (existsSync(join(root, 'src'))) walk(join(root, 'src'));
console.log(`copied ${copied} Lua script(s) into dist/`);
