import { sql } from 'kysely';
import type { Executor } from '../db/database.js';

/**
 * What the new-letter notification needs, and nothing more: where to send it, in which
 * language, the recipient's anti-phishing phrase (sealed), and whether it is still due. The letter is found by its mailbox id AND its id
 * (invariant 1), so a job can never reach into another mailbox's letters.
 */
export async function findNotificationTarget(
  db: Executor,
  letter: { mailboxId: string; letterId: string },
) {
  return db
    .selectFrom('letters')
    .innerJoin('mailboxes', 'mailboxes.id', 'letters.mailbox_id')
    .select([
      'mailboxes.email',
      'mailboxes.language',
      'mailboxes.anti_phishing_sealed as antiPhishingSealed',
      'letters.notified_at as notifiedAt',
      'letters.read_at as readAt',
    ])
    .where('letters.mailbox_id', '=', letter.mailboxId)
    .where('letters.id', '=', letter.letterId)
    .executeTakeFirst();
}

/** Record the notification once: a second run leaves the first time in place. */
export async function markLetterNotified(
  db: Executor,
  letter: { mailboxId: string; letterId: string },
): Promise<boolean> {
  const result = await db
    .updateTable('letters')
    .set({ notified_at: sql<Date>`now()` })
    .where('mailbox_id', '=', letter.mailboxId)
    .where('id', '=', letter.letterId)
    .where('notified_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
