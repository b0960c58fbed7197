import { randomUUID } from 'node:crypto';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { appendAuditEvent } from '../../audit/service.js';
import type { Db } from '../../db/database.js';
import type { Language } from '../../db/schema.js';
import { lookupHash } from '../../documents/envelope.js';
import type { MasterKeys } from '../../documents/master-keys.js';
import { KuvertError } from '../../errors.js';
import { ipBucketKey } from '../rate-limit.js';
import { type RecipientSession, rotateSession } from '../sessions.js';
import {
  consumeChallenge,
  countLiveChallengesOf,
  deletePasskey,
  findPasskeyByCredentialId,
  insertChallenge,
  insertPasskey,
  listCredentialIds,
  listPasskeys,
  mailboxEmail,
  recordPasskeyUse,
} from './queries.js';

/**
 * Passkeys (WebAuthn Level 3 with SimpleWebAuthn), registered from settings and used for a
 * passwordless login with discoverable credentials. The relying party is the
 * service itself: RP ID the host of KUVERT_PUBLIC_URL, origin KUVERT_PUBLIC_URL. Challenges are
 * kept on the server, used once and expire after five minutes. Every refusal is the same
 * answer; the reason goes to the log and the audit log.
 */

/** A passkey login proves possession and user verification: the two-factor level. */
export const passkeyLevel = 'two-factor';
export const challengeSeconds = 5 * 60;
/**
 * Login challenges one address may hold at once. Anyone may ask for one, and each is a row:
 * far more than a person needs (one per try), far fewer than would fill the table.
 */
export const liveLoginChallengesPerClient = 20;

export interface RelyingParty {
  id: string;
  origin: string;
  name: string;
}

export function relyingPartyFor(publicUrl: string): RelyingParty {
  const url = new URL(publicUrl);
  return { id: url.hostname, origin: url.origin, name: 'Kuvert' };
}

/**
 * The WebAuthn user handle of a mailbox: the same for all its passkeys (so an authenticator
 * replaces rather than duplicates), stable without a column, and not the mailbox id itself
 * (WebAuthn §14.6.1: a user handle should reveal nothing about the account).
 */
export function userHandleOf(mailboxId: string, keys: MasterKeys): Uint8Array<ArrayBuffer> {
  return new Uint8Array(lookupHash(mailboxId, 'webauthn-user-handle', keys));
}

/** The challenge a browser signed, read from its clientDataJSON (WebAuthn §5.8.1). */
function challengeOf(clientDataJSON: string): string | undefined {
  try {
    const clientData: unknown = JSON.parse(
      Buffer.from(clientDataJSON, 'base64url').toString('utf8'),
    );
    const challenge = (clientData as { challenge?: unknown } | null)?.challenge;
    return typeof challenge === 'string' && challenge.length <= 128 ? challenge : undefined;
  } catch {
    return undefined;
  }
}

class PasskeyRefusal extends Error {}

// ---------------------------------------------------------------------------------------
// Registration (from settings)

export async function startPasskeyRegistration(options: {
  db: Db;
  keys: MasterKeys;
  rp: RelyingParty;
  recipient: RecipientSession;
}): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { db, rp, recipient } = options;
  const mailbox = await mailboxEmail(db, recipient.mailboxId);
  const existing = await listCredentialIds(db, recipient.mailboxId);
  const name = mailbox?.email ?? 'Kuvert';
  const creation = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userID: userHandleOf(recipient.mailboxId, options.keys),
    userName: name,
    userDisplayName: name,
    timeout: challengeSeconds * 1000,
    attestationType: 'none',
    excludeCredentials: existing.map((row) => ({
      id: row.credential_id,
      transports: row.transports,
    })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
  });
  await insertChallenge(db, {
    challenge: creation.challenge,
    purpose: 'registration',
    mailboxId: recipient.mailboxId,
    lifetimeSeconds: challengeSeconds,
  });
  return creation;
}

export interface PasskeySummary {
  id: string;
  name: string;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export async function finishPasskeyRegistration(options: {
  db: Db;
  keys: MasterKeys;
  rp: RelyingParty;
  recipient: RecipientSession;
  response: RegistrationResponseJSON;
  name: string | undefined;
  ip: string;
}): Promise<PasskeySummary> {
  const { db, rp, recipient } = options;
  try {
    const challenge = challengeOf(options.response.response.clientDataJSON);
    if (!challenge) throw new PasskeyRefusal('clientDataJSON has no challenge');
    const live = await consumeChallenge(db, {
      challenge,
      purpose: 'registration',
      mailboxId: recipient.mailboxId,
    });
    if (!live) throw new PasskeyRefusal('challenge unknown, used or expired');
    const verified = await verifyRegistrationResponse({
      response: options.response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: true,
    }).catch((error: unknown) => {
      throw new PasskeyRefusal(error instanceof Error ? error.message : 'verification failed');
    });
    if (!verified.verified) throw new PasskeyRefusal('registration not verified');
    const info = verified.registrationInfo;
    const existing = await findPasskeyByCredentialId(db, info.credential.id);
    if (existing) throw new PasskeyRefusal('credential already registered');
    return await db.transaction().execute(async (tx) => {
      const row = await insertPasskey(tx, {
        id: randomUUID(),
        mailboxId: recipient.mailboxId,
        credentialId: info.credential.id,
        publicKey: Buffer.from(info.credential.publicKey),
        counter: info.credential.counter,
        transports: info.credential.transports ?? [],
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
        name: options.name?.trim() || 'Passkey',
      });
      await appendAuditEvent(tx, options.keys, {
        actor: `mailbox:${recipient.mailboxId}`,
        action: 'passkey.registered',
        subject: recipient.mailboxId,
        details: {
          passkeyId: row.id,
          deviceType: row.device_type,
          backedUp: row.backed_up,
          sessionId: recipient.sessionId,
          ip: options.ip,
        },
      });
      return presentRow(row);
    });
  } catch (error) {
    if (!(error instanceof PasskeyRefusal)) throw error;
    await db.transaction().execute((tx) =>
      appendAuditEvent(tx, options.keys, {
        actor: `mailbox:${recipient.mailboxId}`,
        action: 'passkey.registration_refused',
        subject: recipient.mailboxId,
        details: { reason: error.message, sessionId: recipient.sessionId, ip: options.ip },
      }),
    );
    throw new KuvertError('passkey_failed', undefined, { logReason: error.message });
  }
}

function presentRow(row: {
  id: string;
  name: string;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  created_at: Date;
  last_used_at: Date | null;
}): PasskeySummary {
  return {
    id: row.id,
    name: row.name,
    deviceType: row.device_type,
    backedUp: row.backed_up,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

export async function listMailboxPasskeys(options: {
  db: Db;
  recipient: RecipientSession;
}): Promise<PasskeySummary[]> {
  return (await listPasskeys(options.db, options.recipient.mailboxId)).map(presentRow);
}

/** Remove a passkey of the caller's mailbox; another mailbox's id is not found. */
export async function removePasskey(options: {
  db: Db;
  keys: MasterKeys;
  recipient: RecipientSession;
  passkeyId: string;
  ip: string;
}): Promise<void> {
  const { recipient } = options;
  await options.db.transaction().execute(async (tx) => {
    const removed = await deletePasskey(tx, recipient.mailboxId, options.passkeyId);
    if (!removed) throw new KuvertError('not_found');
    await appendAuditEvent(tx, options.keys, {
      actor: `mailbox:${recipient.mailboxId}`,
      action: 'passkey.removed',
      subject: recipient.mailboxId,
      details: { passkeyId: removed.id, sessionId: recipient.sessionId, ip: options.ip },
    });
  });
}

// ---------------------------------------------------------------------------------------
// Passwordless login

export async function startPasskeyLogin(options: {
  db: Db;
  rp: RelyingParty;
  ip: string;
}): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const client = ipBucketKey(options.ip);
  if ((await countLiveChallengesOf(options.db, client)) >= liveLoginChallengesPerClient) {
    throw new KuvertError('rate_limited', 'Too many passkey logins started. Wait a few minutes.', {
      logReason: 'live passkey login challenges per client',
    });
  }
  // No allowCredentials: the authenticator offers its discoverable credentials for this RP,
  // and nobody types a national identity number.
  const request = await generateAuthenticationOptions({
    rpID: options.rp.id,
    userVerification: 'required',
    timeout: challengeSeconds * 1000,
  });
  await insertChallenge(options.db, {
    challenge: request.challenge,
    purpose: 'authentication',
    mailboxId: null,
    client,
    lifetimeSeconds: challengeSeconds,
  });
  return request;
}

export interface PasskeyLoggedIn {
  token: string;
  session: RecipientSession;
  mailbox: { id: string; language: Language };
}

export async function finishPasskeyLogin(options: {
  db: Db;
  keys: MasterKeys;
  rp: RelyingParty;
  response: AuthenticationResponseJSON;
  ip: string;
  userAgent: string | undefined;
  presentedToken: string | undefined;
}): Promise<PasskeyLoggedIn> {
  const { db, rp, ip } = options;
  let mailboxId: string | null = null;
  try {
    const challenge = challengeOf(options.response.response.clientDataJSON);
    if (!challenge) throw new PasskeyRefusal('clientDataJSON has no challenge');
    const live = await consumeChallenge(db, {
      challenge,
      purpose: 'authentication',
      mailboxId: null,
    });
    if (!live) throw new PasskeyRefusal('challenge unknown, used or expired');
    const passkey = await findPasskeyByCredentialId(db, options.response.id);
    if (!passkey) throw new PasskeyRefusal('credential unknown');
    mailboxId = passkey.mailbox_id;
    // A discoverable credential names its user; it must be the passkey's mailbox (§7.2 step 6).
    const userHandle = options.response.response.userHandle;
    if (userHandle !== undefined) {
      const expected = Buffer.from(userHandleOf(passkey.mailbox_id, options.keys)).toString(
        'base64url',
      );
      if (userHandle !== expected) throw new PasskeyRefusal('user handle does not match');
    }
    const verified = await verifyAuthenticationResponse({
      response: options.response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: true,
      credential: {
        id: passkey.credential_id,
        publicKey: new Uint8Array(passkey.public_key),
        counter: Number(passkey.counter),
        transports: passkey.transports as never,
      },
    }).catch((error: unknown) => {
      // Includes a signature counter that went backwards: a possibly cloned authenticator.
      throw new PasskeyRefusal(error instanceof Error ? error.message : 'verification failed');
    });
    if (!verified.verified) throw new PasskeyRefusal('assertion not verified');
    const info = verified.authenticationInfo;
    const passkeyId = passkey.id;
    const owner = passkey.mailbox_id;
    const started = await db.transaction().execute(async (tx) => {
      await recordPasskeyUse(tx, passkeyId, {
        counter: info.newCounter,
        backedUp: info.credentialBackedUp,
        deviceType: info.credentialDeviceType,
      });
      const created = await rotateSession({
        tx,
        keys: options.keys,
        presentedToken: options.presentedToken,
        mailboxId: owner,
        authLevel: passkeyLevel,
        userAgent: options.userAgent,
        ip,
        reason: 'replaced_by_login',
      });
      await appendAuditEvent(tx, options.keys, {
        actor: `mailbox:${owner}`,
        action: 'login.succeeded',
        subject: owner,
        details: { method: 'passkey', passkeyId, sessionId: created.session.sessionId, ip },
      });
      return created;
    });
    const mailbox = await mailboxEmail(db, owner);
    return { ...started, mailbox: { id: owner, language: mailbox?.language ?? 'nb' } };
  } catch (error) {
    if (!(error instanceof PasskeyRefusal)) throw error;
    await db.transaction().execute((tx) =>
      appendAuditEvent(tx, options.keys, {
        actor: 'anonymous',
        action: 'login.failed',
        subject: mailboxId,
        details: { method: 'passkey', reason: error.message, ip },
      }),
    );
    throw new KuvertError('login_failed', undefined, { logReason: `passkey: ${error.message}` });
  }
}
