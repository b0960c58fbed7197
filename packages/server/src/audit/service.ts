import { createHash } from 'node:crypto';
import type { Db, Executor } from '../db/database.js';
import {
  findLastAuditHash,
  insertAuditEntry,
  listAuditEntries,
  lockAuditChain,
} from './queries.js';

const genesis: Buffer = Buffer.alloc(32);

export type AuditAction =
  | 'login.succeeded'
  | 'login.failed'
  | 'session.ended'
  | 'letter.opened'
  | 'sender.created'
  | 'sender.key_added'
  | 'sender.key_revoked'
  | 'mailbox.created'
  | 'session.stepped_up'
  | 'registration.started'
  | 'contact.verification_sent'
  | 'contact.verified';

export interface AuditEvent {
  actor: string;
  action: AuditAction;
  subject?: string | null;
  details?: Record<string, unknown>;
}

/** The hash that links an entry to the one before it; it covers when the entry was made, too. */
function chainHash(prevHash: Buffer, at: Date, event: Required<AuditEvent>): Buffer {
  const canonical = JSON.stringify([
    at.toISOString(),
    event.actor,
    event.action,
    event.subject,
    sortKeys(event.details),
  ]);
  return createHash('sha256').update(prevHash).update(canonical).digest();
}

/**
 * A canonical form of the details at every depth: PostgreSQL's jsonb reorders keys, so the
 * hash must not depend on key order. Code-unit order, not locale order, so every machine agrees.
 */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, entry]) => [key, sortKeys(entry)]),
  );
}

/**
 * Append a security-relevant event to the hash-chained audit log (security invariant 8).
 * Call it inside the transaction that does the audited thing, so both commit or neither.
 */
export async function appendAuditEvent(tx: Executor, event: AuditEvent): Promise<void> {
  const complete = { subject: null, details: {}, ...event } as Required<AuditEvent>;
  await lockAuditChain(tx);
  const prevHash = (await findLastAuditHash(tx)) ?? genesis;
  // Millisecond precision, so the time read back from PostgreSQL hashes the same.
  const at = new Date();
  await insertAuditEntry(tx, {
    ...complete,
    at,
    prevHash,
    hash: chainHash(prevHash, at, complete),
  });
}

/** Walk the chain; returns the sequence number of the first broken link, or null if intact. */
export async function verifyAuditChain(db: Db): Promise<string | null> {
  let prevHash: Buffer = genesis;
  for (const entry of await listAuditEntries(db)) {
    const expected = chainHash(prevHash, entry.at, {
      actor: entry.actor,
      action: entry.action as AuditAction,
      subject: entry.subject,
      details: entry.details,
    });
    if (!entry.prev_hash.equals(prevHash) || !entry.hash.equals(expected)) return entry.seq;
    prevHash = entry.hash;
  }
  return null;
}
