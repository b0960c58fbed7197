import { createHash, createHmac } from 'node:crypto';
import type { Db, Executor } from '../db/database.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { auditKey } from './keys.js';
import {
  appendIfHeadIs,
  insertChainedEntries,
  insertChainedEntry,
  listAuditEntriesAbout,
  lockChainHead,
  lockChainHeads,
} from './queries.js';

/**
 * The audit log (security invariant 8; docs/decisions/0010-audit-chain.md): append-only,
 * in `auditChainCount` independent chains, each entry linked to the one before it in its
 * chain by an HMAC whose key is derived from the master keys and so is not in the database.
 */

/** Fixed by the audit-chains migration, which made one head row per chain. */
export const auditChainCount = 64;

export type AuditAction =
  | 'login.succeeded'
  | 'login.failed'
  | 'login.locked_out'
  | 'session.ended'
  | 'session.revoked'
  | 'mailbox.anti_phishing_changed'
  | 'letter.opened'
  | 'sender.created'
  | 'sender.key_added'
  | 'sender.key_revoked'
  | 'mailbox.created'
  | 'vulnerability_report.status_changed'
  | 'hall_of_fame.added'
  | 'hall_of_fame.removed'
  | 'session.stepped_up'
  | 'registration.started'
  | 'contact.verification_sent'
  | 'contact.verified'

  // Login factors a recipient manages.
  | 'passphrase.set'
  | 'passphrase.changed'
  | 'passphrase.change_refused'
  | 'totp.enrolment_started'
  | 'totp.enabled'
  | 'recovery_codes.generated'
  | 'recovery_code.used'
  | 'passkey.registered'
  | 'passkey.registration_refused'
  | 'passkey.removed';

export interface AuditEvent {
  /** Who did it: `mailbox:<id>`, `admin:cli`, `system`, `anonymous`… */
  actor: string;
  action: AuditAction;
  /** What it was done to: a mailbox, letter, sender or key id. Never personal data. */
  subject?: string | null;
  /** Ids, categories and addresses only: never a passphrase, code, token or identity number. */
  details?: Record<string, unknown>;
}

/** An entry as stored, in the shape the link MAC covers. */
export interface ChainedEntry {
  chain: number;
  chainSeq: string;
  keyVersion: number;
  prevHash: Buffer;
  at: Date;
  actor: string;
  action: string;
  subject: string | null;
  details: unknown;
}

export const genesisHash: Buffer = Buffer.alloc(32);

/**
 * Append an event to the audit log. Call it inside the transaction that does the audited
 * thing, so both commit or neither; given the database instead, the entry commits on its own.
 * Only the event's chain is locked (until the transaction ends): events of one mailbox keep
 * one order, events of different chains do not wait for each other.
 *
 * Usually one statement: the entry is made on this process's last known head of the chain and
 * inserted only if that is still the head. If another transaction or server moved it, the
 * chain's head row is locked and read, and the entry made again on the real head.
 */
export async function appendAuditEvent(
  executor: Executor,
  keys: MasterKeys,
  event: AuditEvent,
): Promise<void> {
  const chain = chainOf(event);
  const known = knownHeads(keys);
  const guess = known.get(chain);
  if (guess) {
    const entry = chainedEntry(event, chain, guess, keys);
    if (await appendIfHeadIs(executor, entry, guess)) {
      known.set(chain, { seq: entry.chainSeq, hash: entry.hash });
      return;
    }
  }
  const appendOnLockedHead = async (tx: Executor) => {
    const head = await lockChainHead(tx, chain);
    const entry = chainedEntry(event, chain, head, keys);
    await insertChainedEntry(tx, entry);
    known.set(chain, { seq: entry.chainSeq, hash: entry.hash });
  };
  if (executor.isTransaction) await appendOnLockedHead(executor);
  else await executor.transaction().execute(appendOnLockedHead);
}

/**
 * Append an event that is the only thing its caller writes (a letter opened), and resolve once
 * it is committed. Callers arriving while one group commits form the next group: one
 * transaction of four round trips and one WAL flush for all of them, instead of each their own.
 * A group locks its chains in chain order; one that lost a deadlock is tried once more.
 */
export function appendStandaloneAuditEvent(
  db: Db,
  keys: MasterKeys,
  event: AuditEvent,
): Promise<void> {
  let group = groupCommits.get(db);
  if (!group) {
    group = new AuditGroupCommit(db);
    groupCommits.set(db, group);
  }
  return group.append(keys, event);
}

const groupCommits = new WeakMap<Db, AuditGroupCommit>();
const maxGroup = 64;
/**
 * Groups committing at once. One keeps groups as large as they can be (all that arrives during
 * a commit goes into the next), and on the benchmark machine it did better than four: what a
 * letter open costs is mostly round trips and wake-ups, fewer groups mean fewer of them.
 */
const maxGroupsInFlight = 1;

interface Waiting {
  keys: MasterKeys;
  event: AuditEvent;
  resolve(): void;
  reject(error: unknown): void;
}

/** A few transactions in flight per database; what arrives meanwhile goes into the next one. */
class AuditGroupCommit {
  private waiting: Waiting[] = [];
  private inFlight = 0;

  constructor(private readonly db: Db) {}

  append(keys: MasterKeys, event: AuditEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ keys, event, resolve, reject });
      if (this.inFlight < maxGroupsInFlight) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.inFlight++;
    while (this.waiting.length > 0) {
      // Chain order, stable within a chain: two groups never lock chains in opposite orders.
      const group = this.waiting
        .splice(0, maxGroup)
        .map((entry) => ({ entry, chain: chainOf(entry.event) }))
        .sort((a, b) => a.chain - b.chain)
        .map(({ entry }) => entry);
      try {
        await this.commit(group).catch((error: unknown) => {
          if (isDeadlock(error)) return this.commit(group);
          throw error;
        });
        for (const entry of group) entry.resolve();
      } catch (error) {
        for (const entry of group) entry.reject(error);
      }
    }
    this.inFlight--;
  }

  /** Four round trips however many entries: lock the chains, then one insert for all. */
  private commit(group: Waiting[]): Promise<void> {
    return this.db.transaction().execute(async (tx) => {
      const chains = [...new Set(group.map((entry) => chainOf(entry.event)))];
      const heads = new Map(
        (await lockChainHeads(tx, chains)).map((head) => [head.chain, head as ChainHead]),
      );
      const entries = group.map((waiting) => {
        const chain = chainOf(waiting.event);
        const entry = chainedEntry(waiting.event, chain, heads.get(chain)!, waiting.keys);
        heads.set(chain, { seq: entry.chainSeq, hash: entry.hash });
        return { entry, keys: waiting.keys };
      });
      await insertChainedEntries(
        tx,
        entries.map(({ entry }) => entry),
        chains.map((chain) => ({ chain, ...heads.get(chain)! })),
      );
      for (const { entry, keys } of entries) {
        knownHeads(keys).set(entry.chain, { seq: entry.chainSeq, hash: entry.hash });
      }
    });
  }
}

function isDeadlock(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '40P01';
}

interface ChainHead {
  seq: string;
  hash: Buffer;
}

/**
 * Each chain's head as this process last appended it, per set of master keys (one per running
 * Kuvert). Only a guess: a wrong one costs the locking round trips, never a wrong link.
 */
const lastHeads = new WeakMap<MasterKeys, Map<number, ChainHead>>();

function knownHeads(keys: MasterKeys): Map<number, ChainHead> {
  let heads = lastHeads.get(keys);
  if (!heads) {
    heads = new Map();
    lastHeads.set(keys, heads);
  }
  return heads;
}

/** The entry that follows `head` in `chain`, with its MAC. */
function chainedEntry(event: AuditEvent, chain: number, head: ChainHead, keys: MasterKeys) {
  const entry: ChainedEntry = {
    chain,
    chainSeq: (BigInt(head.seq) + 1n).toString(),
    keyVersion: keys.currentVersion,
    prevHash: head.hash,
    // Millisecond precision, so the time read back from PostgreSQL gives the same MAC.
    at: new Date(),
    actor: event.actor,
    action: event.action,
    subject: event.subject ?? null,
    details: event.details ?? {},
  };
  const hash = entryMac(entry, keys);
  if (!hash) throw new Error(`Master key version ${keys.currentVersion} is not loaded`);
  return { ...entry, details: entry.details as Record<string, unknown>, hash };
}

/**
 * The chain an event goes to: the mailbox it concerns (the actor `mailbox:<id>`, else the
 * subject), else the actor. A plain hash spreads them; it needs no secret, only stability.
 */
export function chainOf(event: Pick<AuditEvent, 'actor' | 'subject'>): number {
  const mailbox = /^mailbox:(.+)$/.exec(event.actor)?.[1];
  const about = mailbox ?? event.subject ?? event.actor;
  return createHash('sha256').update(about, 'utf8').digest().readUInt32BE(0) % auditChainCount;
}

/**
 * HMAC-SHA-256 over everything an entry says, its place in its chain and its predecessor's
 * MAC; undefined when the entry's key version is not loaded.
 */
export function entryMac(entry: ChainedEntry, keys: MasterKeys): Buffer | undefined {
  const key = auditKey(keys, 'chain', entry.keyVersion);
  if (!key) return undefined;
  const canonical = JSON.stringify([
    'kuvert-audit-entry-v1',
    entry.chain,
    entry.chainSeq,
    entry.keyVersion,
    entry.prevHash.toString('hex'),
    entry.at.toISOString(),
    entry.actor,
    entry.action,
    entry.subject,
    sortKeys(entry.details),
  ]);
  return createHmac('sha256', key).update(canonical).digest();
}

/** The unkeyed SHA-256 link of entries written before keyed chains (the legacy chain). */
export function legacyHash(
  prevHash: Buffer,
  entry: Pick<ChainedEntry, 'at' | 'actor' | 'action' | 'subject' | 'details'>,
): Buffer {
  const canonical = JSON.stringify([
    entry.at.toISOString(),
    entry.actor,
    entry.action,
    entry.subject,
    sortKeys(entry.details),
  ]);
  return createHash('sha256').update(prevHash).update(canonical).digest();
}

/**
 * A canonical form at every depth: PostgreSQL's jsonb reorders keys, so a MAC must not depend
 * on key order. Code-unit order, not locale order, so every machine agrees.
 */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, entry]) => [key, sortKeys(entry)]),
  );
}

/** The newest events about a subject (a mailbox), for its owner's login history. */
export async function listAuditEventsAbout(
  db: Db,
  options: { subject: string; actions: readonly AuditAction[]; limit: number },
): Promise<Array<{ at: Date; action: AuditAction; details: Record<string, unknown> }>> {
  const rows = await listAuditEntriesAbout(db, options);
  return rows.map((row) => ({
    at: row.at,
    action: row.action as AuditAction,
    details: row.details,
  }));
}
