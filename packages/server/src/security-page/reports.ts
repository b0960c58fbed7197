import { randomUUID } from 'node:crypto';
import { decrypt, type Message, readMessage } from 'openpgp';
import { appendAuditEvent } from '../audit/service.js';
import type { Db } from '../db/database.js';
import type { VulnerabilityReportStatus } from '../db/schema.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { KuvertError } from '../errors.js';
import {
  findVulnerabilityReport,
  insertVulnerabilityReport,
  listVulnerabilityReports,
  updateVulnerabilityReportStatus,
} from './queries.js';
import type { ServiceKey } from './service-key.js';

export const reportStatuses = [
  'new',
  'triaged',
  'fixed',
  'rejected',
] as const satisfies readonly VulnerabilityReportStatus[];

/** An armored report up to this size: a long report with logs, never a file dump. */
export const maxReportCiphertextBytes = 192 * 1024;

// RFC 9580 §5: the packet tags an encrypted message may carry at its top level.
const publicKeyEncryptedSessionKeyTag = 1;
const encryptedDataTags = new Set([18 /* SEIPD */, 20 /* AEAD-encrypted data (OpenPGP.js v5) */]);

const notEncryptedToUs = () =>
  new KuvertError(
    'validation_failed',
    'ciphertext must be an armored OpenPGP message encrypted to the key at /security/pgp-key.asc.',
  );

/**
 * RFC 9580 §6.2 ASCII armor of a message: the header line, optional armor headers, an empty
 * line, base64 lines, an optional CRC24 checksum line, the tail line, and nothing around them.
 */
const armoredMessagePattern =
  /^-----BEGIN PGP MESSAGE-----\r?\n(?:[A-Za-z-]+: [^\r\n]*\r?\n)*\r?\n((?:[A-Za-z0-9+/=]+\r?\n)+)(=[A-Za-z0-9+/]{4}\r?\n)?-----END PGP MESSAGE-----\r?\n?$/;

/**
 * The server never decrypts what it receives: it checks the shape only. An armored message
 * (RFC 9580 §6.2) whose packets are session keys encrypted to public keys, one of them ours,
 * followed by one encrypted data packet. A plaintext (literal data), a signed-only message or
 * one encrypted to someone else is refused, so nothing readable is ever stored by mistake.
 * Returns the armor to store: the same base64, without the sender's armor headers (a
 * `Comment:` header is cleartext).
 */
export async function checkEncryptedReport(
  armored: string,
  serviceKey: ServiceKey,
): Promise<string> {
  const armor = armoredMessagePattern.exec(armored);
  if (!armor) throw notEncryptedToUs();
  let message: Message<string>;
  try {
    message = await readMessage({ armoredMessage: armored });
  } catch {
    throw notEncryptedToUs();
  }
  const tags = [...message.packets].map(
    (packet) => (packet.constructor as unknown as { tag: number }).tag,
  );
  const sessionKeys = tags.slice(0, -1);
  const last = tags.at(-1);
  const shaped =
    last !== undefined &&
    encryptedDataTags.has(last) &&
    sessionKeys.length > 0 &&
    sessionKeys.every((tag) => tag === publicKeyEncryptedSessionKeyTag);
  const toUs = message
    .getEncryptionKeyIDs()
    .some((keyId) => serviceKey.encryptionKeyIds.has(keyId.toHex()));
  if (!shaped || !toUs) throw notEncryptedToUs();
  const [, base64 = '', checksum = ''] = armor;
  return `-----BEGIN PGP MESSAGE-----\n\n${base64}${checksum}-----END PGP MESSAGE-----\n`.replace(
    /\r\n/g,
    '\n',
  );
}

/** Store a report's ciphertext and return its receipt. */
export async function receiveVulnerabilityReport(options: {
  db: Db;
  serviceKey: ServiceKey;
  ciphertext: string;
}): Promise<{ id: string; receivedAt: Date }> {
  const ciphertext = await checkEncryptedReport(options.ciphertext, options.serviceKey);
  const stored = await insertVulnerabilityReport(options.db, { id: randomUUID(), ciphertext });
  return { id: stored.id, receivedAt: stored.received_at };
}

export async function listReports(options: { db: Db }) {
  return listVulnerabilityReports(options.db);
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function requireReportId(id: string): void {
  if (!uuidPattern.test(id)) throw new KuvertError('not_found', `No report ${id}.`);
}

/** A report with its text, decrypted with the service's private key (for the CLI). */
export async function readReport(options: { db: Db; serviceKey: ServiceKey; id: string }) {
  requireReportId(options.id);
  const row = await findVulnerabilityReport(options.db, options.id);
  if (!row) throw new KuvertError('not_found', `No report ${options.id}.`);
  const message = await readMessage({ armoredMessage: row.ciphertext });
  const { data } = await decrypt({
    message,
    decryptionKeys: options.serviceKey.privateKey,
    format: 'utf8',
  });
  return { id: row.id, receivedAt: row.received_at, status: row.status, text: data };
}

export async function setReportStatus(options: {
  db: Db;
  keys: MasterKeys;
  id: string;
  status: VulnerabilityReportStatus;
  actor: string;
}): Promise<{ from: VulnerabilityReportStatus; to: VulnerabilityReportStatus }> {
  requireReportId(options.id);
  if (!(reportStatuses as readonly string[]).includes(options.status)) {
    throw new KuvertError(
      'validation_failed',
      `status must be one of ${reportStatuses.join(', ')}.`,
    );
  }
  return options.db.transaction().execute(async (tx) => {
    const from = await updateVulnerabilityReportStatus(tx, options.id, options.status);
    if (!from) throw new KuvertError('not_found', `No report ${options.id}.`);
    await appendAuditEvent(tx, options.keys, {
      actor: options.actor,
      action: 'vulnerability_report.status_changed',
      subject: options.id,
      details: { from, to: options.status },
    });
    return { from, to: options.status };
  });
}
