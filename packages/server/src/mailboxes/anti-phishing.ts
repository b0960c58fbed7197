import { appendAuditEvent } from '../audit/service.js';
import type { Db, Executor } from '../db/database.js';
import { openValue, sealValue } from '../documents/envelope.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { KuvertError } from '../errors.js';
import { assertSafeText } from '../safe-text.js';
import { findAntiPhishingPhrase, updateAntiPhishingPhrase } from './queries.js';

/**
 * The personal anti-phishing phrase: words the person chooses, shown in every
 * notification email, so that an email without them is recognisably not from Kuvert. Personal
 * data, so sealed like the national identity number; bound to the mailbox as AAD.
 */

/** Long enough for a short sentence, short enough to read at a glance in an email. */
export const antiPhishingPhraseMaxLength = 64;

const antiPhishingContext = (mailboxId: string) => `mailbox:${mailboxId}:anti-phishing`;

/** Trimmed, inner runs of white space made one space; refused when unsafe, empty or too long. */
export function normaliseAntiPhishingPhrase(phrase: string): string {
  assertSafeText('phrase', phrase);
  const normalised = phrase.normalize('NFC').trim().replace(/\s+/gu, ' ');
  if (normalised === '') {
    throw new KuvertError('validation_failed', 'phrase must not be empty.');
  }
  if ([...normalised].length > antiPhishingPhraseMaxLength) {
    throw new KuvertError(
      'validation_failed',
      `phrase can have at most ${antiPhishingPhraseMaxLength} characters.`,
    );
  }
  return normalised;
}

export function openAntiPhishingPhrase(options: {
  mailboxId: string;
  sealed: Buffer | null;
  keys: MasterKeys;
}): string | null {
  if (options.sealed === null) return null;
  return openValue(options.sealed, antiPhishingContext(options.mailboxId), options.keys).toString(
    'utf8',
  );
}

export async function readAntiPhishingPhrase(options: {
  db: Executor;
  keys: MasterKeys;
  mailboxId: string;
}): Promise<string | null> {
  const row = await findAntiPhishingPhrase(options.db, options.mailboxId);
  if (!row) return null;
  return openAntiPhishingPhrase({ ...options, sealed: row.anti_phishing_sealed });
}

/** Set (or, with null, remove) the phrase; audited without the phrase itself. */
export async function setAntiPhishingPhrase(options: {
  db: Db;
  keys: MasterKeys;
  mailboxId: string;
  phrase: string | null;
  ip: string;
}): Promise<string | null> {
  const { db, keys, mailboxId } = options;
  const phrase = options.phrase === null ? null : normaliseAntiPhishingPhrase(options.phrase);
  const sealed = phrase === null ? null : sealValue(phrase, antiPhishingContext(mailboxId), keys);
  await db.transaction().execute(async (tx) => {
    await updateAntiPhishingPhrase(tx, mailboxId, sealed);
    await appendAuditEvent(tx, keys, {
      actor: `mailbox:${mailboxId}`,
      action: 'mailbox.anti_phishing_changed',
      subject: mailboxId,
      details: { set: phrase !== null, ip: options.ip },
    });
  });
  return phrase;
}
