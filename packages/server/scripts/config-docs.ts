import { readFile, writeFile } from 'node:fs/promises';
import { errorsDocument, withConfigTable } from '../src/generated-docs.js';

const root = new URL('../../../', import.meta.url);
const readmeUrl = new URL('README.md', root);
const errorsUrl = new URL('docs/errors.md', root);

await writeFile(readmeUrl, withConfigTable(await readFile(readmeUrl, 'utf8')));
await writeFile(errorsUrl, errorsDocument());
process.stdout.write('README.md configuration table and docs/errors.md regenerated.\n');
