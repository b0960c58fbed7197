import { readFile, writeFile } from 'node:fs/promises';
import { withArchitectureTable } from '../../../tools/architecture.js';
import { errorsDocument, withConfigTable } from '../src/generated-docs.js';

const root = new URL('../../../', import.meta.url);

/** Rewrite a document from the code it describes. */
async function regenerate(name: string, update: (text: string) => string): Promise<void> {
  const url = new URL(name, root);
  await writeFile(url, update(await readFile(url, 'utf8')));
}

await regenerate('README.md', withConfigTable);
await regenerate('docs/errors.md', () => errorsDocument());
await regenerate('ARCHITECTURE.md', withArchitectureTable);
process.stdout.write(
  'README.md configuration table, docs/errors.md and the ARCHITECTURE.md table regenerated.\n',
);
