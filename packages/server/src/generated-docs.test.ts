import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { errorsDocument, withConfigTable } from './generated-docs.js';

const root = new URL('../../../', import.meta.url);

describe('generated documentation', () => {
  it('the README configuration table matches the config schema (run npm run docs:generate)', async () => {
    const readme = await readFile(new URL('README.md', root), 'utf8');
    expect(withConfigTable(readme)).toBe(readme);
  });

  it('docs/errors.md has a row for every error code (run npm run docs:generate)', async () => {
    expect(await readFile(new URL('docs/errors.md', root), 'utf8')).toBe(errorsDocument());
  });
});
