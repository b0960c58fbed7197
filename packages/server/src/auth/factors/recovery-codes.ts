import { randomInt } from 'node:crypto';
import { appendAuditEvent } from '../../audit/service.js';
import type { Executor } from '../../db/database.js';
import { lookupHash } from '../../documents/envelope.js';
import type { MasterKeys } from '../../documents/master-keys.js';
import type { RecipientSession } from '../sessions.js';
import { claimRecoveryCode, replaceRecoveryCodes } from './queries.js';

/**
 * Recovery codes: ten single-use codes that stand in for the TOTP at login
 * when the phone is lost. Shown once; stored as keyed hashes (HMAC under the lookup key, which
 * lives outside the database), so a copy of the table reveals nothing usable. A new set
 * replaces the old one entirely.
 */

export const recoveryCodeCount = 10;
/**
 * Crockford's base32 alphabet: no I, L, O or U, so nothing is misread when typed from paper.
 * Ten characters give 50 bits per code: beyond guessing within the login rate limits.
 */
const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
const codeLength = 10;

function newRecoveryCode(): string {
  let code = '';
  for (let i = 0; i < codeLength; i++) code += alphabet[randomInt(alphabet.length)];
  // Shown in two groups of five, which are easier to copy down.
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/**
 * The form a typed code is compared in: case, spaces and dashes do not matter, and the letters
 * Crockford's alphabet leaves out are read as the digits they look like.
 */
export function normaliseRecoveryCode(typed: string): string {
  return typed
    .toLowerCase()
    .replace(/[\s-]+/g, '')
    .replace(/[o]/g, '0')
    .replace(/[il]/g, '1');
}

export function recoveryCodeHash(code: string, keys: MasterKeys): Buffer {
  return lookupHash(normaliseRecoveryCode(code), 'recovery-code', keys);
}

/** A new set of codes; the old set stops working. Call inside a transaction. */
export async function generateRecoveryCodes(options: {
  db: Executor;
  keys: MasterKeys;
  recipient: RecipientSession;
  ip: string;
}): Promise<string[]> {
  const { db, keys, recipient } = options;
  const codes = Array.from({ length: recoveryCodeCount }, newRecoveryCode);
  await replaceRecoveryCodes(
    db,
    recipient.mailboxId,
    codes.map((code) => recoveryCodeHash(code, keys)),
  );
  await appendAuditEvent(db, options.keys, {
    actor: `mailbox:${recipient.mailboxId}`,
    action: 'recovery_codes.generated',
    subject: recipient.mailboxId,
    details: { count: codes.length, sessionId: recipient.sessionId, ip: options.ip },
  });
  return codes;
}

/**
 * Spend a recovery code at login. True when it was one of the mailbox's unused codes; it is
 * then used up. The audit entry is the caller's, in the login's transaction.
 */
export async function spendRecoveryCode(options: {
  db: Executor;
  keys: MasterKeys;
  mailboxId: string;
  code: string;
}): Promise<boolean> {
  const normalised = normaliseRecoveryCode(options.code);
  if (!/^[0-9a-z]{10}$/.test(normalised)) return false;
  return claimRecoveryCode(
    options.db,
    options.mailboxId,
    recoveryCodeHash(normalised, options.keys),
  );
}
