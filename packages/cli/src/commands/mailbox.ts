import { parseArgs } from 'node:util';
import type { Config } from '@kuvert/server/config';
import { createMailbox } from '@kuvert/server/mailboxes/service';
import { withAdminKeys } from '../admin-database.js';
import { reportError } from './report-error.js';

export async function mailboxCommand(config: Readonly<Config>, argv: string[]): Promise<number> {
  const [action, ...rest] = argv;

  try {
    const { values } = parseArgs({
      args: rest,
      options: {
        'national-id': { type: 'string' },
        email: { type: 'string' },
        language: { type: 'string', default: 'nb' },
        password: { type: 'string' },
      },
      strict: true,
    });
    if (action !== 'create' || !values['national-id'] || !values.email) {
      throw new Error(
        'Usage: kuvert mailbox create --national-id <id> --email <email> [--language nb|nn|en]',
      );
    }
    const language = values.language;
    if (language !== 'nb' && language !== 'nn' && language !== 'en')
      throw new Error('--language is nb, nn or en');
    const password = values.password ?? process.env.KUVERT_NEW_PASSWORD;
    if (!password)
      throw new Error('Set the first passphrase with --password or KUVERT_NEW_PASSWORD.');
    return await withAdminKeys(config, async ({ db, keys }) => {
      const created = await createMailbox({
        db,
        keys,
        nationalId: values['national-id']!,
        email: values.email!,
        language,
        password,
        acceptSynthetic: config.KUVERT_ACCEPT_SYNTHETIC_IDS,
      });
      process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
      return 0;
    });
  } catch (error) {
    return reportError(error);
  }
}
