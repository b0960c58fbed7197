import { execFile } from 'node:child_process';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Migrator, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestKuvert, type TestKuvert } from '../../test/support/app.js';
import { connectDatabase, type Db, migrateToLatest } from '../db/database.js';
import { migrations } from '../db/migrations/index.js';
import { FsBlobStore } from '../documents/fs-blob-store.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { checkpointPrefix, findNewestCheckpointKey, writeCheckpoint } from './checkpoints.js';
import {
  appendAuditEvent,
  appendStandaloneAuditEvent,
  auditChainCount,
  chainOf,
  legacyHash,
  sortKeys,
} from './service.js';
import { type AuditProblem, verifyAuditLog } from './verify.js';

/**
 * Security invariant 8: an append-only audit log in keyed chains, anchored by signed
 * checkpoints. The tampering tests act as an attacker with full database access but without
 * the master keys: as the table owner, with the append-only trigger switched off.
 */
let kuvert: TestKuvert;
let db: Db;
let keys: MasterKeys;

beforeAll(async () => {
  kuvert = await startTestKuvert();
  ({ db, keys } = kuvert.context);
});
afterAll(() => kuvert?.close());

const verify = () => verifyAuditLog({ db, keys, blobs: kuvert.context.blobs });

/** A mailbox id whose events go to a chain no other test of this file uses. */
const usedChains = new Set<number>();
function mailboxOnFreshChain(): string {
  for (;;) {
    const id = randomUUID();
    const chain = chainOf({ actor: `mailbox:${id}` });
    if (!usedChains.has(chain)) {
      usedChains.add(chain);
      return id;
    }
  }
}

/** Append `count` letter openings by one mailbox, each in its own transaction. */
async function openLetters(mailboxId: string, count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    await db.transaction().execute((tx) =>
      appendAuditEvent(tx, keys, {
        actor: `mailbox:${mailboxId}`,
        action: 'letter.opened',
        subject: randomUUID(),
        details: { documentId: randomUUID(), index },
      }),
    );
  }
}

async function chainRows(chain: number) {
  return db
    .selectFrom('audit_log')
    .selectAll()
    .where('chain', '=', chain)
    .orderBy('chain_seq', 'asc')
    .execute();
}

/** Run `change` with the append-only trigger off, as the table owner, in one transaction. */
async function tamper(change: (tx: Db) => Promise<unknown>): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`alter table audit_log disable trigger audit_log_no_update`.execute(tx);
    await change(tx as unknown as Db);
    await sql`alter table audit_log enable trigger audit_log_no_update`.execute(tx);
  });
}

type Row = Awaited<ReturnType<typeof chainRows>>[number];

/** Put rows back exactly as they were (the detection before was then the tampering). */
async function restore(rows: Row[]): Promise<void> {
  await tamper(async (tx) => {
    for (const row of rows) {
      await tx.deleteFrom('audit_log').where('seq', '=', row.seq).execute();
      await sql`insert into audit_log (seq, at, actor, action, subject, details, prev_hash, hash, chain, chain_seq, key_version)
        values (${row.seq}, ${row.at}, ${row.actor}, ${row.action}, ${row.subject}, ${JSON.stringify(row.details)}::jsonb,
          ${row.prev_hash}, ${row.hash}, ${row.chain}, ${row.chain_seq}, ${row.key_version})`.execute(
        tx,
      );
    }
  });
}

/** `kuvert audit <args>` in a child process against this file's database and data directory. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const root = fileURLToPath(new URL('../../../..', import.meta.url));
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'packages/cli/src/main.ts', 'audit', ...args],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          KUVERT_ENV: 'test',
          KUVERT_DATA_DIR: kuvert.dataDir,
          DATABASE_URL: kuvert.databaseUrl,
          LOG_LEVEL: 'silent',
        },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Both readers report the same first problem: the service's object and the CLI's line. */
async function expectProblem(expected: Partial<AuditProblem>): Promise<void> {
  const result = await verify();
  expect(result.problems).toEqual([expect.objectContaining(expected)]);
  const run = await cli('verify');
  expect(run.code).toBe(1);
  const where =
    expected.chain === null ? 'checkpoint' : `chain ${expected.chain}, entry ${expected.seq}`;
  expect(run.stdout).toContain(`broken: ${where}: ${expected.kind}:`);
}

async function expectIntact(): Promise<void> {
  expect((await verify()).problems).toEqual([]);
}

describe('keyed audit chains (security invariant 8)', () => {
  it('an empty log verifies, with no checkpoint yet', async () => {
    // Only what startTestKuvert itself did (nothing audited), so the log is empty.
    expect(await verify()).toEqual({ entries: 0, chains: 0, checkpoint: undefined, problems: [] });
  });

  it("one mailbox's events form one chain, numbered 1, 2, 3… and linked by MACs", async () => {
    const mailboxId = mailboxOnFreshChain();
    await openLetters(mailboxId, 5);
    const chain = chainOf({ actor: `mailbox:${mailboxId}` });
    const rows = await chainRows(chain);
    expect(rows.map((row) => row.chain_seq)).toEqual(['1', '2', '3', '4', '5']);
    expect(rows[0]!.prev_hash.equals(Buffer.alloc(32))).toBe(true);
    for (let index = 1; index < rows.length; index++) {
      expect(rows[index]!.prev_hash.equals(rows[index - 1]!.hash)).toBe(true);
    }
    expect(rows.every((row) => row.key_version === keys.currentVersion)).toBe(true);
    // The mailbox named as subject (a login) goes to the same chain as its own actions.
    expect(chainOf({ actor: 'anonymous', subject: mailboxId })).toBe(chain);
    await expectIntact();
  });

  it('an event appended in a transaction that rolls back leaves no entry and no gap', async () => {
    const mailboxId = mailboxOnFreshChain();
    await openLetters(mailboxId, 1);
    await expect(
      db.transaction().execute(async (tx) => {
        await appendAuditEvent(tx, keys, {
          actor: `mailbox:${mailboxId}`,
          action: 'letter.opened',
          subject: 'x',
        });
        throw new Error('the audited action failed');
      }),
    ).rejects.toThrow('the audited action failed');
    await openLetters(mailboxId, 1);
    const rows = await chainRows(chainOf({ actor: `mailbox:${mailboxId}` }));
    expect(rows.map((row) => row.chain_seq)).toEqual(['1', '2']);
    await expectIntact();
  });

  // jsonb reorders keys (shorter first, at every depth): the MAC must not depend on the order.
  it('details with nested objects verify whatever their key order', async () => {
    await db.transaction().execute((tx) =>
      appendAuditEvent(tx, keys, {
        actor: 'admin:test',
        action: 'sender.key_added',
        subject: randomUUID(),
        details: { zeta: 1, alpha: 'two', client: { userAgent: 'Firefox', ip: '192.0.2.1' } },
      }),
    );
    await expectIntact();
  });

  it('refuses UPDATE, DELETE and TRUNCATE in the database', async () => {
    await expect(db.updateTable('audit_log').set({ actor: 'x' }).execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_log`.execute(db)).rejects.toThrow(/append-only/);
    await expectIntact();
  });

  it('refuses a new entry outside the keyed chains (the legacy chain is closed)', async () => {
    await expect(
      sql`insert into audit_log (actor, action, details, prev_hash, hash)
        values ('x', 'login.failed', '{}', ${Buffer.alloc(32)}, ${randomBytes(32)})`.execute(db),
    ).rejects.toThrow(/audit_log_keyed/);
  });
});

describe('appends do not serialise the whole service', () => {
  /** Backends of this database waiting for a lock (a row lock or an advisory lock alike). */
  async function lockWaiters(): Promise<number> {
    const result = await sql<{ waiting: number }>`
      select count(*)::int as waiting from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
    return result.rows[0]!.waiting;
  }

  async function untilSomeoneWaits(stop: { done: boolean }): Promise<void> {
    while (!stop.done) {
      if ((await lockWaiters()) > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return new Promise(() => {}); // B finished first: never settles, the race is won
  }

  it('an open transaction that appended does not hold up an append to another chain', async () => {
    const first = mailboxOnFreshChain();
    const second = mailboxOnFreshChain();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let appended!: () => void;
    const firstAppended = new Promise<void>((resolve) => {
      appended = resolve;
    });
    // Transaction A: appends for the first mailbox and stays open.
    const transactionA = db.transaction().execute(async (tx) => {
      await appendAuditEvent(tx, keys, { actor: `mailbox:${first}`, action: 'login.succeeded' });
      appended();
      await held;
    });
    await firstAppended;
    // Transaction B, another person's login, completes while A is still open. Under the old
    // global lock B would wait on A, and the watcher would see a lock waiter first.
    const stop = { done: false };
    const transactionB = db
      .transaction()
      .execute((tx) =>
        appendAuditEvent(tx, keys, { actor: `mailbox:${second}`, action: 'login.succeeded' }),
      )
      .finally(() => {
        stop.done = true;
      });
    const winner = await Promise.race([
      transactionB.then(() => 'B completed while A was open'),
      untilSomeoneWaits(stop).then(() => 'B waited for A'),
    ]);
    release();
    await transactionA;
    expect(winner).toBe('B completed while A was open');
    await expectIntact();
  });

  it('two servers appending to one chain: a stale guess of the head is retried, never linked', async () => {
    const mailboxId = mailboxOnFreshChain();
    const chain = chainOf({ actor: `mailbox:${mailboxId}` });
    // Another server: the same key material, its own memory of each chain's head.
    const otherServer: MasterKeys = { ...keys };
    const append = (as: MasterKeys, subject: string) =>
      appendAuditEvent(db, as, { actor: `mailbox:${mailboxId}`, action: 'letter.opened', subject });
    await append(keys, 'a1');
    await append(keys, 'a2'); // this server's guess is right: one statement
    await append(otherServer, 'b1'); // no guess yet: locks and reads the head
    await append(keys, 'a3'); // stale guess (a2): refused, then appended on b1
    await append(otherServer, 'b2'); // stale guess (b1): likewise
    const rows = await chainRows(chain);
    expect(rows.map((row) => [row.chain_seq, row.subject])).toEqual([
      ['1', 'a1'],
      ['2', 'a2'],
      ['3', 'b1'],
      ['4', 'a3'],
      ['5', 'b2'],
    ]);
    await expectIntact();
  });

  it('letters opened at the same moment share one commit, in order, with valid links', async () => {
    const mailboxes = [mailboxOnFreshChain(), mailboxOnFreshChain()];
    const subjects = Array.from({ length: 30 }, (_, index) => `grouped-${index}`);
    await Promise.all(
      subjects.map((subject, index) =>
        appendStandaloneAuditEvent(db, keys, {
          actor: `mailbox:${mailboxes[index % 2]}`,
          action: 'letter.opened',
          subject,
        }),
      ),
    );
    const rows = await sql<{ subject: string; chain_seq: string; tx: string }>`
      select subject, chain_seq, xmin::text as tx from audit_log
      where subject like 'grouped-%' order by chain, chain_seq`.execute(db);
    expect(rows.rows).toHaveLength(30);
    // Rows written by one transaction share its id: fewer transactions than entries.
    expect(new Set(rows.rows.map((row) => row.tx)).size).toBeLessThan(30);
    // Each mailbox's entries in the order they were asked for.
    for (const mailboxId of mailboxes) {
      // Only this test's entries: another test's subject may hash onto the same chain.
      const chain = (await chainRows(chainOf({ actor: `mailbox:${mailboxId}` }))).filter(
        (row) => row.subject !== null && subjects.includes(row.subject),
      );
      const asked = subjects.filter((_, index) => mailboxes[index % 2] === mailboxId);
      expect(chain.map((row) => row.subject)).toEqual(asked);
    }
    await expectIntact();
  });

  it('appends to one chain wait for each other and keep one order with valid links', async () => {
    const mailboxId = mailboxOnFreshChain();
    const chain = chainOf({ actor: `mailbox:${mailboxId}` });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let appended!: () => void;
    const firstAppended = new Promise<void>((resolve) => {
      appended = resolve;
    });
    const holder = db.transaction().execute(async (tx) => {
      await appendAuditEvent(tx, keys, {
        actor: `mailbox:${mailboxId}`,
        action: 'login.succeeded',
      });
      appended();
      await held;
    });
    await firstAppended;
    const others = Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        db.transaction().execute((tx) =>
          appendAuditEvent(tx, keys, {
            actor: `mailbox:${mailboxId}`,
            action: 'letter.opened',
            subject: `letter-${index}`,
          }),
        ),
      ),
    );
    // The same chain: the others queue behind the open transaction's row lock.
    while ((await lockWaiters()) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    await Promise.all([holder, others]);
    const rows = await chainRows(chain);
    expect(rows.map((row) => row.chain_seq)).toEqual(
      Array.from({ length: 11 }, (_, index) => String(index + 1)),
    );
    await expectIntact();
  });
});

describe('checkpoints and tampering, through the service and `kuvert audit verify`', () => {
  let chain: number;
  let rows: Row[];

  beforeAll(async () => {
    const mailboxId = mailboxOnFreshChain();
    chain = chainOf({ actor: `mailbox:${mailboxId}` });
    await openLetters(mailboxId, 6);
    rows = await chainRows(chain);
  });

  it('`kuvert audit checkpoint` signs every head; verify then reports intact against it', async () => {
    const written = await cli('checkpoint');
    expect(written.code).toBe(0);
    expect(written.stdout).toMatch(
      /^checkpoint audit-checkpoints\/\d{15}-[0-9a-f]{8}: \d+ entries/,
    );
    const result = await verify();
    expect(result.problems).toEqual([]);
    expect(result.checkpoint?.key).toBe(await findNewestCheckpointKey(kuvert.context.blobs));
    const run = await cli('verify');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^intact: ${result.entries} entries in ${result.chains} chains, last checkpoint at ${result.checkpoint!.at}`,
      ),
    );
  });

  it('an edited entry: edited, at that entry', async () => {
    const target = rows[2]!;
    await tamper((tx) =>
      sql`update audit_log set details = ${JSON.stringify({ documentId: 'another' })}::jsonb
        where seq = ${target.seq}`.execute(tx),
    );
    await expectProblem({ chain, seq: '3', kind: 'edited' });
    await restore([target]);
    await expectIntact();
  });

  it('an edited entry whose hash is recomputed with plain SHA-256: edited, at that entry', async () => {
    const target = rows[3]!;
    const details = { ...(target.details as Record<string, unknown>), documentId: 'another' };
    // All a forger without the key can do: the old unkeyed hash over the new content.
    const forged = legacyHash(target.prev_hash, { ...target, details });
    await tamper((tx) =>
      sql`update audit_log set details = ${JSON.stringify(details)}::jsonb, hash = ${forged}
        where seq = ${target.seq}`.execute(tx),
    );
    await expectProblem({ chain, seq: '4', kind: 'edited' });
    await restore([target]);
    await expectIntact();
  });

  it('an entry forged with an HMAC under a key of the attacker: edited, at that entry', async () => {
    const target = rows[1]!;
    const canonical = JSON.stringify([
      'kuvert-audit-entry-v1',
      chain,
      target.chain_seq,
      target.key_version,
      target.prev_hash.toString('hex'),
      target.at.toISOString(),
      'mailbox:someone-else',
      target.action,
      target.subject,
      sortKeys(target.details),
    ]);
    const forged = createHmac('sha256', randomBytes(32)).update(canonical).digest();
    await tamper((tx) =>
      sql`update audit_log set actor = 'mailbox:someone-else', hash = ${forged}
        where seq = ${target.seq}`.execute(tx),
    );
    await expectProblem({ chain, seq: '2', kind: 'edited' });
    await restore([target]);
    await expectIntact();
  });

  it('a deleted entry in the middle: gap, at the missing number', async () => {
    const victim = rows[3]!;
    await tamper((tx) => tx.deleteFrom('audit_log').where('seq', '=', victim.seq).execute());
    await expectProblem({ chain, seq: '4', kind: 'gap' });
    await restore([victim]);
    await expectIntact();
  });

  it('a cut-off end, heads row rewound too: truncated, at the checkpoint entry', async () => {
    const cut = rows.slice(4); // entries 5 and 6; the checkpoint recorded 6
    await tamper(async (tx) => {
      for (const row of cut) await tx.deleteFrom('audit_log').where('seq', '=', row.seq).execute();
      await tx
        .updateTable('audit_chain_heads')
        .set({ seq: '4', hash: rows[3]!.hash })
        .where('chain', '=', chain)
        .execute();
    });
    await expectProblem({ chain, seq: '6', kind: 'truncated' });
    expect((await verify()).problems[0]!.message).toMatch(/ends at entry 4.*recorded 6 entries/);

    // The service appends again on the cut chain: as long as before, but not the same.
    const mailboxId = rows[0]!.actor.slice('mailbox:'.length);
    await openLetters(mailboxId, 3);
    await expectProblem({ chain, seq: '6', kind: 'truncated' });
    expect((await verify()).problems[0]!.message).toMatch(/entry 6 differs/);

    // Put the chain back as the checkpoint knew it.
    await tamper(async (tx) => {
      await tx
        .deleteFrom('audit_log')
        .where('chain', '=', chain)
        .where('chain_seq', '>', '4')
        .execute();
      await tx
        .updateTable('audit_chain_heads')
        .set({ seq: '6', hash: rows[5]!.hash })
        .where('chain', '=', chain)
        .execute();
    });
    await restore(cut);
    await expectIntact();
  });

  it('a cut-off end with the heads row left alone: truncated, even without a checkpoint entry for it', async () => {
    const last = rows[5]!;
    await tamper((tx) => tx.deleteFrom('audit_log').where('seq', '=', last.seq).execute());
    await expectProblem({ chain, seq: '6', kind: 'truncated' });
    await restore([last]);
    await expectIntact();
  });

  it('a checkpoint edited in the store: checkpoint signature refused', async () => {
    const blobs = kuvert.context.blobs as FsBlobStore;
    const key = (await findNewestCheckpointKey(blobs))!;
    const file = blobs.pathOf(key);
    const original = await readFile(file, 'utf8');
    const checkpoint = JSON.parse(original);
    // Make the checkpoint agree with a chain cut to 4 entries.
    const head = checkpoint.chains.find((entry: { chain: number }) => entry.chain === chain);
    head.seq = '4';
    head.hash = rows[3]!.hash.toString('hex');
    await writeFile(file, JSON.stringify(checkpoint));
    await expectProblem({ chain: null, kind: 'checkpoint' });
    expect((await verify()).problems[0]!.message).toMatch(/signature does not match/);
    await writeFile(file, original);
    await expectIntact();
  });

  it('a newer checkpoint forged without the key: checkpoint signature refused', async () => {
    const blobs = kuvert.context.blobs;
    const key = (await findNewestCheckpointKey(blobs))!;
    const checkpoint = JSON.parse((await blobs.get(key)).toString('utf8'));
    checkpoint.at = new Date(Date.now() + 60_000).toISOString();
    checkpoint.signature = createHash('sha256').update(JSON.stringify(checkpoint)).digest('hex');
    const forgedKey = `${checkpointPrefix}/${String(Date.now() + 60_000).padStart(15, '0')}-00000000`;
    await blobs.put(forgedKey, Buffer.from(JSON.stringify(checkpoint)));
    await expectProblem({ chain: null, kind: 'checkpoint' });
    await blobs.delete(forgedKey);
    await expectIntact();
  });

  it('the maintenance task writes a checkpoint only when a chain moved', async () => {
    const { auditCheckpointTask } = await import('./checkpoint.task.js');
    const task = auditCheckpointTask(kuvert.context);
    const count = async () => {
      let n = 0;
      for await (const _ of kuvert.context.blobs.listOlderThan(checkpointPrefix, new Date(8.64e15)))
        n++;
      return n;
    };
    const before = await count();
    await task.run();
    await task.run();
    expect(await count()).toBe(before + 1);
    await openLetters(rows[0]!.actor.slice('mailbox:'.length), 1);
    await task.run();
    expect(await count()).toBe(before + 2);
    await expectIntact();
  });
});

describe('entries from before keyed chains (the legacy chain)', () => {
  let legacyDb: Db;
  let legacyDataDir: string;
  let legacyBlobs: FsBlobStore;

  /** An empty database (from template0) that the run's teardown drops with the copies. */
  async function emptyDatabase(): Promise<string> {
    const templateUrl = new URL(inject('templateDatabaseUrl'));
    const name = `${templateUrl.pathname.slice(1)}_copy_legacy_${randomBytes(4).toString('hex')}`;
    const admin = new URL(templateUrl);
    admin.pathname = '/postgres';
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(`create database ${name} template template0`);
    } finally {
      await client.end();
    }
    const url = new URL(templateUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  beforeAll(async () => {
    legacyDb = connectDatabase(await emptyDatabase(), { maxConnections: 3 });
    legacyDataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-audit-legacy-'));
    legacyBlobs = new FsBlobStore({ dataDir: legacyDataDir });
    const migrator = new Migrator({
      db: legacyDb,
      provider: { getMigrations: async () => migrations },
      migrationTableName: 'kuvert_migrations',
      migrationLockTableName: 'kuvert_migrations_lock',
    });
    const { error } = await migrator.migrateTo('2026-11-25T1200-foundation');
    if (error) throw error;
    // Three entries as the old code wrote them: unkeyed SHA-256, one chain in seq order.
    let prevHash: Buffer = Buffer.alloc(32);
    for (const index of [1, 2, 3]) {
      const entry = {
        at: new Date(Date.UTC(2026, 10, 30, 12, index)),
        actor: 'system',
        action: 'mailbox.created',
        subject: `mailbox-${index}`,
        details: { language: 'nb', index },
      };
      const hash = legacyHash(prevHash, entry);
      await legacyDb
        .insertInto('audit_log')
        .values({ ...entry, details: JSON.stringify(entry.details), prev_hash: prevHash, hash })
        .execute();
      prevHash = hash;
    }
    await migrateToLatest(legacyDb);
  });
  afterAll(async () => {
    await legacyDb?.destroy();
    await rm(legacyDataDir, { recursive: true, force: true });
  });

  const verifyLegacy = () => verifyAuditLog({ db: legacyDb, keys, blobs: legacyBlobs });

  it('stay verifiable beside the keyed chains, and are anchored by the checkpoint', async () => {
    await legacyDb
      .transaction()
      .execute((tx) =>
        appendAuditEvent(tx, keys, { actor: 'system', action: 'sender.created', subject: 'x' }),
      );
    await writeCheckpoint({ db: legacyDb, keys, blobs: legacyBlobs });
    const result = await verifyLegacy();
    expect(result).toMatchObject({ entries: 4, chains: 2, problems: [] });
    expect((await legacyDb.selectFrom('audit_chain_heads').select('chain').execute()).length).toBe(
      auditChainCount,
    );
  });

  it('a legacy entry edited with every later hash recomputed: caught by the checkpoint', async () => {
    const legacy = await legacyDb
      .selectFrom('audit_log')
      .selectAll()
      .where('chain', 'is', null)
      .orderBy('seq')
      .execute();
    // Unkeyed links can be recomputed by anyone: rewrite entry 2 and re-link entry 3. Even
    // the check that closes the legacy chain to new rows refuses this, until it is dropped.
    await legacyDb.transaction().execute(async (tx) => {
      await sql`alter table audit_log disable trigger audit_log_no_update`.execute(tx);
      await sql`alter table audit_log drop constraint audit_log_keyed`.execute(tx);
      let prevHash = legacy[0]!.hash;
      for (const row of legacy.slice(1)) {
        const details = { ...(row.details as Record<string, unknown>), language: 'en' };
        const hash = legacyHash(prevHash, { ...row, details });
        await sql`update audit_log set details = ${JSON.stringify(details)}::jsonb,
          prev_hash = ${prevHash}, hash = ${hash} where seq = ${row.seq}`.execute(tx);
        prevHash = hash;
      }
      await sql`alter table audit_log enable trigger audit_log_no_update`.execute(tx);
    });
    expect((await verifyLegacy()).problems).toEqual([
      expect.objectContaining({ chain: 'legacy', seq: legacy[2]!.seq, kind: 'edited' }),
    ]);
  });
});
