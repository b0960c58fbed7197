import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

// ---------------------------------------------------------------------------------------
// Challenges: single use (deleted as they are used) and short-lived.

export async function insertChallenge(
  db: Executor,
  challenge: {
    challenge: string;
    purpose: 'registration' | 'authentication';
    mailboxId: string | null;
    client?: string;
    lifetimeSeconds: number;
  },
): Promise<void> {
  // Anyone may ask for a login challenge: sweep the expired ones as new ones are made.
  await db.deleteFrom('webauthn_challenges').where('expires_at', '<', sql<Date>`now()`).execute();
  await db
    .insertInto('webauthn_challenges')
    .values({
      challenge: challenge.challenge,
      purpose: challenge.purpose,
      mailbox_id: challenge.mailboxId,
      client: challenge.client ?? null,
      expires_at: sql<Date>`now() + make_interval(secs => ${challenge.lifetimeSeconds})`,
    })
    .execute();
}

/** Live login challenges one client holds. */
export async function countLiveChallengesOf(db: Executor, client: string): Promise<number> {
  const row = await db
    .selectFrom('webauthn_challenges')
    .select(sql<string>`count(*)`.as('live'))
    .where('client', '=', client)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirstOrThrow();
  return Number(row.live);
}

/**
 * Take a challenge out of the table: true only for the first caller, only before it expires,
 * and only for the purpose (and, for a registration, the mailbox) it was made for.
 */
export async function consumeChallenge(
  db: Executor,
  challenge: {
    challenge: string;
    purpose: 'registration' | 'authentication';
    mailboxId: string | null;
  },
): Promise<boolean> {
  const row = await db
    .deleteFrom('webauthn_challenges')
    .where('challenge', '=', challenge.challenge)
    .where('purpose', '=', challenge.purpose)
    .where((eb) =>
      challenge.mailboxId === null
        ? eb('mailbox_id', 'is', null)
        : eb('mailbox_id', '=', challenge.mailboxId),
    )
    .returning(['expires_at', sql<boolean>`expires_at > now()`.as('live')])
    .executeTakeFirst();
  return row?.live === true;
}

// ---------------------------------------------------------------------------------------
// Passkeys

export async function insertPasskey(
  db: Executor,
  passkey: {
    id: string;
    mailboxId: string;
    credentialId: string;
    publicKey: Buffer;
    counter: number;
    transports: string[];
    deviceType: 'singleDevice' | 'multiDevice';
    backedUp: boolean;
    name: string;
  },
) {
  return db
    .insertInto('passkeys')
    .values({
      id: passkey.id,
      mailbox_id: passkey.mailboxId,
      credential_id: passkey.credentialId,
      public_key: passkey.publicKey,
      counter: passkey.counter,
      transports: passkey.transports,
      device_type: passkey.deviceType,
      backed_up: passkey.backedUp,
      name: passkey.name,
    })
    .returning(['id', 'name', 'device_type', 'backed_up', 'created_at', 'last_used_at'])
    .executeTakeFirstOrThrow();
}

const listedColumns = [
  'id',
  'name',
  'device_type',
  'backed_up',
  'created_at',
  'last_used_at',
] as const;

export async function listPasskeys(db: Executor, mailboxId: string) {
  return db
    .selectFrom('passkeys')
    .select(listedColumns)
    .where('mailbox_id', '=', mailboxId)
    .orderBy('created_at')
    .execute();
}

/** The credential ids of a mailbox, so the browser does not register the same one twice. */
export async function listCredentialIds(db: Executor, mailboxId: string) {
  return db
    .selectFrom('passkeys')
    .select(['credential_id', 'transports'])
    .where('mailbox_id', '=', mailboxId)
    .execute();
}

export async function findPasskeyByCredentialId(db: Executor, credentialId: string) {
  return db
    .selectFrom('passkeys')
    .select(['id', 'mailbox_id', 'credential_id', 'public_key', 'counter', 'transports'])
    .where('credential_id', '=', credentialId)
    .executeTakeFirst();
}

/** Scoped by the mailbox in the query itself: another mailbox's id deletes nothing. */
export async function deletePasskey(db: Executor, mailboxId: string, passkeyId: string) {
  return db
    .deleteFrom('passkeys')
    .where('mailbox_id', '=', mailboxId)
    .where('id', '=', passkeyId)
    .returning(['id', 'name'])
    .executeTakeFirst();
}

/** After a login: the new signature counter and backup state (WebAuthn §6.1.1, §6.3.3). */
export async function recordPasskeyUse(
  db: Executor,
  passkeyId: string,
  use: { counter: number; backedUp: boolean; deviceType: 'singleDevice' | 'multiDevice' },
): Promise<void> {
  await db
    .updateTable('passkeys')
    .set({
      counter: use.counter,
      backed_up: use.backedUp,
      device_type: use.deviceType,
      last_used_at: sql<Date>`now()`,
    })
    .where('id', '=', passkeyId)
    .execute();
}

export async function mailboxEmail(db: Executor, mailboxId: string) {
  return db
    .selectFrom('mailboxes')
    .select(['email', 'language'])
    .where('id', '=', mailboxId)
    .executeTakeFirst();
}
