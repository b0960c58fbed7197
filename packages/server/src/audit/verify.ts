import type { Db, Executor } from '../db/database.js';
import type { BlobStore } from '../documents/blob-store.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { type Checkpoint, findNewestCheckpointKey, readCheckpoint } from './checkpoints.js';
import { listChainHeads, listChainNumbers, listChainPage, listLegacyPage } from './queries.js';
import { entryMac, genesisHash, legacyHash } from './service.js';

/**
 * What is wrong at a place in the log:
 * - `edited`: an entry's content, MAC or link does not match (changed, forged or reordered);
 * - `gap`: a sequence number is missing (an entry deleted from the middle);
 * - `truncated`: the chain ends before, or differs at, what the last checkpoint recorded;
 * - `checkpoint`: the newest checkpoint is unreadable or its signature does not match;
 * - `unknown-key`: an entry names a master key version that is not loaded.
 */
export type AuditProblemKind = 'edited' | 'gap' | 'truncated' | 'checkpoint' | 'unknown-key';

export interface AuditProblem {
  /** 0…63, or `legacy` for entries from before keyed chains. */
  chain: number | 'legacy' | null;
  /** The sequence number in the chain (`seq` for legacy entries), null for a checkpoint. */
  seq: string | null;
  kind: AuditProblemKind;
  message: string;
}

export interface AuditVerification {
  entries: number;
  /** Chains with at least one entry, the legacy chain included. */
  chains: number;
  /** The checkpoint the ends were compared with; undefined when there is none (or it is bad). */
  checkpoint: { key: string; at: string } | undefined;
  /** The first problem of each chain that has one; empty when the log is intact. */
  problems: AuditProblem[];
}

const pageSize = 1000;

/**
 * Walk every chain and compare its end with the newest checkpoint. The walk runs in one
 * read-only snapshot taken after the checkpoint was read, so appends while it runs are not
 * mistaken for damage and the checkpoint is never newer than what is walked.
 */
export async function verifyAuditLog(options: {
  db: Db;
  keys: MasterKeys;
  blobs: BlobStore;
}): Promise<AuditVerification> {
  const { db, keys, blobs } = options;
  const problems: AuditProblem[] = [];
  const newestKey = await findNewestCheckpointKey(blobs);
  const reading = newestKey ? await readCheckpoint(blobs, newestKey, keys) : undefined;
  if (reading && !reading.ok) {
    problems.push({
      chain: null,
      seq: null,
      kind: 'checkpoint',
      message: `${reading.key}: ${reading.problem}`,
    });
  }
  const checkpoint = reading?.ok ? reading.checkpoint : undefined;

  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (tx) => {
      let entries = 0;
      let chains = 0;
      const numbers = new Set([...(await listChainNumbers(tx))]);
      for (const head of checkpoint?.chains ?? []) numbers.add(head.chain);
      const heads = new Map((await listChainHeads(tx)).map((head) => [head.chain, head]));
      for (const chain of [...numbers].sort((a, b) => a - b)) {
        const recorded = checkpoint?.chains.find((head) => head.chain === chain);
        const walked = await walkChain(tx, chain, keys, recorded && BigInt(recorded.seq));
        entries += Number(walked.count);
        if (walked.count > 0n) chains++;
        const problem =
          walked.problem ??
          compareWithCheckpoint(chain, walked, checkpoint) ??
          compareWithHead(chain, walked, heads.get(chain));
        if (problem) problems.push(problem);
      }
      const legacy = await walkLegacy(tx);
      entries += Number(legacy.count);
      if (legacy.count > 0n) chains++;
      const legacyProblem = legacy.problem ?? compareLegacyWithCheckpoint(legacy, checkpoint);
      if (legacyProblem) problems.push(legacyProblem);
      return {
        entries,
        chains,
        checkpoint: reading?.ok ? { key: reading.key, at: reading.checkpoint.at } : undefined,
        problems,
      };
    });
}

interface WalkedChain {
  /** Entries walked before the first problem (all of them when there is none). */
  count: bigint;
  lastHash: Buffer;
  /** The MAC of the entry the checkpoint recorded, if the walk reached it. */
  watchedHash: Buffer | undefined;
  problem: AuditProblem | undefined;
}

/**
 * Follow one keyed chain from its first entry; stops at the first broken link. `watch` is the
 * sequence number the checkpoint recorded, whose MAC is kept for the comparison.
 */
async function walkChain(
  db: Executor,
  chain: number,
  keys: MasterKeys,
  watch: bigint | undefined,
): Promise<WalkedChain> {
  let expectedSeq = 1n;
  let prevHash = genesisHash;
  let watchedHash: Buffer | undefined;
  const result = (problem?: AuditProblem): WalkedChain => ({
    count: expectedSeq - 1n,
    lastHash: prevHash,
    watchedHash,
    problem,
  });
  const at = (seq: string, kind: AuditProblemKind, message: string) =>
    result({ chain, seq, kind, message });
  for (;;) {
    const page = await listChainPage(db, chain, String(expectedSeq - 1n), pageSize);
    for (const row of page) {
      const seq = BigInt(row.chain_seq!);
      if (seq !== expectedSeq) {
        return at(
          String(expectedSeq),
          'gap',
          `entry ${expectedSeq} is missing (the next is ${seq})`,
        );
      }
      const expected = entryMac(
        {
          chain,
          chainSeq: row.chain_seq!,
          keyVersion: row.key_version!,
          prevHash: row.prev_hash,
          at: row.at,
          actor: row.actor,
          action: row.action,
          subject: row.subject,
          details: row.details,
        },
        keys,
      );
      if (!expected) {
        return at(
          row.chain_seq!,
          'unknown-key',
          `signed with master key version ${row.key_version}, which is not loaded`,
        );
      }
      if (!row.prev_hash.equals(prevHash)) {
        return at(row.chain_seq!, 'edited', 'its link does not name the entry before it');
      }
      if (!row.hash.equals(expected)) {
        return at(
          row.chain_seq!,
          'edited',
          'its content does not match its MAC (changed or forged)',
        );
      }
      if (seq === watch) watchedHash = row.hash;
      prevHash = row.hash;
      expectedSeq++;
    }
    if (page.length < pageSize) return result();
  }
}

function compareWithCheckpoint(
  chain: number,
  walked: WalkedChain,
  checkpoint: Checkpoint | undefined,
): AuditProblem | undefined {
  const recorded = checkpoint?.chains.find((head) => head.chain === chain);
  if (!recorded) return undefined;
  const seq = BigInt(recorded.seq);
  const problem = (message: string): AuditProblem => ({
    chain,
    seq: recorded.seq,
    kind: 'truncated',
    message,
  });
  if (walked.count < seq) {
    return problem(
      `the chain ends at entry ${walked.count}, but the checkpoint of ${checkpoint!.at} recorded ${seq} entries`,
    );
  }
  if (walked.watchedHash?.toString('hex') !== recorded.hash) {
    return problem(
      `entry ${seq} differs from the one the checkpoint of ${checkpoint!.at} recorded (cut off and written again)`,
    );
  }
  return undefined;
}

/** The heads table is only the lock, but a head ahead of the chain means entries were cut. */
function compareWithHead(
  chain: number,
  walked: WalkedChain,
  head: { seq: string; hash: Buffer } | undefined,
): AuditProblem | undefined {
  if (!head || (BigInt(head.seq) === walked.count && head.hash.equals(walked.lastHash)))
    return undefined;
  if (BigInt(head.seq) > walked.count) {
    return {
      chain,
      seq: head.seq,
      kind: 'truncated',
      message: `the chain ends at entry ${walked.count}, but its head row names entry ${head.seq}`,
    };
  }
  return {
    chain,
    seq: head.seq,
    kind: 'edited',
    message: `its head row (entry ${head.seq}) does not match the chain's last entry ${walked.count}`,
  };
}

interface WalkedLegacy {
  count: bigint;
  lastSeq: string | null;
  lastHash: Buffer;
  problem: AuditProblem | undefined;
}

/** Follow the entries from before keyed chains, linked by unkeyed SHA-256 in `seq` order. */
async function walkLegacy(db: Executor): Promise<WalkedLegacy> {
  let count = 0n;
  let lastSeq: string | null = null;
  let prevHash = genesisHash;
  for (;;) {
    const page = await listLegacyPage(db, lastSeq ?? '0', pageSize);
    for (const row of page) {
      const problem = (message: string): WalkedLegacy => ({
        count,
        lastSeq,
        lastHash: prevHash,
        problem: { chain: 'legacy', seq: row.seq, kind: 'edited', message },
      });
      if (!row.prev_hash.equals(prevHash))
        return problem('its link does not name the entry before it (edited or deleted before it)');
      if (!row.hash.equals(legacyHash(prevHash, row)))
        return problem('its content does not match its hash');
      count++;
      lastSeq = row.seq;
      prevHash = row.hash;
    }
    if (page.length < pageSize) return { count, lastSeq, lastHash: prevHash, problem: undefined };
  }
}

/**
 * The legacy chain is frozen, so after a checkpoint it must end exactly where the checkpoint
 * says: this is what protects its unkeyed links from being recomputed by a forger.
 */
function compareLegacyWithCheckpoint(
  walked: WalkedLegacy,
  checkpoint: Checkpoint | undefined,
): AuditProblem | undefined {
  if (!checkpoint) return undefined;
  const recorded = checkpoint.legacy;
  const same =
    recorded === null
      ? walked.count === 0n
      : BigInt(recorded.count) === walked.count &&
        recorded.seq === walked.lastSeq &&
        recorded.hash === walked.lastHash.toString('hex');
  if (same) return undefined;
  return {
    chain: 'legacy',
    seq: walked.lastSeq,
    kind: walked.count < BigInt(recorded?.count ?? 0) ? 'truncated' : 'edited',
    message: `the pre-key entries end at ${walked.lastSeq ?? 'nothing'} (${walked.count} entries), but the checkpoint of ${checkpoint.at} recorded ${recorded ? `${recorded.seq} (${recorded.count} entries)` : 'none'}`,
  };
}
