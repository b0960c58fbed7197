import { randomBytes } from 'node:crypto';
import QRCode from 'qrcode';
import { appendAuditEvent } from '../../audit/service.js';
import type { Db } from '../../db/database.js';
import type { MasterKeys } from '../../documents/master-keys.js';
import { KuvertError } from '../../errors.js';
import {
  openTotpSecret,
  sealTotpSecret,
  totpFor,
  totpSecretBytes,
} from '../../mailboxes/service.js';
import type { RecipientSession } from '../sessions.js';
import {
  activatePendingTotp,
  countUnusedRecoveryCodes,
  findFactorState,
  findPendingTotp,
  storePendingTotp,
} from './queries.js';
import { generateRecoveryCodes } from './recovery-codes.js';

/**
 * TOTP enrolment from settings. A new secret is pending until the person
 * types a first code from it: only then does it replace the active one, so a QR code that was
 * never scanned cannot lock anyone out. The first enrolment also hands out recovery codes.
 */

/** Long enough to find the phone and scan; a pending secret is useless after that. */
export const totpEnrolmentSeconds = 15 * 60;

export interface TotpEnrolment {
  /** Base32, for typing into an authenticator app by hand. */
  secret: string;
  /** `otpauth://totp/…`, also shown as text to copy. */
  otpauthUri: string;
  /** The same URI as an SVG QR code. */
  qrSvg: string;
}

export async function startTotpEnrolment(options: {
  db: Db;
  keys: MasterKeys;
  recipient: RecipientSession;
  ip: string;
}): Promise<TotpEnrolment> {
  const { db, keys, recipient } = options;
  const mailbox = await findFactorState(db, recipient.mailboxId);
  if (!mailbox) throw new KuvertError('unauthenticated');
  const secret = randomBytes(totpSecretBytes);
  await db.transaction().execute(async (tx) => {
    await storePendingTotp(
      tx,
      mailbox.id,
      sealTotpSecret({ mailboxId: mailbox.id, secret, keys }),
      totpEnrolmentSeconds,
    );
    await appendAuditEvent(tx, options.keys, {
      actor: `mailbox:${mailbox.id}`,
      action: 'totp.enrolment_started',
      subject: mailbox.id,
      details: {
        replacing: mailbox.totp_secret_sealed !== null,
        sessionId: recipient.sessionId,
        ip: options.ip,
      },
    });
  });
  const totp = totpFor(secret, mailbox.email ?? 'Kuvert');
  const otpauthUri = totp.toString();
  // Medium error correction: scans reliably off a screen; the size follows the content.
  const qrSvg = await QRCode.toString(otpauthUri, {
    type: 'svg',
    errorCorrectionLevel: 'M',
    margin: 2,
  });
  return { secret: totp.secret.base32, otpauthUri, qrSvg };
}

/**
 * Confirm the pending secret with a code from it (RFC 6238, one step of drift either way).
 * Returns fresh recovery codes when the mailbox has none left unused, to be shown once.
 */
export async function confirmTotpEnrolment(options: {
  db: Db;
  keys: MasterKeys;
  recipient: RecipientSession;
  code: string;
  ip: string;
  now?: number;
}): Promise<{ recoveryCodes: string[] | null }> {
  const { db, keys, recipient } = options;
  const pending = await findPendingTotp(db, recipient.mailboxId);
  if (!pending?.totp_pending_sealed) {
    throw new KuvertError(
      'validation_failed',
      'There is no authenticator enrolment waiting for a code. Start again from the settings.',
    );
  }
  const secret = openTotpSecret({
    mailboxId: recipient.mailboxId,
    sealed: pending.totp_pending_sealed,
    keys,
  });
  const totp = totpFor(secret);
  const now = options.now ?? Date.now();
  const typed = options.code.replace(/\s+/g, '');
  const delta = /^[0-9]{6}$/.test(typed)
    ? totp.validate({ token: typed, timestamp: now, window: 1 })
    : null;
  if (delta === null) {
    throw new KuvertError(
      'validation_failed',
      'The code does not match. Check that the app shows Kuvert and type the 6 digits it shows now.',
    );
  }
  const step = totp.counter({ timestamp: now }) + delta;
  return db.transaction().execute(async (tx) => {
    if (
      !(await activatePendingTotp(
        tx,
        recipient.mailboxId,
        pending.totp_pending_sealed as Buffer,
        step,
      ))
    ) {
      throw new KuvertError(
        'validation_failed',
        'The enrolment changed meanwhile. Start again from the settings.',
      );
    }
    await appendAuditEvent(tx, options.keys, {
      actor: `mailbox:${recipient.mailboxId}`,
      action: 'totp.enabled',
      subject: recipient.mailboxId,
      details: {
        replaced: pending.totp_secret_sealed !== null,
        sessionId: recipient.sessionId,
        ip: options.ip,
      },
    });
    const unused = await countUnusedRecoveryCodes(tx, recipient.mailboxId);
    if (unused > 0) return { recoveryCodes: null };
    const recoveryCodes = await generateRecoveryCodes({ db: tx, keys, recipient, ip: options.ip });
    return { recoveryCodes };
  });
}
