import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateSenderKey } from '@kuvert/sdk';
import type { AppContext } from './context.js';
import { generateSyntheticNationalId } from './mailboxes/national-id.js';
import { createMailbox } from './mailboxes/service.js';
import { findSenderByName } from './senders/queries.js';
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

/** A passphrase, not a composition-rule password: four words and a number. */
function demoPassphrase(): string {
  const pick = () => words[Math.floor(Math.random() * words.length)]!;
  return `${pick()}-${pick()}-${pick()}-${pick()}-${Math.floor(Math.random() * 90 + 10)}`;
}

/**
 * Create the demo sender (its private key written under the data dir) and the demo
 * recipient once; later starts read them back. Development only.
 */
export async function ensureDemoData(context: AppContext): Promise<DemoData> {
  const paths = demoPaths(context.config.dataDir);
  const senderId = await ensureDemoSender(context, paths.senderKey);
  if (existsSync(paths.recipient)) {
    const recipient = JSON.parse(await readFile(paths.recipient, 'utf8')) as DemoData['recipient'];
    return { senderId, senderKeyFile: paths.senderKey, recipient };
  }
  const nationalId = generateSyntheticNationalId();
  const password = demoPassphrase();
  const email = 'demo.recipient@kuvert.example';
  const created = await createMailbox({
    db: context.db,
    keys: context.keys,
    nationalId,
    email,
    language: 'nb',
    password,
    acceptSynthetic: true,
  });
  const recipient = {
    nationalId,
    password,
    totpSecret: created.totpSecret,
    otpauthUri: created.otpauthUri,
    email,
  };
  await writeFile(paths.recipient, `${JSON.stringify(recipient, null, 2)}\n`, { mode: 0o600 });
  return { senderId, senderKeyFile: paths.senderKey, recipient };
}

async function ensureDemoSender(context: AppContext, keyFile: string): Promise<string> {
  const existing = await findSenderByName(context.db, demoSenderName);
  if (existing && existsSync(keyFile)) return existing.id;
  const sender =
    existing ??
    (await createSender({
      db: context.db,
      keys: context.keys,
      name: demoSenderName,
      actor: 'system:demo',
    }));
  const { privateJwk, publicJwk } = generateSenderKey('ed25519');
  await registerSenderKey({
    db: context.db,
    keys: context.keys,
    senderId: sender.id,
    publicJwk,
    actor: 'system:demo',
  });
  await mkdir(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  await writeFile(keyFile, `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600 });
  return sender.id;
}
