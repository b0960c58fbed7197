import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/support/database.js';
import { connectDatabase, type Db } from '../db/database.js';
import { appendAuditEvent, verifyAuditChain } from './service.js';

/**
 * Security invariant 8: an append-only, hash-chained audit log. Every test here works on this
 * file's own database copy; the tampering tests switch the append-only trigger off in it.
 */
let db: Db;

beforeAll(async () => {
  db = connectDatabase(await createTestDatabase(), { maxConnections: 25 });
});
afterAll(() => db?.destroy());

async function append(count: number, prefix = 'event'): Promise<void> {
  for (let index = 0; index < count; index++) {
    await db.transaction().execute((tx) =>
      appendAuditEvent(tx, {
        actor: `${prefix}-actor`,
        action: 'login.succeeded',
        subject: `${prefix}-${index}`,
        details: { ip: '192.0.2.1', index, method: 'totp' },
      }),
    );
  }
}

async function sequenceNumbers(): Promise<string[]> {
  const rows = await db.selectFrom('audit_log').select('seq').orderBy('seq', 'asc').execute();
  return rows.map((row) => row.seq);
}

/** Run `change` with the append-only trigger off, as the table owner, in one transaction. */
async function tamper(change: (tx: Db) => Promise<unknown>): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`alter table audit_log disable trigger audit_log_no_update`.execute(tx);
    await change(tx as unknown as Db);
    await sql`alter table audit_log enable trigger audit_log_no_update`.execute(tx);
  });
}

/** The table's types forbid changing `details` at all; a forger writes SQL. */
async function setDetails(tx: Db, seq: string, details: unknown, hash?: Buffer): Promise<void> {
  const json = JSON.stringify(details);
  await (hash === undefined
    ? sql`update audit_log set details = ${json}::jsonb where seq = ${seq}`
    : sql`update audit_log set details = ${json}::jsonb, hash = ${hash} where seq = ${seq}`
  ).execute(tx);
}

describe('audit log hash chain (security invariant 8)', () => {
  it('an empty log verifies', async () => {
    expect(await verifyAuditChain(db)).toBeNull();
  });

  it('a chain of events verifies, each entry linked to the one before', async () => {
    await append(5, 'chain');
    expect(await verifyAuditChain(db)).toBeNull();
    const rows = await db.selectFrom('audit_log').selectAll().orderBy('seq', 'asc').execute();
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(rows[0]!.prev_hash.equals(Buffer.alloc(32))).toBe(true);
    for (let index = 1; index < rows.length; index++) {
      expect(rows[index]!.prev_hash.equals(rows[index - 1]!.hash)).toBe(true);
    }
  });

  it('an event appended in a transaction that rolls back leaves no entry and no gap', async () => {
    const before = await sequenceNumbers();
    await expect(
      db.transaction().execute(async (tx) => {
        await appendAuditEvent(tx, { actor: 'rollback', action: 'letter.opened', subject: 'x' });
        throw new Error('the audited action failed');
      }),
    ).rejects.toThrow('the audited action failed');
    expect(await sequenceNumbers()).toEqual(before);
    await append(1, 'after-rollback');
    expect(await verifyAuditChain(db)).toBeNull();
  });

  it('the order of detail keys does not change the hash', async () => {
    await db.transaction().execute((tx) =>
      appendAuditEvent(tx, {
        actor: 'keys',
        action: 'sender.key_added',
        details: { zeta: 1, alpha: 'two', middle: null, longer_key: true },
      }),
    );
    expect(await verifyAuditChain(db)).toBeNull();
  });

  // PostgreSQL's jsonb reorders nested keys (shorter keys first), so the canonical form must
  // sort keys at every depth, or an intact log with nested details reports a broken link.
  it('nested detail objects verify (keys not in jsonb order)', async () => {
    const fresh = connectDatabase(await createTestDatabase(), { maxConnections: 2 });
    try {
      await fresh.transaction().execute((tx) =>
        appendAuditEvent(tx, {
          actor: 'nested',
          action: 'login.succeeded',
          details: { client: { userAgent: 'Firefox', ip: '192.0.2.1' } },
        }),
      );
      expect(await verifyAuditChain(fresh)).toBeNull();
    } finally {
      await fresh.destroy();
    }
  });

  it('concurrent appends, each in its own transaction, still form one chain', async () => {
    const before = (await sequenceNumbers()).length;
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        db.transaction().execute((tx) =>
          appendAuditEvent(tx, {
            actor: 'parallel',
            action: 'letter.opened',
            subject: `letter-${index}`,
            details: { index },
          }),
        ),
      ),
    );
    expect((await sequenceNumbers()).length).toBe(before + 20);
    expect(await verifyAuditChain(db)).toBeNull();
    // One chain: no two entries share a predecessor.
    const prevHashes = await db.selectFrom('audit_log').select('prev_hash').execute();
    const distinct = new Set(prevHashes.map((row) => row.prev_hash.toString('hex')));
    expect(distinct.size).toBe(prevHashes.length);
  });
});

describe('audit log is append-only in the database (security invariant 8)', () => {
  it('refuses UPDATE', async () => {
    await expect(
      db.updateTable('audit_log').set({ actor: 'someone else' }).execute(),
    ).rejects.toThrow(/append-only/);
  });

  it('refuses UPDATE that matches no row too (statement-level trigger)', async () => {
    await expect(
      db.updateTable('audit_log').set({ actor: 'x' }).where('seq', '=', '-1').execute(),
    ).rejects.toThrow(/append-only/);
  });

  it('refuses DELETE', async () => {
    await expect(db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
  });

  it('refuses TRUNCATE', async () => {
    await expect(sql`truncate audit_log`.execute(db)).rejects.toThrow(/append-only/);
  });

  it('the refused statements changed nothing', async () => {
    expect(await verifyAuditChain(db)).toBeNull();
    const actors = await db.selectFrom('audit_log').select('actor').execute();
    expect(actors.some((row) => row.actor === 'someone else')).toBe(false);
  });
});

// These tests tamper with the log (trigger disabled as the table owner), so they run last.
describe('verifyAuditChain detects tampering (security invariant 8)', () => {
  it('an edited entry: returns its sequence number', async () => {
    await append(3, 'edit');
    const seqs = await sequenceNumbers();
    const target = seqs[seqs.length - 2]!;
    await tamper((tx) => setDetails(tx, target, { ip: '203.0.113.66', index: 1, method: 'totp' }));
    expect(await verifyAuditChain(db)).toBe(target);

    // Put it back as it was: the chain verifies again, so the detection above was the edit.
    await tamper((tx) => setDetails(tx, target, { ip: '192.0.2.1', index: 1, method: 'totp' }));
    expect(await verifyAuditChain(db)).toBeNull();
  });

  it('an edited actor: returns its sequence number', async () => {
    const seqs = await sequenceNumbers();
    const target = seqs[2]!;
    await tamper((tx) =>
      tx.updateTable('audit_log').set({ actor: 'innocent' }).where('seq', '=', target).execute(),
    );
    expect(await verifyAuditChain(db)).toBe(target);
    await tamper((tx) =>
      tx.updateTable('audit_log').set({ actor: 'chain-actor' }).where('seq', '=', target).execute(),
    );
    expect(await verifyAuditChain(db)).toBeNull();
  });

  it('an edited time: returns its sequence number', async () => {
    const seqs = await sequenceNumbers();
    const target = seqs[1]!;
    const original = await db
      .selectFrom('audit_log')
      .select('at')
      .where('seq', '=', target)
      .executeTakeFirstOrThrow();
    await tamper((tx) =>
      sql`update audit_log set at = at - interval '1 day' where seq = ${target}`.execute(tx),
    );
    expect(await verifyAuditChain(db)).toBe(target);
    await tamper((tx) =>
      sql`update audit_log set at = ${original.at} where seq = ${target}`.execute(tx),
    );
    expect(await verifyAuditChain(db)).toBeNull();
  });

  it('a forged hash on an entry: returns its sequence number', async () => {
    const seqs = await sequenceNumbers();
    const target = seqs[3]!;
    const original = await db
      .selectFrom('audit_log')
      .select('hash')
      .where('seq', '=', target)
      .executeTakeFirstOrThrow();
    await tamper((tx) =>
      tx
        .updateTable('audit_log')
        .set({ hash: Buffer.alloc(32, 7) })
        .where('seq', '=', target)
        .execute(),
    );
    expect(await verifyAuditChain(db)).toBe(target);
    await tamper((tx) =>
      tx.updateTable('audit_log').set({ hash: original.hash }).where('seq', '=', target).execute(),
    );
    expect(await verifyAuditChain(db)).toBeNull();
  });

  it('an edited entry whose own hash is recomputed: returns the entry after it', async () => {
    const seqs = await sequenceNumbers();
    const target = seqs[1]!;
    const row = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '=', target)
      .executeTakeFirstOrThrow();
    const details = { ...(row.details as Record<string, unknown>), ip: '203.0.113.66' };
    // The canonical form of audit/service.ts, recomputed as a forger without any key could.
    const canonical = JSON.stringify([
      row.at.toISOString(),
      row.actor,
      row.action,
      row.subject,
      Object.fromEntries(Object.entries(details).sort(([a], [b]) => a.localeCompare(b))),
    ]);
    const forged = createHash('sha256').update(row.prev_hash).update(canonical).digest();
    await tamper((tx) => setDetails(tx, target, details, forged));
    expect(await verifyAuditChain(db)).toBe(seqs[2]);
    await tamper((tx) => setDetails(tx, target, row.details, row.hash));
    expect(await verifyAuditChain(db)).toBeNull();
  });

  it('a deleted entry: returns the sequence number of the entry after the gap', async () => {
    await append(3, 'delete');
    const seqs = await sequenceNumbers();
    const victim = seqs[seqs.length - 2]!;
    const after = seqs[seqs.length - 1]!;
    await tamper((tx) => tx.deleteFrom('audit_log').where('seq', '=', victim).execute());
    expect(await verifyAuditChain(db)).toBe(after);
  });
});
