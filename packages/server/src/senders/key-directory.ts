import type { JsonWebKey } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import type { SenderKeyRecord } from './http-signatures.js';
import { findActiveSenderKey, listenForSenderKeyRevocations } from './queries.js';

/**
 * The active sender keys, as the signature check asks for them. A signed request would
 * otherwise cost a query and a key import each, so keys are cached; revocation (the only
 * change a key ever sees) must still take effect on every server at once. So:
 *
 * - the cache is used only while a dedicated connection LISTENs for revocations, which the
 *   revoking transaction NOTIFYs on commit (`revokeKey`); a notification empties the cache;
 * - when that connection drops, the cache is emptied and not used until it listens again
 *   (notifications sent meanwhile are lost), with lookups going to the database;
 * - a lookup that was under way when a revocation arrived does not store its (stale) answer.
 *
 * Between the commit and the notification's arrival there is a window of milliseconds; the
 * statement that records a request's nonce checks that the key is still active, which closes
 * it (see `insertSignatureNonce` and `insertLetterOnce`).
 */
export interface SenderKeyDirectory {
  find(keyId: string): Promise<SenderKeyRecord | undefined>;
  /** Whether the key is held in this server's cache (for tests and diagnostics). */
  isCached(keyId: string): boolean;
  /** Whether revocations are being heard, i.e. whether the cache is in use. */
  isListening(): boolean;
  close(): Promise<void>;
}

/** A safety net only: revocations empty the cache at once. */
const cacheSeconds = 300;
const cacheLimit = 10_000;
const reconnectDelaysMs = [100, 500, 1_000, 2_000, 5_000];

export function createSenderKeyDirectory(options: {
  db: Db;
  /** A new connection for LISTEN, not from the pool. */
  connectListener: () => pg.Client;
  log: Logger;
}): SenderKeyDirectory {
  const cache = new Map<string, { record: SenderKeyRecord; until: number }>();
  /** Bumped whenever the cache is emptied: a lookup started before must not store its answer. */
  let generation = 0;
  let listener: pg.Client | undefined;
  let listening = false;
  let starting: Promise<void> | undefined;
  let closed = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let failures = 0;

  const forgetAll = () => {
    cache.clear();
    generation += 1;
  };

  const connect = async () => {
    const client = options.connectListener();
    listener = client;
    client.on('error', (error) => dropped(client, error));
    client.on('end', () => dropped(client, undefined));
    try {
      await client.connect();
      await listenForSenderKeyRevocations(client, (keyId) => {
        forgetAll();
        options.log.info({ keyId }, 'sender key revoked: key cache emptied');
      });
    } catch (error) {
      dropped(client, error as Error);
      return;
    }
    if (closed || listener !== client) return;
    // Revocations made while nobody listened were not heard: start from an empty cache.
    forgetAll();
    listening = true;
    failures = 0;
  };

  const dropped = (client: pg.Client, error: Error | undefined) => {
    if (listener !== client) return;
    listener = undefined;
    listening = false;
    forgetAll();
    client.removeAllListeners('end');
    client.end().catch(() => {});
    if (closed) return;
    const delay = reconnectDelaysMs[Math.min(failures, reconnectDelaysMs.length - 1)]!;
    failures += 1;
    options.log.warn(
      { err: error, retryInMs: delay },
      'sender key revocation listener lost: keys are looked up in the database until it is back',
    );
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      starting = connect();
    }, delay);
    reconnectTimer.unref();
  };

  const lookUp = async (keyId: string): Promise<SenderKeyRecord | undefined> => {
    const row = await findActiveSenderKey(options.db, keyId);
    if (!row) return undefined;
    return {
      keyId: row.key_id,
      senderId: row.sender_id,
      algorithm: row.algorithm,
      publicKey: createPublicKey({ key: row.public_jwk as JsonWebKey, format: 'jwk' }),
    };
  };

  return {
    async find(keyId) {
      // Started on first use: processes that never verify a signature hold no extra connection.
      if (!listener && !reconnectTimer && !closed) starting = connect();
      const cached = cache.get(keyId);
      if (cached && cached.until > Date.now() && listening) return cached.record;
      const startedIn = generation;
      const record = await lookUp(keyId);
      if (!record) {
        cache.delete(keyId);
        return undefined;
      }
      if (listening && generation === startedIn) {
        if (cache.size >= cacheLimit) cache.clear();
        cache.set(keyId, { record, until: Date.now() + cacheSeconds * 1000 });
      }
      return record;
    },
    isCached: (keyId) => cache.has(keyId),
    isListening: () => listening,
    async close() {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await starting?.catch(() => {});
      const client = listener;
      listener = undefined;
      listening = false;
      forgetAll();
      if (client) {
        client.removeAllListeners('end');
        await client.end().catch(() => {});
      }
    },
  };
}
