import { randomBytes, randomUUID } from 'node:crypto';
import { type Algorithm, type Options as Argon2Options, hash, parseOptions } from '@node-rs/argon2';
import type { RawBuilder } from 'kysely';
import { Secret, TOTP } from 'otpauth';
import { appendAuditEvent } from '../audit/service.js';
import type { Db } from '../db/database.js';
import type { Language } from '../db/schema.js';
import { lookupHash, openValue, sealValue } from '../documents/envelope.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { KuvertError } from '../errors.js';
import { assertSafeText } from '../safe-text.js';
import { parseNationalId } from './national-id.js';
import {
  assessPassphrase,
  normalisePassphrase,
  passphraseMaxLength,
  passphraseMinLength,
} from './passphrase-policy.js';
import { insertMailbox, mailboxIdQuery } from './queries.js';

// ---------------------------------------------------------------------------------------
// Passwords

/**
 * argon2id with OWASP's minimum (Password Storage Cheat Sheet: m=19 MiB, t=2, p=1). One
 * lane, so a burst of logins cannot take every core. Raise the costs here; old hashes keep
 * verifying (the parameters are in the PHC string) and are upgraded at the next login.
 */
export const passwordHashOptions = {
  // Algorithm is a const enum, which isolatedModules cannot read: 2 is Argon2id.
  algorithm: 2 satisfies Algorithm.Argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
} as const satisfies Argon2Options;

export { normalisePassphrase, passphraseMaxLength, passphraseMinLength };

/**
 * Why a passphrase is refused, as a sentence for the person choosing it, or undefined when
 * it is fine. The policy lives in passphrase-policy.ts: length, a block list and a strength
 * estimate, and no rules about digits or symbols (promise 4).
 */
export function checkPassphrase(
  password: string,
  personal: { nationalId?: string | undefined; email?: string | null | undefined } = {},
): string | undefined {
  return assessPassphrase(password, personal).message;
}

export async function hashPassphrase(password: string): Promise<string> {
  return hash(normalisePassphrase(password), passwordHashOptions);
}

/** True when a stored hash was made with weaker or different parameters than today's. */
export function passwordHashNeedsUpgrade(passwordHash: string): boolean {
  try {
    const used = parseOptions(passwordHash);
    return (
      used.algorithm !== passwordHashOptions.algorithm ||
      used.memoryCost !== passwordHashOptions.memoryCost ||
      used.timeCost !== passwordHashOptions.timeCost ||
      used.parallelism !== passwordHashOptions.parallelism
    );
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// TOTP

/** RFC 6238 as every authenticator app implements it: SHA-1, 6 digits, 30-second steps. */
export const totpParameters = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
/** RFC 4226 §4 requires at least 128 bits; 160 bits is the recommended HMAC-SHA-1 key size. */
export const totpSecretBytes = 20;

const totpContext = (mailboxId: string) => `mailbox:${mailboxId}:totp`;

export function totpFor(secret: Buffer, label = 'mailbox', issuer = 'Kuvert'): TOTP {
  // A fresh copy: Secret keeps the whole ArrayBuffer, which for a Buffer can be a shared pool.
  const bytes = new Uint8Array(secret);
  return new TOTP({
    issuer,
    label,
    secret: new Secret({ buffer: bytes.buffer }),
    ...totpParameters,
  });
}

/** The TOTP secret of a mailbox, opened from its column; bound to the mailbox id as AAD. */
export function openTotpSecret(options: {
  mailboxId: string;
  sealed: Buffer;
  keys: MasterKeys;
}): Buffer {
  return openValue(options.sealed, totpContext(options.mailboxId), options.keys);
}

/** Seal a TOTP secret for its mailbox's column (active or pending: the same binding). */
export function sealTotpSecret(options: {
  mailboxId: string;
  secret: Buffer;
  keys: MasterKeys;
}): Buffer {
  return sealValue(options.secret, totpContext(options.mailboxId), options.keys);
}

// ---------------------------------------------------------------------------------------
// Mailboxes

export interface CreatedMailbox {
  mailboxId: string;
  /** Base32, for typing into an authenticator app by hand. Shown once, never stored in clear. */
  totpSecret: string;
  /** `otpauth://totp/…` for a QR code. */
  otpauthUri: string;
}

const languages: readonly Language[] = ['nb', 'nn', 'en'];
const nationalIdPurpose = 'national-id';
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

interface CreateMailboxOptions {
  db: Db;
  keys: MasterKeys;
  nationalId: string;
  email?: string | null | undefined;
  language: Language;
  acceptSynthetic: boolean;
  /** Who opens it, for the audit log (an admin, the demo seeding, a registration flow). */
  actor?: string;
  /**
   * An existing TOTP secret instead of a fresh one: the demo recipient opened again in
   * another database keeps the secret its authenticator app already holds.
   */
  totpSecret?: Buffer;
  /** The terms the person accepted at registration (eID); the time is the database's. */
  termsVersion?: string;
}

/**
 * Open a mailbox: the national identity number is validated, sealed and indexed by a keyed
 * hash (security invariant 3). With a passphrase (an admin's `kuvert mailbox create`, the demo)
 * it is checked for length and against the most common ones only (promise 4) and stored as
 * argon2id, and a fresh TOTP secret is sealed and returned once for enrolment. Without one (eID
 * registration) the mailbox has neither: `password_hash` and `totp_secret_sealed` stay null
 * until the person sets them. The audit entry commits with the row.
 */
export async function createMailbox(
  options: CreateMailboxOptions & { password: string },
): Promise<CreatedMailbox>;
export async function createMailbox(
  options: CreateMailboxOptions & { password?: undefined },
): Promise<{ mailboxId: string }>;
export async function createMailbox(
  options: CreateMailboxOptions & { password?: string | undefined },
): Promise<CreatedMailbox | { mailboxId: string }> {
  const { db, keys } = options;
  const parsed = parseNationalId(options.nationalId, { acceptSynthetic: options.acceptSynthetic });
  if (!parsed.ok) throw new KuvertError('invalid_national_id', parsed.reason);
  const nationalId = parsed.value;

  const email = normaliseEmail(options.email);
  if (!languages.includes(options.language)) {
    throw new KuvertError('validation_failed', `language must be one of ${languages.join(', ')}.`);
  }
  const withPassphrase = options.password !== undefined;
  if (options.password !== undefined) {
    const problem = checkPassphrase(options.password, { nationalId, email });
    if (problem) throw new KuvertError('validation_failed', problem);
  }

  const mailboxId = randomUUID();
  const totpSecret = withPassphrase
    ? (options.totpSecret ?? randomBytes(totpSecretBytes))
    : undefined;
  const passwordHash =
    options.password !== undefined ? await hashPassphrase(options.password) : null;
  try {
    await db.transaction().execute(async (tx) => {
      await insertMailbox(tx, {
        id: mailboxId,
        national_id_hash: lookupHash(nationalId, nationalIdPurpose, keys),
        national_id_sealed: sealValue(nationalId, `mailbox:${mailboxId}:national-id`, keys),
        email,
        language: options.language,
        password_hash: passwordHash,
        totp_secret_sealed: totpSecret ? sealValue(totpSecret, totpContext(mailboxId), keys) : null,
        ...(options.termsVersion !== undefined
          ? { terms_version: options.termsVersion, terms_accepted_at: new Date() }
          : {}),
      });
      await appendAuditEvent(tx, keys, {
        actor: options.actor ?? 'system',
        action: 'mailbox.created',
        subject: mailboxId,
        // Never the number or the address: the audit log is read by support staff.
        details: {
          language: options.language,
          hasEmail: email !== null,
          nationalIdKind: parsed.kind,
          ...(options.termsVersion !== undefined ? { termsVersion: options.termsVersion } : {}),
        },
      });
    });
  } catch (error) {
    throw duplicateAsValidation(error) ?? error;
  }
  if (!totpSecret) return { mailboxId };
  const totp = totpFor(totpSecret, email ?? 'mailbox');
  return { mailboxId, totpSecret: totp.secret.base32, otpauthUri: totp.toString() };
}

/**
 * The recipient's mailbox id as a SQL query, for letter ingest's single statement. The
 * national identity number must already be validated (parseNationalId).
 */
export function mailboxIdQueryFor(
  recipient: { keys: MasterKeys; nationalId: string } | { email: string },
): RawBuilder<{ id: string }> {
  return 'nationalId' in recipient
    ? mailboxIdQuery({
        nationalIdHash: lookupHash(recipient.nationalId, nationalIdPurpose, recipient.keys),
      })
    : mailboxIdQuery({ email: recipient.email });
}

/** The keyed hash a mailbox is found by; also what login looks credentials up with. */
export function nationalIdLookupHash(nationalId: string, keys: MasterKeys): Buffer {
  return lookupHash(nationalId, nationalIdPurpose, keys);
}

export function normaliseEmail(input: string | null | undefined): string | null {
  if (input === undefined || input === null) return null;
  const email = input.trim().toLowerCase();
  if (email === '') return null;
  assertSafeText('email', email);
  if (email.length > 254 || !emailPattern.test(email)) {
    throw new KuvertError(
      'validation_failed',
      'email must be an email address such as name@example.no.',
    );
  }
  return email;
}

/** A unique violation from PostgreSQL (23505) names its index; turn it into a clear 422. */
function duplicateAsValidation(error: unknown): KuvertError | undefined {
  const { code, constraint } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  if (code !== '23505') return undefined;
  if (constraint === 'mailboxes_national_id_hash_key') {
    return new KuvertError(
      'validation_failed',
      'A mailbox with this national identity number already exists.',
    );
  }
  if (constraint === 'mailboxes_email_key') {
    return new KuvertError(
      'validation_failed',
      'A mailbox with this email address already exists.',
    );
  }
  return undefined;
}
