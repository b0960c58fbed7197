import { hkdfSync } from 'node:crypto';
import type { MasterKeys } from '../documents/master-keys.js';

/**
 * The audit log's keys, derived from the master keys (docs/decisions/0010-audit-chain.md):
 * never stored, never in the database. One key per master key version and purpose, so an
 * entry or checkpoint made under version N still verifies after rotation to N+1, and the
 * link key and the checkpoint key are independent of each other and of document wrapping.
 */
export type AuditKeyPurpose = 'chain' | 'checkpoint';

const labels: Record<AuditKeyPurpose, string> = {
  chain: 'kuvert audit chain v1',
  checkpoint: 'kuvert audit checkpoint v1',
};

const derived = new WeakMap<MasterKeys, Map<string, Buffer>>();

/** The key for `purpose` under master key `version`, or undefined when that version is not loaded. */
export function auditKey(
  keys: MasterKeys,
  purpose: AuditKeyPurpose,
  version: number,
): Buffer | undefined {
  let cache = derived.get(keys);
  if (!cache) {
    cache = new Map();
    derived.set(keys, cache);
  }
  const name = `${purpose}:${version}`;
  const known = cache.get(name);
  if (known) return known;
  const master = keys.keys.get(version);
  if (!master) return undefined;
  // HKDF (RFC 5869) with an empty salt: the master key is already uniformly random.
  const key = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), labels[purpose], 32));
  cache.set(name, key);
  return key;
}
