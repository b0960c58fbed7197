import { verify } from '@node-rs/argon2';
import { appendAuditEvent } from '../../audit/service.js';
import type { Db } from '../../db/database.js';
import { openValue } from '../../documents/envelope.js';
import type { MasterKeys } from '../../documents/master-keys.js';
import { KuvertError } from '../../errors.js';
import { assessPassphrase, normalisePassphrase } from '../../mailboxes/passphrase-policy.js';
import { hashPassphrase } from '../../mailboxes/service.js';
import { meetsLevel } from '../levels.js';
import { insertLoginAttemptsAndCount, recentFailures } from '../queries.js';
import type { RecipientSession } from '../sessions.js';
import { findFactorState, revokeOtherSessions, setPasswordHash } from './queries.js';

/**
 * Setting and changing the passphrase. The first passphrase of a mailbox
 * made by eID registration needs an eID session: only eID has proven who the person is. A
 * change needs the current passphrase, or again an eID session: that is how a forgotten
 * passphrase is reset, never through an emailed link.
 */

/** Wrong current passphrases per mailbox in the window before a change is refused. */
export const passphraseChangeLimits = { failures: 5, windowSeconds: 15 * 60 } as const;

export async function setPassphrase(options: {
  db: Db;
  keys: MasterKeys;
  recipient: RecipientSession;
  passphrase: string;
  current: string | undefined;
  ip: string;
}): Promise<{ otherSessionsEnded: number }> {
  const { db, keys, recipient } = options;
  const mailbox = await findFactorState(db, recipient.mailboxId);
  if (!mailbox) throw new KuvertError('unauthenticated');

  const viaEid = meetsLevel(recipient.authLevel, 'eid-substantial');
  const hadPassphrase = mailbox.password_hash !== null;
  if (!viaEid) {
    if (mailbox.password_hash === null) {
      throw new KuvertError(
        'forbidden',
        'Log in with eID (ID-porten) to set your first passphrase.',
        { logReason: `first passphrase from a session of level ${recipient.authLevel}` },
      );
    }
    await checkCurrentPassphrase({ ...options, passwordHash: mailbox.password_hash });
  }

  const nationalId = openValue(
    mailbox.national_id_sealed,
    `mailbox:${mailbox.id}:national-id`,
    keys,
  ).toString('utf8');
  const assessment = assessPassphrase(options.passphrase, { nationalId, email: mailbox.email });
  if (assessment.problem) {
    throw new KuvertError('validation_failed', assessment.message, {
      fields: { passphraseProblem: assessment.problem },
    });
  }

  const passwordHash = await hashPassphrase(options.passphrase);
  return db.transaction().execute(async (tx) => {
    await setPasswordHash(tx, mailbox.id, passwordHash);
    // A changed passphrase should shut out whoever knew the old one: end the other sessions.
    const otherSessionsEnded = await revokeOtherSessions(
      tx,
      mailbox.id,
      Buffer.from(recipient.sessionId, 'hex'),
    );
    await appendAuditEvent(tx, options.keys, {
      actor: `mailbox:${mailbox.id}`,
      action: hadPassphrase ? 'passphrase.changed' : 'passphrase.set',
      subject: mailbox.id,
      details: {
        authorisedBy: viaEid ? recipient.authLevel : 'current_passphrase',
        sessionId: recipient.sessionId,
        otherSessionsEnded,
        ip: options.ip,
      },
    });
    return { otherSessionsEnded };
  });
}

/**
 * A stolen session must not be a way to guess the passphrase: wrong answers are counted per
 * mailbox (in login_attempts, under a bucket of their own) and refused past the limit.
 */
async function checkCurrentPassphrase(options: {
  db: Db;
  keys: MasterKeys;
  recipient: RecipientSession;
  current: string | undefined;
  passwordHash: string;
  ip: string;
}): Promise<void> {
  const { db, recipient } = options;
  const bucket = `passphrase-change:${recipient.mailboxId}`;
  const { failures } = await recentFailures(db, {
    bucket,
    windowSeconds: passphraseChangeLimits.windowSeconds,
    excludeIds: [],
  });
  if (failures >= passphraseChangeLimits.failures) {
    throw new KuvertError(
      'rate_limited',
      'Too many wrong passphrases. Wait a while, or log in with eID to set a new one.',
      { logReason: 'passphrase change limit reached' },
    );
  }
  const matches =
    options.current !== undefined &&
    (await verify(options.passwordHash, normalisePassphrase(options.current)));
  if (matches) return;
  await db.transaction().execute(async (tx) => {
    await insertLoginAttemptsAndCount(tx, {
      buckets: [bucket],
      windowSeconds: passphraseChangeLimits.windowSeconds,
    });
    await appendAuditEvent(tx, options.keys, {
      actor: `mailbox:${recipient.mailboxId}`,
      action: 'passphrase.change_refused',
      subject: recipient.mailboxId,
      details: {
        reason: options.current === undefined ? 'current_missing' : 'current_wrong',
        sessionId: recipient.sessionId,
        ip: options.ip,
      },
    });
  });
  throw new KuvertError(
    'forbidden',
    options.current === undefined
      ? 'Enter your current passphrase to change it.'
      : 'The current passphrase is not right.',
  );
}
