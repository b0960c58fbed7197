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
  | 'mailbox.created';

export interface AuditEvent {
  actor: string;
  action: AuditAction;
  subject?: string | null;
  details?: Record<string, unknown>;
}

/** The hash that links an entry to the one before it. */
function chainHash(prevHash: Buffer, event: Required<AuditEvent>): Buffer {
  const canonical = JSON.stringify([
    event.actor,
    event.action,
    event.subject,
    sortKeys(event.details),
  ]);
  return createHash('sha256').update(prevHash).update(canonical).digest();
}

function sortKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Append a security-relevant event to the hash-chained audit log (security invariant 8).
 * Call it inside the transaction that does the audited thing, so both commit or neither.
 */
export async function appendAuditEvent(tx: Executor, event: AuditEvent): Promise<void> {
  const complete = { subject: null, details: {}, ...event } as Required<AuditEvent>;
  await lockAuditChain(tx);
  const prevHash = (await findLastAuditHash(tx)) ?? genesis;
  await insertAuditEntry(tx, {
    ...complete,
    prevHash,
    hash: chainHash(prevHash, complete),
  });
}

/** Walk the chain; returns the sequence number of the first broken link, or null if intact. */
export async function verifyAuditChain(db: Db): Promise<string | null> {
  let prevHash: Buffer = genesis;
  for (const entry of await listAuditEntries(db)) {
    const expected = chainHash(prevHash, {
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
