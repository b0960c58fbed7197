import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../test/support/database.js';
import { currentTotp } from '../test/support/factories.js';
import { logIn } from './auth/service.js';
import { loadConfig } from './config.js';
import type { AppContext } from './context.js';
import {
  type DemoData,
  demoPassphrase,
  demoPaths,
  demoSenderName,
  ensureDemoData,
} from './demo.js';
import { checkPassphrase } from './mailboxes/service.js';
import { type Runtime, startRuntime } from './runtime.js';
import { listSenders } from './senders/queries.js';

let dataDir: string;
const runtimes: Runtime[] = [];

/** A Kuvert on a database of its own, sharing one data directory (a new DATABASE_URL). */
async function kuvertOnNewDatabase(): Promise<AppContext> {
  const config = loadConfig({
    KUVERT_ENV: 'development',
    KUVERT_DATA_DIR: dataDir,
    KUVERT_WORKERS: 'false',
    SMTP_URL: 'smtp://127.0.0.1:1',
  });
  const runtime = await startRuntime(config, {
    databaseUrl: await createTestDatabase(),
    log: pino({ level: 'silent' }),
  });
  runtimes.push(runtime);
  return runtime.context;
}

async function canLogIn(context: AppContext, demo: DemoData, now: number) {
  return logIn({
    db: context.db,
    keys: context.keys,
    acceptSynthetic: true,
    nationalId: demo.recipient.nationalId,
    password: demo.recipient.password,
    totp: currentTotp(demo.recipient.totpSecret, now),
    ip: '127.0.0.1',
    userAgent: 'demo test',
    presentedToken: undefined,
    now,
  });
}

async function demoSenderKeys(context: AppContext) {
  const rows = await listSenders(context.db);
  return rows
    .filter((row) => row.name === demoSenderName && row.revoked_at === null)
    .map((row) => row.key_id);
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-demo-'));
});

afterAll(async () => {
  for (const runtime of runtimes) await runtime.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('demo data', () => {
  it('is checked against the database it runs on: a new database gets the same demo', async () => {
    const first = await kuvertOnNewDatabase();
    const demoFirst = await ensureDemoData(first);
    const keyFile = await readFile(demoPaths(dataDir).senderKey, 'utf8');
    const { kid } = JSON.parse(keyFile) as { kid: string };

    // Same data directory, another database: the printed recipient must exist there too.
    const second = await kuvertOnNewDatabase();
    const demoSecond = await ensureDemoData(second);
    expect(demoSecond.recipient).toEqual(demoFirst.recipient);
    expect(await readFile(demoPaths(dataDir).senderKey, 'utf8')).toBe(keyFile);

    // The one key file signs for the demo sender in both databases, and the one printed
    // login opens the mailbox in both.
    expect(await demoSenderKeys(first)).toEqual([kid]);
    expect(await demoSenderKeys(second)).toEqual([kid]);
    const now = Date.now();
    await expect(canLogIn(first, demoFirst, now)).resolves.toBeDefined();
    await expect(canLogIn(second, demoSecond, now)).resolves.toBeDefined();

    // A later start on either database changes nothing.
    await ensureDemoData(first);
    await ensureDemoData(second);
    expect(await readFile(demoPaths(dataDir).senderKey, 'utf8')).toBe(keyFile);
    expect(await demoSenderKeys(first)).toEqual([kid]);
    expect(await demoSenderKeys(second)).toEqual([kid]);
  });
});

describe('the demo passphrase', () => {
  it('is four different words and a number, so the passphrase policy always accepts it', () => {
    for (let i = 0; i < 200; i++) {
      const passphrase = demoPassphrase();
      const words = passphrase.split('-').slice(0, 4);
      expect(new Set(words).size, passphrase).toBe(4);
      expect(checkPassphrase(passphrase), passphrase).toBeUndefined();
    }
  });
});
