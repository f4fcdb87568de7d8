import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The README and docs/ show some examples verbatim; this keeps them true:
// each code block preceded by `<!-- file: path -->` must be that file, which
// the type check and the example tests cover.
const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const readme = read('README.md');
const fileBlocks = (text: string) => [...text.matchAll(/<!-- file: (\S+) -->\n```ts\n([\s\S]*?)\n```/g)];
const blocks = [...fileBlocks(readme), ...fileBlocks(read('docs/by-hand.md'))];

describe('README', () => {
  it('shows the quickstart in the README and the by-hand example in docs/', () => {
    expect(fileBlocks(readme).map((b) => b[1])).toEqual(['examples/quickstart/main.ts']);
    expect(blocks.map((b) => b[1])).toEqual(['examples/quickstart/main.ts', 'examples/by-hand/main.ts']);
  });

  it.each(blocks.map((b) => [b[1]!, b[2]!]))('shows %s exactly as it is', (path, code) => {
    const file = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8').trimEnd();
    expect(code).toBe(file);
  });

  it('gives the two commands a newcomer needs', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });
});
