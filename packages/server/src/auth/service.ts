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
import { type DeviceCookie, signDeviceCookie } from './device-cookie.js';
import { describeDevice } from './devices.js';
import { countUnusedRecoveryCodes } from './factors/queries.js';
import { spendRecoveryCode } from './factors/recovery-codes.js';
import type { AuthLevel } from './levels.js';
import {
  bucketsForAttempt,
  loginBuckets,
  reserveLoginAttempt,
  settleLoginAttempt,
} from './rate-limit.js';
import { endSession, type RecipientSession, rotateSession } from './sessions.js';

export const passwordTotpLevel = 'two-factor' satisfies AuthLevel;

/** Why a login failed, for the audit log only: the client always gets the same answer. */
export type LoginFailureReason =
  | 'unknown_account'
  | 'wrong_password'
  | 'wrong_totp'
  | 'totp_replayed'
  | 'no_passphrase'
  | 'no_totp'
  | 'wrong_recovery_code';

export interface LoggedIn {
  token: string;
  session: RecipientSession;
  mailbox: { id: string; language: Language };
  /** A fresh device cookie value for this browser (device-cookie.ts). */
  deviceCookie: string;
}

/**
 * The passphrase check, behind an object so that tests can watch it run (enumeration: the
 * argon2 verification runs for unknown numbers too). Always the real argon2.
 */
export const passphraseVerifier = {
  verify(passwordHash: string, password: string): Promise<boolean> {
    return verify(passwordHash, password);
  },
};

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
 *
 * Failures count per account and per address, or, when the browser holds a valid device
 * cookie for this very mailbox, in that device's own bucket: failures from elsewhere never
 * make the owner's device wait (rate-limit.ts, device-cookie.ts).
 */
export async function logIn(options: {
  db: Db;
  keys: MasterKeys;
  acceptSynthetic: boolean;
  nationalId: string;
  password: string;
  /** The authenticator code; or, instead of it, one of the mailbox's recovery codes. */
  totp?: string | undefined;
  recoveryCode?: string | undefined;
  ip: string;
  userAgent: string | undefined;
  presentedToken: string | undefined;
  /** The verified device cookie the browser sent, if any, for whichever mailbox. */
  device?: DeviceCookie | undefined;
  /** Milliseconds since the epoch; tests move it to make codes for other time steps. */
  now?: number;
}): Promise<LoggedIn> {
  const { db, keys, ip } = options;
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

  // Only a cookie for the mailbox being logged in to counts; any other is ignored, so the
  // choice of bucket says nothing about whether the number has a mailbox.
  const trustedDevice =
    options.device && credentials && options.device.mailboxId === credentials.id
      ? options.device
      : undefined;
  const buckets = bucketsForAttempt({
    buckets: loginBuckets({ nationalId: options.nationalId, ip, keys }),
    trustedDevice,
  });
  const reservation = await reserveLoginAttempt({ db, buckets });

  // A mailbox made by eID registration may have no passphrase or TOTP yet: the same work
  // against dummies, and a refusal like any other.
  const passwordMatches = await passphraseVerifier.verify(
    credentials?.password_hash ?? (await dummyHash()),
    normalisePassphrase(options.password),
  );
  const sealedTotp = credentials?.totp_secret_sealed;
  const secret =
    credentials && sealedTotp
      ? openTotpSecret({ mailboxId: credentials.id, sealed: sealedTotp, keys })
      : dummyTotpSecret;
  const totp = totpFor(secret);
  const now = options.now ?? Date.now();
  const typed = (options.totp ?? '').replace(/\s+/g, '');
  // Never digits, so it cannot match; keeps the HMAC work the same for malformed input.
  const token = /^[0-9]{6}$/.test(typed) ? typed : '------';
  const delta = totp.validate({ token, timestamp: now, window: 1 });
  const step = delta === null ? undefined : totp.counter({ timestamp: now }) + delta;

  let reason: LoginFailureReason | undefined;
  if (!credentials) reason = 'unknown_account';
  else if (!credentials.password_hash) reason = 'no_passphrase';
  else if (!passwordMatches) reason = 'wrong_password';
  else if (options.recoveryCode !== undefined) {
    const spent = await spendRecoveryCode({
      db,
      keys,
      mailboxId: credentials.id,
      code: options.recoveryCode,
    });
    if (!spent) reason = 'wrong_recovery_code';
  } else if (!sealedTotp) reason = 'no_totp';
  else if (step === undefined) reason = 'wrong_totp';

  // Coarse and client-chosen, but enough for the owner's login history to say "Firefox on
  // Windows" beside each attempt.
  const device = describeDevice(options.userAgent);
  let started: { token: string; session: RecipientSession } | undefined;
  const secondFactor =
    options.recoveryCode !== undefined ? 'recovery-code' : step !== undefined ? 'totp' : undefined;
  const method = secondFactor === 'recovery-code' ? 'password+recovery-code' : 'password+totp';
  if (reason === undefined && credentials?.password_hash && secondFactor) {
    // Rare, and slow (a new argon2 hash): made before the transaction, not while it holds locks.
    const upgradedHash = passwordHashNeedsUpgrade(credentials.password_hash)
      ? await hashPassphrase(options.password)
      : undefined;
    // One transaction for everything a login writes: the TOTP step, the attempt's success,
    // the session and the audit entry commit together (one commit on the hot path).
    started = await db.transaction().execute(async (tx) => {
      if (step !== undefined && secondFactor === 'totp') {
        if (!(await claimTotpStep(tx, credentials.id, step))) return undefined;
      }
      await settleLoginAttempt({ db: tx, reservation, succeeded: true });
      if (upgradedHash) await updatePasswordHash(tx, credentials.id, upgradedHash);
      const created = await rotateSession({
        tx,
        keys,
        presentedToken: options.presentedToken,
        mailboxId: credentials.id,
        authLevel: passwordTotpLevel,
        userAgent: options.userAgent,
        ip,
        reason: 'replaced_by_login',
      });
      if (secondFactor === 'recovery-code') {
        await appendAuditEvent(tx, keys, {
          actor: `mailbox:${credentials.id}`,
          action: 'recovery_code.used',
          subject: credentials.id,
          details: {
            remaining: await countUnusedRecoveryCodes(tx, credentials.id),
            sessionId: created.session.sessionId,
            ip,
          },
        });
      }
      await appendAuditEvent(tx, keys, {
        actor: `mailbox:${credentials.id}`,
        action: 'login.succeeded',
        subject: credentials.id,
        details: {
          method,
          level: passwordTotpLevel,
          sessionId: created.session.sessionId,
          ip,
          device,
          trustedDevice: trustedDevice !== undefined,
        },
      });
      return created;
    });
    if (!started) reason = 'totp_replayed';
  }

  if (!started || !credentials) {
    const throttled = await settleLoginAttempt({ db, reservation, succeeded: false });
    await appendAuditEvent(db, keys, {
      actor: 'anonymous',
      action: 'login.failed',
      subject: credentials?.id ?? null,
      details: {
        reason: reason ?? 'unknown_account',
        method,
        ip,
        device,
        trustedDevice: trustedDevice !== undefined,
      },
    });
    // The waits this failure started or lengthened: at most one entry per bucket and
    // failure, and failures are themselves throttled, so the log cannot be flooded.
    for (const lockOut of throttled) {
      await appendAuditEvent(db, keys, {
        actor: 'anonymous',
        action: 'login.locked_out',
        subject: lockOut.limit === 'ip' ? null : (credentials?.id ?? null),
        details: { ...lockOut, ip },
      });
    }
    throw new KuvertError('login_failed', undefined, { logReason: reason });
  }

  return {
    ...started,
    mailbox: { id: credentials.id, language: credentials.language },
    deviceCookie: signDeviceCookie({ mailboxId: credentials.id, keys }),
  };
}

/** End the caller's session (logout). */
export async function logOut(options: {
  db: Db;
  keys: MasterKeys;
  recipient: RecipientSession;
  ip: string;
}): Promise<void> {
  const { recipient } = options;
  await options.db.transaction().execute(async (tx) => {
    const ended = await endSession({ db: tx, sessionId: recipient.sessionId });
    if (!ended) return;
    await appendAuditEvent(tx, options.keys, {
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
