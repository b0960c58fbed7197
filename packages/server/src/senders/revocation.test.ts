import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeLetterForm, generateSenderKey, type SenderKey, signRequest } from '@kuvert/sdk';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, testPublicUrl } from '../../test/support/app.js';
import { createTestDatabase } from '../../test/support/database.js';
import { buildSender, samplePdf, signedInject } from '../../test/support/factories.js';
import { connectDatabase, connectListener, type Db } from '../db/database.js';
import { parseMasterKeys } from '../documents/master-keys.js';
import { generateSyntheticNationalId } from '../mailboxes/national-id.js';
import { createMailbox } from '../mailboxes/service.js';
import { createSenderKeyDirectory, type SenderKeyDirectory } from './key-directory.js';
import { createSender, registerSenderKey, revokeKey } from './service.js';

/**
 * A key revoked with the CLI is refused at once by every server, although
 * each server caches keys.
 */
const silent = pino({ level: 'silent' });
const serverScript = new URL('../../test/support/server-process.ts', import.meta.url).pathname;
const cliMain = new URL('../../../cli/src/main.ts', import.meta.url).pathname;
const masterKeys = JSON.stringify({
  current: 1,
  keys: { 1: randomBytes(32).toString('base64') },
  lookupKey: randomBytes(32).toString('base64'),
});
/** The same keys as the servers': the audit chain of what the test registers is theirs. */
const testMasterKeys = parseMasterKeys(masterKeys, 'test');

/** Waits for a condition that a notification from PostgreSQL makes true (no time limit here). */
async function eventually(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function registerKey(db: Db): Promise<SenderKey> {
  const sender = await createSender({
    db,
    keys: testMasterKeys,
    name: `Sender ${randomUUID()}`,
    actor: 'test',
  });
  const { privateJwk, publicJwk } = generateSenderKey('ed25519');
  const { keyId } = await registerSenderKey({
    db,
    keys: testMasterKeys,
    senderId: sender.id,
    publicJwk,
    actor: 'test',
  });
  return { keyId, algorithm: 'ed25519', privateKey: privateJwk };
}

describe('two server processes on one database', () => {
  let databaseUrl: string;
  let db: Db;
  const servers: { port: number; child: ChildProcess; dataDir: string }[] = [];
  let key: SenderKey;
  const recipientEmail = `${randomUUID()}@recipients.test`;

  function environment(dataDir: string): NodeJS.ProcessEnv {
    return {
      ...process.env,
      KUVERT_ENV: 'test',
      DATABASE_URL: databaseUrl,
      KUVERT_MASTER_KEYS: masterKeys,
      KUVERT_PUBLIC_URL: testPublicUrl,
      KUVERT_DATA_DIR: dataDir,
      KUVERT_WORKERS: 'false',
      LOG_LEVEL: 'warn',
    };
  }

  async function startServer() {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-revocation-'));
    const child = fork(serverScript, [], {
      execArgv: ['--import', 'tsx'],
      env: environment(dataDir),
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message) => resolve((message as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`the server process exited with ${code}`)));
    });
    servers.push({ port, child, dataDir });
    return port;
  }

  /** A letter signed for KUVERT_PUBLIC_URL and sent to one server's own address. */
  async function sendLetterTo(port: number) {
    const form = encodeLetterForm({
      messageId: randomUUID(),
      recipient: { email: recipientEmail },
      subject: 'Revocation',
      document: { filename: 'letter.pdf', bytes: await samplePdf() },
    });
    const headers: Record<string, string> = { 'content-type': form.contentType };
    Object.assign(
      headers,
      signRequest({
        method: 'POST',
        url: `${testPublicUrl}/api/v1/letters`,
        headers,
        body: form.bytes,
        key,
      }),
    );
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/letters`, {
      method: 'POST',
      headers,
      body: form.bytes,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function letterStatusFrom(port: number, letterId: string) {
    const url = `/api/v1/letters/${letterId}`;
    const headers = signRequest({ method: 'GET', url: `${testPublicUrl}${url}`, key });
    const response = await fetch(`http://127.0.0.1:${port}${url}`, { headers });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  function revokeWithCli(keyId: string): Promise<{ code: number | null; stdout: string }> {
    return new Promise((resolve, reject) => {
      let stdout = '';
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', cliMain, 'sender', 'revoke-key', '--key-id', keyId],
        { env: environment(servers[0]!.dataDir), stdio: ['ignore', 'pipe', 'inherit'] },
      );
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
      });
      child.once('error', reject);
      child.once('exit', (code) => resolve({ code, stdout }));
    });
  }

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    db = connectDatabase(databaseUrl, { maxConnections: 2 });
    key = await registerKey(db);
    await createMailbox({
      db,
      keys: testMasterKeys,
      nationalId: generateSyntheticNationalId(),
      email: recipientEmail,
      language: 'en',
      password: 'a long enough test passphrase 9',
      acceptSynthetic: true,
    });
    await Promise.all([startServer(), startServer()]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(
      servers.map(async ({ child, dataDir }) => {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
        await rm(dataDir, { recursive: true, force: true });
      }),
    );
    await db?.destroy();
  });

  it('a key revoked with the CLI is refused by the other server on the very next request', async () => {
    const [portA, portB] = servers.map((server) => server.port) as [number, number];
    // Both servers verify (and so cache) the key.
    const toA = await sendLetterTo(portA);
    const toB = await sendLetterTo(portB);
    expect([toA.status, toB.status], JSON.stringify([toA.body, toB.body])).toEqual([201, 201]);
    expect((await letterStatusFrom(portB, toA.body.id as string)).status).toBe(200);

    const revoked = await revokeWithCli(key.keyId);
    expect(revoked).toMatchObject({ code: 0, stdout: `Key ${key.keyId} revoked.\n` });

    const afterB = await sendLetterTo(portB);
    expect(afterB.status).toBe(401);
    expect(afterB.body).toMatchObject({ code: 'signature_invalid' });
    expect((await letterStatusFrom(portA, toA.body.id as string)).status).toBe(401);
  });
});

describe('the key cache of one server', () => {
  let databaseUrl: string;
  let db: Db;
  const directories: SenderKeyDirectory[] = [];

  /** A directory as a server has one: its own pool, its own listening connection. */
  function directory(listenOn = () => databaseUrl): SenderKeyDirectory {
    const pool = connectDatabase(databaseUrl, { maxConnections: 2 });
    const made = createSenderKeyDirectory({
      db: pool,
      connectListener: () => connectListener(listenOn()),
      log: silent,
    });
    directories.push({
      ...made,
      close: async () => {
        await made.close();
        await pool.destroy();
      },
    });
    return made;
  }

  /** Looks the key up until it is served from the cache (caching starts once it listens). */
  async function cached(keys: SenderKeyDirectory, keyId: string): Promise<void> {
    await keys.find(keyId);
    await eventually(() => keys.isListening());
    expect(await keys.find(keyId)).toMatchObject({ keyId });
    expect(keys.isCached(keyId)).toBe(true);
  }

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    db = connectDatabase(databaseUrl, { maxConnections: 2 });
  });
  afterAll(async () => {
    for (const made of directories) await made.close();
    await db?.destroy();
  });

  it('forgets its keys when another server revokes one (NOTIFY in the revoking transaction)', async () => {
    const key = await registerKey(db);
    const [here, there] = [directory(), directory()];
    await cached(here, key.keyId);
    await cached(there, key.keyId);

    await revokeKey({ db, keys: testMasterKeys, keyId: key.keyId, actor: 'test' });
    await eventually(() => !here.isCached(key.keyId) && !there.isCached(key.keyId));
    expect(await there.find(key.keyId)).toBeUndefined();
  });

  it('hears nothing of a revocation that rolls back', async () => {
    const key = await registerKey(db);
    const keys = directory();
    await cached(keys, key.keyId);
    const failing = db.transaction().execute(async (tx) => {
      await sql`update sender_keys set revoked_at = now() where key_id = ${key.keyId}`.execute(tx);
      await sql`select pg_notify('kuvert_sender_key_revoked', ${key.keyId})`.execute(tx);
      throw new Error('rolled back');
    });
    await expect(failing).rejects.toThrow('rolled back');
    // A later revocation of another key is heard; the first key was never forgotten before it.
    const other = await registerKey(db);
    expect(keys.isCached(key.keyId)).toBe(true);
    await revokeKey({ db, keys: testMasterKeys, keyId: other.keyId, actor: 'test' });
    await eventually(() => !keys.isCached(key.keyId));
    expect(await keys.find(key.keyId)).toMatchObject({ keyId: key.keyId });
  });

  it('empties the cache when its listening connection drops, and caches again once it listens', async () => {
    const key = await registerKey(db);
    const keys = directory();
    await cached(keys, key.keyId);

    await sql`select pg_terminate_backend(pid) from pg_stat_activity
      where application_name = 'kuvert-listener' and datname = current_database()`.execute(db);
    // Revocations sent while nobody listens are lost: so the cache is emptied and not used.
    await eventually(() => !keys.isListening());
    expect(keys.isCached(key.keyId)).toBe(false);
    await revokeKey({ db, keys: testMasterKeys, keyId: key.keyId, actor: 'test' });
    expect(await keys.find(key.keyId)).toBeUndefined();

    const next = await registerKey(db);
    await eventually(() => keys.isListening());
    await cached(keys, next.keyId);
  });

  it('a server that missed the notification still refuses the revoked key: the nonce statement checks it', async () => {
    const kuvert = await startTestKuvert();
    try {
      // This server's listener hears another database: it never learns of revocations here.
      const deafDatabase = await createTestDatabase();
      const deaf = createSenderKeyDirectory({
        db: kuvert.context.db,
        connectListener: () => connectListener(deafDatabase),
        log: silent,
      });
      directories.push(deaf);
      kuvert.context.senderKeys = deaf;
      const sender = await buildSender(kuvert.context);
      await cached(deaf, sender.key.keyId);

      await revokeKey({
        db: kuvert.context.db,
        keys: kuvert.context.keys,
        keyId: sender.key.keyId,
        actor: 'test',
      });
      expect(deaf.isCached(sender.key.keyId)).toBe(true);
      const status = await signedInject(kuvert.app, {
        method: 'GET',
        url: `/api/v1/letters/${randomUUID()}`,
        key: sender.key,
      });
      expect(status.statusCode).toBe(401);
      const form = encodeLetterForm({
        messageId: randomUUID(),
        recipient: { email: 'nobody@recipients.test' },
        subject: 'After revocation',
        document: { filename: 'letter.pdf', bytes: await samplePdf() },
      });
      const letter = await signedInject(kuvert.app, {
        method: 'POST',
        url: '/api/v1/letters',
        key: sender.key,
        body: form.bytes,
        contentType: form.contentType,
      });
      expect(letter.statusCode).toBe(401);
    } finally {
      await kuvert.close();
    }
  });
});
