import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { appendAuditEvent } from '../audit/service.js';
import type { Db } from '../db/database.js';
import type { Language } from '../db/schema.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { KuvertError } from '../errors.js';
import { parseNationalId } from '../mailboxes/national-id.js';
import {
  claimTotpStep,
  findLoginCredentials,
  findMailboxById,
  updatePasswordHash,
} from '../mailboxes/queries.js';
import {
  hashPassphrase,
  nationalIdLookupHash,
  normalisePassphrase,
  openTotpSecret,
  passwordHashNeedsUpgrade,
  passwordHashOptions,
  totpFor,
} from '../mailboxes/service.js';
import type { AuthLevel } from './levels.js';
import { loginBuckets, reserveLoginAttempt, settleLoginAttempt } from './rate-limit.js';
import { endSession, type RecipientSession, startSession } from './sessions.js';

export const passwordTotpLevel = 'two-factor' satisfies AuthLevel;

/** Why a login failed, for the audit log only: the client always gets the same answer. */
export type LoginFailureReason =
  | 'unknown_account'
  | 'wrong_password'
  | 'wrong_totp'
  | 'totp_replayed';

export interface LoggedIn {
  token: string;
  session: RecipientSession;
  mailbox: { id: string; language: Language };
}

/**
 * A hash to verify against when the number has no mailbox, so that an unknown number costs
 * the same argon2 work as a wrong passphrase and the response time does not tell them apart.
 * Same parameters as real hashes; made once per process.
 */
let dummyPasswordHash: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummyPasswordHash ??= hash(randomBytes(32).toString('base64'), passwordHashOptions);
  return dummyPasswordHash;
}
const dummyTotpSecret = randomBytes(20);

/**
 * Log in with national identity number, passphrase and TOTP code (promise 1).
 *
 * 1. Rate limits first, before any secret is checked.
 * 2. One check of constant shape: argon2 always runs (against a dummy hash for unknown
 *    numbers) and the TOTP code is always computed, so neither the answer nor its timing
 *    says which part was wrong.
 * 3. The accepted TOTP step is claimed in the database, so a code works once (RFC 6238 §5.2).
 * 4. Any session the browser presented is revoked before the new one is made (no fixation).
 */
export async function logIn(options: {
  db: Db;
  keys: MasterKeys;
  acceptSynthetic: boolean;
  nationalId: string;
  password: string;
  totp: string;
  ip: string;
  userAgent: string | undefined;
  presentedToken: string | undefined;
  /** Milliseconds since the epoch; tests move it to make codes for other time steps. */
  now?: number;
}): Promise<LoggedIn> {
  const { db, keys, ip } = options;
  const buckets = loginBuckets({ nationalId: options.nationalId, ip, keys });
  const reservation = await reserveLoginAttempt({ db, buckets });

  const parsed = parseNationalId(options.nationalId, { acceptSynthetic: options.acceptSynthetic });
  const found = parsed.ok
    ? await findLoginCredentials(db, nationalIdLookupHash(parsed.value, keys))
    : undefined;
  // A mailbox registered with eID has no passphrase or TOTP until the person sets them: for
  // this login it is as unknown as a number without a mailbox (same work, same answer).
  const credentials =
    found && found.password_hash !== null && found.totp_secret_sealed !== null
      ? {
          ...found,
          password_hash: found.password_hash,
          totp_secret_sealed: found.totp_secret_sealed,
        }
      : undefined;

  const passwordMatches = await verify(
    credentials?.password_hash ?? (await dummyHash()),
    normalisePassphrase(options.password),
  );
  const secret = credentials
    ? openTotpSecret({ mailboxId: credentials.id, sealed: credentials.totp_secret_sealed, keys })
    : dummyTotpSecret;
  const totp = totpFor(secret);
  const now = options.now ?? Date.now();
  const typed = options.totp.replace(/\s+/g, '');
  // Never digits, so it cannot match; keeps the HMAC work the same for malformed input.
  const token = /^[0-9]{6}$/.test(typed) ? typed : '------';
  const delta = totp.validate({ token, timestamp: now, window: 1 });
  const step = delta === null ? undefined : totp.counter({ timestamp: now }) + delta;

  let reason: LoginFailureReason | undefined;
  if (!credentials) reason = 'unknown_account';
  else if (!passwordMatches) reason = 'wrong_password';
  else if (step === undefined) reason = 'wrong_totp';
  else if (!(await claimTotpStep(db, credentials.id, step))) reason = 'totp_replayed';

  if (reason !== undefined || !credentials) {
    await settleLoginAttempt({ db, reservation, succeeded: false });
    await db.transaction().execute((tx) =>
      appendAuditEvent(tx, {
        actor: 'anonymous',
        action: 'login.failed',
        subject: credentials?.id ?? null,
        details: { reason: reason ?? 'unknown_account', ip },
      }),
    );
    throw new KuvertError('login_failed', undefined, { logReason: reason });
  }

  await settleLoginAttempt({ db, reservation, succeeded: true });
  if (passwordHashNeedsUpgrade(credentials.password_hash)) {
    await updatePasswordHash(db, credentials.id, await hashPassphrase(options.password));
  }
  const started = await db.transaction().execute(async (tx) => {
    if (options.presentedToken !== undefined) {
      const ended = await endSession({ db: tx, token: options.presentedToken });
      if (ended) {
        await appendAuditEvent(tx, {
          actor: `mailbox:${ended.mailboxId}`,
          action: 'session.ended',
          subject: ended.mailboxId,
          details: { reason: 'replaced_by_login', sessionId: ended.sessionId, ip },
        });
      }
    }
    const created = await startSession({
      db: tx,
      mailboxId: credentials.id,
      authLevel: passwordTotpLevel,
      userAgent: options.userAgent,
    });
    await appendAuditEvent(tx, {
      actor: `mailbox:${credentials.id}`,
      action: 'login.succeeded',
      subject: credentials.id,
      details: {
        method: 'password+totp',
        level: passwordTotpLevel,
        sessionId: created.session.sessionId,
        ip,
      },
    });
    return created;
  });
  return {
    ...started,
    mailbox: { id: credentials.id, language: credentials.language },
  };
}

/** End the caller's session (logout). */
export async function logOut(options: {
  db: Db;
  recipient: RecipientSession;
  ip: string;
}): Promise<void> {
  const { recipient } = options;
  await options.db.transaction().execute(async (tx) => {
    const ended = await endSession({ db: tx, sessionId: recipient.sessionId });
    if (!ended) return;
    await appendAuditEvent(tx, {
      actor: `mailbox:${recipient.mailboxId}`,
      action: 'session.ended',
      subject: recipient.mailboxId,
      details: { reason: 'logout', sessionId: recipient.sessionId, ip: options.ip },
    });
  });
}

/** The session as the web app sees it after a reload. */
export async function describeSession(options: {
  db: Db;
  recipient: RecipientSession;
}): Promise<{ session: RecipientSession; mailbox: { id: string; language: Language } }> {
  const mailbox = await findMailboxById(options.db, options.recipient.mailboxId);
  // A session row references its mailbox, so this only happens if the mailbox was deleted.
  if (!mailbox) throw new KuvertError('unauthenticated');
  return { session: options.recipient, mailbox: { id: mailbox.id, language: mailbox.language } };
}
