import { Type } from 'typebox';
import type { AppContext } from '../context.js';
import type { JobDefinition } from '../jobs/job.js';
import { openAntiPhishingPhrase } from '../mailboxes/anti-phishing.js';
import { findNotificationTarget, markLetterNotified } from './queries.js';
import { renderNewLetterEmail } from './templates.js';

const NotifyLetterPayload = Type.Object(
  {
    mailboxId: Type.String({ format: 'uuid' }),
    letterId: Type.String({ format: 'uuid' }),
  },
  { additionalProperties: false },
);

/**
 * Tell a recipient by email that a letter has arrived. Enqueued in the transaction that
 * stores the letter, so it runs exactly for letters that exist.
 */
export const notifyLetterJob: JobDefinition<typeof NotifyLetterPayload> = {
  name: 'letter.notify',
  payload: NotifyLetterPayload,
  retryLimit: 5,
  handle: notifyLetter,
};

/**
 * At least once, never twice on purpose: a letter already notified is skipped, so a
 * duplicate job sends nothing. Only a crash between sending and recording can resend,
 * which is the lesser harm than a notification that never comes.
 */
export async function notifyLetter(
  payload: { mailboxId: string; letterId: string },
  context: Pick<AppContext, 'db' | 'mailer' | 'config' | 'log' | 'keys'>,
): Promise<void> {
  const { db, mailer, config, log, keys } = context;
  const target = await findNotificationTarget(db, payload);
  const logFields = { job: notifyLetterJob.name, letterId: payload.letterId };
  if (!target) {
    log.warn(logFields, 'letter to notify about does not exist');
    return;
  }
  if (target.notifiedAt) return;
  // Nothing to tell someone who has already opened the letter, or who gave no address.
  if (target.readAt || !target.email) return;

  const email = renderNewLetterEmail({
    language: target.language,
    publicUrl: config.KUVERT_PUBLIC_URL,
    letterId: payload.letterId,
    antiPhishingPhrase: openAntiPhishingPhrase({
      mailboxId: payload.mailboxId,
      sealed: target.antiPhishingSealed,
      keys,
    }),
  });
  await mailer.send({ to: target.email, language: target.language, ...email });
  await markLetterNotified(db, payload);
  log.info(logFields, 'recipient notified of a new letter');
}
