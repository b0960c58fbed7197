import type { JsonWebKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Config } from '@kuvert/server/config';
import { listSenders } from '@kuvert/server/senders/queries';
import { createSender, registerSenderKey, revokeKey } from '@kuvert/server/senders/service';
import { withAdminKeys } from '../admin-database.js';
import { reportError } from './report-error.js';

const actor = 'admin:cli';

async function readPublicJwk(file: string): Promise<JsonWebKey & { kid?: string }> {
  return JSON.parse(await readFile(file, 'utf8')) as JsonWebKey & { kid?: string };
}

export async function senderCommand(config: Readonly<Config>, argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  try {
    const { values } = parseArgs({
      args: rest,
      options: {
        name: { type: 'string' },
        sender: { type: 'string' },
        'public-key': { type: 'string' },
        'key-id': { type: 'string' },
      },
      strict: true,
    });
    return await withAdminKeys(config, async ({ db, keys }) => {
      switch (action) {
        case 'create': {
          if (!values.name) throw new Error('Give the sender a name: --name "Example Bank"');
          const sender = await createSender({ db, keys, name: values.name, actor });
          const key = values['public-key']
            ? await registerSenderKey({
                db,
                keys,
                senderId: sender.id,
                publicJwk: await readPublicJwk(values['public-key']),
                actor,
              })
            : undefined;
          process.stdout.write(
            `${JSON.stringify({ ...sender, ...(key ? { key } : {}) }, null, 2)}\n`,
          );
          return 0;
        }
        case 'add-key': {
          if (!values.sender || !values['public-key']) {
            throw new Error('Usage: kuvert sender add-key --sender <id> --public-key <jwk file>');
          }
          const key = await registerSenderKey({
            db,
            keys,
            senderId: values.sender,
            publicJwk: await readPublicJwk(values['public-key']),
            actor,
          });
          process.stdout.write(`${JSON.stringify(key, null, 2)}\n`);
          return 0;
        }
        case 'revoke-key': {
          if (!values['key-id']) throw new Error('Usage: kuvert sender revoke-key --key-id <id>');
          await revokeKey({ db, keys, keyId: values['key-id'], actor });
          process.stdout.write(`Key ${values['key-id']} revoked.\n`);
          return 0;
        }
        case 'list':
          process.stdout.write(`${JSON.stringify(await listSenders(db), null, 2)}\n`);
          return 0;
        default:
          throw new Error('Usage: kuvert sender create|add-key|revoke-key|list');
      }
    });
  } catch (error) {
    return reportError(error);
  }
}
