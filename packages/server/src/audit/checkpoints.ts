import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { BlobStore } from '../documents/blob-store.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { auditKey } from './keys.js';
import { findChainEnds, findLegacyEnd } from './queries.js';
import { auditChainCount, sortKeys } from './service.js';

/**
 * Signed checkpoints: each chain's head (sequence number, MAC, time), signed with a key of
 * its own and stored in the blob store, apart from the chain. A chain found shorter than its
 * last checkpoint, or different at the checkpoint's entry, was cut off.
 */
export const checkpointPrefix = 'audit-checkpoints';

export interface ChainHead {
  chain: number;
  /** The head's sequence number in its chain, which is also the chain's entry count. */
  seq: string;
  hash: string;
  at: string;
}

/** The pre-key entries (unkeyed SHA-256, in `seq` order): frozen since the keyed chains began. */
export interface LegacyHead {
  count: string;
  seq: string;
  hash: string;
}

export interface CheckpointBody {
  format: 'kuvert-audit-checkpoint-v1';
  at: string;
  keyVersion: number;
  /** Entries over all chains, the legacy one included. */
  count: string;
  chains: ChainHead[];
  legacy: LegacyHead | null;
}

export interface Checkpoint extends CheckpointBody {
  signature: string;
}

/** Read every chain's head and sign it. */
export async function takeCheckpoint(db: Db, keys: MasterKeys): Promise<Checkpoint> {
  // One snapshot, so the chains and the legacy end are read as of the same moment.
  const { ends, legacyEnd } = await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (tx) => ({
      ends: await findChainEnds(tx, auditChainCount),
      legacyEnd: await findLegacyEnd(tx),
    }));
  const chains = ends.map((end) => ({
    chain: end.chain,
    seq: end.chain_seq,
    hash: end.hash.toString('hex'),
    at: end.at.toISOString(),
  }));
  const legacy =
    legacyEnd.seq !== null && legacyEnd.hash !== null
      ? { count: legacyEnd.count, seq: legacyEnd.seq, hash: legacyEnd.hash.toString('hex') }
      : null;
  const count = chains.reduce((sum, head) => sum + BigInt(head.seq), BigInt(legacyEnd.count));
  const body: CheckpointBody = {
    format: 'kuvert-audit-checkpoint-v1',
    at: new Date().toISOString(),
    keyVersion: keys.currentVersion,
    count: count.toString(),
    chains,
    legacy,
  };
  return { ...body, signature: signCheckpoint(body, keys)!.toString('hex') };
}

/**
 * Store a checkpoint. Keys sort by time (`<ms since epoch, 15 digits>-<random>`), so the
 * newest is the greatest; the random part keeps two servers' checkpoints apart.
 */
export async function storeCheckpoint(blobs: BlobStore, checkpoint: Checkpoint): Promise<string> {
  const millis = String(Date.parse(checkpoint.at)).padStart(15, '0');
  const key = `${checkpointPrefix}/${millis}-${randomBytes(4).toString('hex')}`;
  await blobs.put(key, Buffer.from(`${JSON.stringify(checkpoint, null, 2)}\n`));
  return key;
}

export async function writeCheckpoint(options: {
  db: Db;
  keys: MasterKeys;
  blobs: BlobStore;
}): Promise<{ key: string; checkpoint: Checkpoint }> {
  const checkpoint = await takeCheckpoint(options.db, options.keys);
  return { key: await storeCheckpoint(options.blobs, checkpoint), checkpoint };
}

/** The newest checkpoint's key, or undefined when none was ever written. */
export async function findNewestCheckpointKey(blobs: BlobStore): Promise<string | undefined> {
  let newest: string | undefined;
  // Every key, however new: "older than" a time far ahead.
  for await (const key of blobs.listOlderThan(checkpointPrefix, new Date(8.64e15))) {
    if (newest === undefined || key > newest) newest = key;
  }
  return newest;
}

export type CheckpointReading =
  | { ok: true; key: string; checkpoint: Checkpoint }
  | { ok: false; key: string; problem: string };

/** Read and check a stored checkpoint: its shape, and its signature under its key version. */
export async function readCheckpoint(
  blobs: BlobStore,
  key: string,
  keys: MasterKeys,
): Promise<CheckpointReading> {
  let parsed: unknown;
  try {
    parsed = JSON.parse((await blobs.get(key)).toString('utf8'));
  } catch {
    return { ok: false, key, problem: 'the checkpoint is not readable JSON' };
  }
  if (!isCheckpoint(parsed)) return { ok: false, key, problem: 'the checkpoint is malformed' };
  const { signature, ...body } = parsed;
  const expected = signCheckpoint(body, keys);
  if (!expected) {
    return {
      ok: false,
      key,
      problem: `the checkpoint is signed with master key version ${body.keyVersion}, which is not loaded`,
    };
  }
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, key, problem: 'the checkpoint signature does not match its content' };
  }
  return { ok: true, key, checkpoint: parsed };
}

function signCheckpoint(body: CheckpointBody, keys: MasterKeys): Buffer | undefined {
  const key = auditKey(keys, 'checkpoint', body.keyVersion);
  if (!key) return undefined;
  return createHmac('sha256', key)
    .update(JSON.stringify(sortKeys(body)))
    .digest();
}

function isCheckpoint(value: unknown): value is Checkpoint {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Checkpoint>;
  return (
    candidate.format === 'kuvert-audit-checkpoint-v1' &&
    typeof candidate.at === 'string' &&
    Number.isSafeInteger(candidate.keyVersion) &&
    typeof candidate.count === 'string' &&
    typeof candidate.signature === 'string' &&
    /^[0-9a-f]{64}$/.test(candidate.signature) &&
    Array.isArray(candidate.chains) &&
    candidate.chains.every(isChainHead) &&
    (candidate.legacy === null || isLegacyHead(candidate.legacy))
  );
}

function isChainHead(value: unknown): value is ChainHead {
  const head = value as Partial<ChainHead> | null;
  return (
    typeof head === 'object' &&
    head !== null &&
    Number.isSafeInteger(head.chain) &&
    typeof head.seq === 'string' &&
    /^[0-9]+$/.test(head.seq) &&
    typeof head.hash === 'string' &&
    typeof head.at === 'string'
  );
}

function isLegacyHead(value: unknown): value is LegacyHead {
  const head = value as Partial<LegacyHead> | null;
  return (
    typeof head === 'object' &&
    head !== null &&
    typeof head.count === 'string' &&
    typeof head.seq === 'string' &&
    /^[0-9]+$/.test(head.seq) &&
    typeof head.hash === 'string'
  );
}
