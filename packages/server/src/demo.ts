import { createPublicKey, type JsonWebKey, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateSenderKey } from '@kuvert/sdk';
import { Secret } from 'otpauth';
import type { AppContext } from './context.js';
import { generateSyntheticNationalId } from './mailboxes/national-id.js';
import { findLoginCredentials } from './mailboxes/queries.js';
import { createMailbox, nationalIdLookupHash } from './mailboxes/service.js';
import { findSenderByName, listSenders } from './senders/queries.js';
import { createSender, registerSenderKey } from './senders/service.js';

export const demoSenderName = 'Demo sender';

export interface DemoData {
  senderId: string;
  senderKeyFile: string;
  recipient: {
    nationalId: string;
    password: string;
    totpSecret: string;
    otpauthUri: string;
    email: string;
  };
}

/** Where the demo's secrets live: under the data dir, readable by the operator only. */
export function demoPaths(dataDir: string) {
  return {
    senderKey: path.join(dataDir, 'demo-sender', 'private-key.jwk.json'),
    recipient: path.join(dataDir, 'demo-recipient.json'),
  };
}

const words = [
  'fjord',
  'lighthouse',
  'cloudberry',
  'reindeer',
  'aurora',
  'kayak',
  'birch',
  'harbour',
  'glacier',
  'puffin',
  'meadow',
  'lantern',
  'ferry',
  'salmon',
  'granite',
  'midnight',
];

/**
 * A passphrase, not a composition-rule password: four different words and a number. Different,
 * because the strength estimate rightly refuses one word four times ("birch-birch-birch-birch").
 */
export function demoPassphrase(): string {
  const remaining = [...words];
  const pick = () => remaining.splice(randomInt(remaining.length), 1)[0]!;
  return `${pick()}-${pick()}-${pick()}-${pick()}-${randomInt(10, 100)}`;
}

/**
 * The demo sender (its private key written under the data dir) and the demo recipient
 * (its login written beside it), checked against the database this start runs on: a new
 * DATABASE_URL with the same data dir finds neither there, so both are opened again in that
 * database with the same key and the same login. The files are never replaced while they
 * still work, so the other database's demo keeps working too. Development only.
 */
export async function ensureDemoData(context: AppContext): Promise<DemoData> {
  const paths = demoPaths(context.config.dataDir);
  const senderId = await ensureDemoSender(context, paths.senderKey);
  const recipient = await ensureDemoRecipient(context, paths.recipient);
  return { senderId, senderKeyFile: paths.senderKey, recipient };
}

async function ensureDemoRecipient(
  context: AppContext,
  file: string,
): Promise<DemoData['recipient']> {
  const saved = existsSync(file)
    ? (JSON.parse(await readFile(file, 'utf8')) as DemoData['recipient'])
    : undefined;
  if (saved) {
    const lookup = nationalIdLookupHash(saved.nationalId, context.keys);
    if (await findLoginCredentials(context.db, lookup)) return saved;
    // Not in this database: the same person, passphrase and TOTP secret, opened here.
    await openDemoMailbox(context, {
      ...saved,
      totpSecret: Buffer.from(Secret.fromBase32(saved.totpSecret).bytes),
    });
    return saved;
  }
  const nationalId = generateSyntheticNationalId();
  const password = demoPassphrase();
  const email = 'demo.recipient@kuvert.example';
  const created = await openDemoMailbox(context, { nationalId, password, email });
  const recipient = {
    nationalId,
    password,
    totpSecret: created.totpSecret,
    otpauthUri: created.otpauthUri,
    email,
  };
  await writeFile(file, `${JSON.stringify(recipient, null, 2)}\n`, { mode: 0o600 });
  return recipient;
}

function openDemoMailbox(
  context: AppContext,
  recipient: { nationalId: string; password: string; email: string; totpSecret?: Buffer },
) {
  return createMailbox({
    db: context.db,
    keys: context.keys,
    nationalId: recipient.nationalId,
    email: recipient.email,
    language: 'nb',
    password: recipient.password,
    acceptSynthetic: true,
    actor: 'system:demo',
    ...(recipient.totpSecret ? { totpSecret: recipient.totpSecret } : {}),
  });
}

/**
 * The demo sender in this database, with the key in the key file registered for it. A new
 * key (and file) only when there is no file yet, or when its key cannot serve here (revoked,
 * or registered to another sender).
 */
async function ensureDemoSender(context: AppContext, keyFile: string): Promise<string> {
  const { db } = context;
  const sender =
    (await findSenderByName(db, demoSenderName)) ??
    (await createSender({ db, keys: context.keys, name: demoSenderName, actor: 'system:demo' }));
  const saved = existsSync(keyFile)
    ? (JSON.parse(await readFile(keyFile, 'utf8')) as JsonWebKey & { kid: string })
    : undefined;
  if (saved) {
    const state = await keyStateFor(context, saved.kid, sender.id);
    if (state === 'registered') return sender.id;
    if (state === 'absent') {
      await registerSenderKey({
        db,
        keys: context.keys,
        senderId: sender.id,
        publicJwk: publicPart(saved),
        actor: 'system:demo',
      });
      return sender.id;
    }
  }
  const { privateJwk, publicJwk } = generateSenderKey('ed25519');
  await registerSenderKey({
    db,
    keys: context.keys,
    senderId: sender.id,
    publicJwk,
    actor: 'system:demo',
  });
  await mkdir(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  await writeFile(keyFile, `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600 });
  return sender.id;
}

/** Whether a key id is the demo sender's active key here, unknown here, or unusable here. */
async function keyStateFor(
  context: AppContext,
  keyId: string,
  senderId: string,
): Promise<'registered' | 'absent' | 'unusable'> {
  const row = (await listSenders(context.db)).find((key) => key.key_id === keyId);
  if (!row) return 'absent';
  return row.id === senderId && row.revoked_at === null ? 'registered' : 'unusable';
}

/** The public half of a private JWK, under the same key id. */
function publicPart(privateJwk: JsonWebKey & { kid: string }): JsonWebKey & { kid: string } {
  const publicJwk = createPublicKey({ key: privateJwk, format: 'jwk' }).export({ format: 'jwk' });
  return { ...publicJwk, kid: privateJwk.kid };
}
