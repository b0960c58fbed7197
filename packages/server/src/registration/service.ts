import { randomInt, timingSafeEqual } from 'node:crypto';
import { appendAuditEvent } from '../audit/service.js';
import { registrationContext } from '../auth/eid.js';
import { parseAuthLevel } from '../auth/levels.js';
import {
  findEidRegistration,
  insertLoginAttemptsAndCount,
  recentFailures,
  takeEidRegistration,
} from '../auth/queries.js';
import { type RecipientSession, startSession } from '../auth/sessions.js';
import type { AppContext } from '../context.js';
import type { Language } from '../db/schema.js';
import { lookupHash, openValue } from '../documents/envelope.js';
import { KuvertError } from '../errors.js';
import { createMailbox, normaliseEmail } from '../mailboxes/service.js';
import {
  type ContactChannel,
  countContactAttempt,
  deleteContactVerification,
  emailTakenByAnother,
  findContactDetails,
  markPhoneVerified,
  pendingContactAddresses,
  setUnverifiedPhone,
  setVerifiedEmail,
  upsertContactVerification,
} from './queries.js';
import { sessionTokenHash } from './tokens.js';

/** The version of the terms the web app shows; accepting an older one is refused. */
export const termsVersion = '2026-12-01';

type Context = Pick<AppContext, 'db' | 'keys' | 'config' | 'mailer' | 'sms'>;

/** What the registration page may know: the level eID gave and which terms to show. */
export async function describeRegistration(context: Context, token: string | undefined) {
  const row = token ? await findEidRegistration(context.db, sessionTokenHash(token)) : undefined;
  if (!row) throw new KuvertError('unauthenticated');
  return { level: parseAuthLevel(row.level), termsVersion };
}

/**
 * Finish a registration: the person logged in with eID, has no mailbox, and accepts the terms.
 * The mailbox is made without passphrase or TOTP, the acceptance recorded with the terms
 * version, and a session started at the eID level. The pending registration is used once.
 */
export async function completeRegistration(
  context: Context,
  options: {
    token: string | undefined;
    acceptedTermsVersion: string;
    language: Language;
    ip: string;
    userAgent: string | undefined;
  },
): Promise<{
  token: string;
  session: RecipientSession;
  mailbox: { id: string; language: Language };
}> {
  if (options.acceptedTermsVersion !== termsVersion) {
    throw new KuvertError(
      'validation_failed',
      'The terms have changed since the page was loaded: reload the page and read them again.',
    );
  }
  const { db, keys } = context;
  const pending = options.token
    ? await takeEidRegistration(db, sessionTokenHash(options.token))
    : undefined;
  if (!pending) throw new KuvertError('unauthenticated');
  const nationalId = openValue(
    pending.national_id_sealed,
    registrationContext(pending.id),
    keys,
  ).toString('utf8');
  const level = parseAuthLevel(pending.level);
  const { mailboxId } = await createMailbox({
    db,
    keys,
    nationalId,
    language: options.language,
    acceptSynthetic: context.config.KUVERT_ACCEPT_SYNTHETIC_IDS,
    actor: 'registration:eid',
    termsVersion,
  });
  const started = await db.transaction().execute(async (tx) => {
    const created = await startSession({
      db: tx,
      mailboxId,
      authLevel: level,
      userAgent: options.userAgent,
    });
    await appendAuditEvent(tx, context.keys, {
      actor: `mailbox:${mailboxId}`,
      action: 'login.succeeded',
      subject: mailboxId,
      details: {
        method: 'eid',
        level,
        registration: true,
        sessionId: created.session.sessionId,
        ip: options.ip,
      },
    });
    return created;
  });
  return { ...started, mailbox: { id: mailboxId, language: options.language } };
}

// ---------------------------------------------------------------------------------------
// Notification addresses, each verified by a one-time code before use

const codeTtlSeconds = 15 * 60;
const maxCodeAttempts = 5;
const e164 = /^\+[1-9][0-9]{7,14}$/;

function codeHash(
  context: Context,
  mailboxId: string,
  channel: ContactChannel,
  code: string,
): Buffer {
  return lookupHash(`${mailboxId}:${channel}:${code}`, 'contact-code', context.keys);
}

export function normalisePhone(input: string): string {
  const phone = input.replace(/[\s().-]/g, '');
  if (!e164.test(phone)) {
    throw new KuvertError(
      'validation_failed',
      'phone must be in international form with country code, such as +4791234567.',
    );
  }
  return phone;
}

/** Codes sent per mailbox and channel in a window. */
export const codeSendLimit = { perWindow: 5, windowSeconds: 60 * 60 } as const;

/**
 * Send a code to a new address. The answer is the same whatever the address: an email
 * address that another mailbox already has gets a notice instead of a code, so the flow
 * never tells anyone that an address is in use (no enumeration).
 */
export async function requestContactCode(
  context: Context,
  options: { mailboxId: string; channel: ContactChannel; address: string },
): Promise<void> {
  const { db } = context;
  const details = await findContactDetails(db, options.mailboxId);
  if (!details) throw new KuvertError('unauthenticated');
  // Each code is an email or a text message to an address the person typed: a few an hour, so
  // nobody can use the form to flood someone else's inbox or phone (or run up SMS costs).
  const bucket = `contact-code:${options.mailboxId}:${options.channel}`;
  const { failures: sent } = await recentFailures(db, {
    bucket,
    windowSeconds: codeSendLimit.windowSeconds,
    excludeIds: [],
  });
  if (sent >= codeSendLimit.perWindow) {
    throw new KuvertError(
      'rate_limited',
      'Too many codes were sent in the last hour. Wait a while, then ask for a new one.',
    );
  }
  const address =
    options.channel === 'email'
      ? (normaliseEmail(options.address) ?? invalidEmail())
      : normalisePhone(options.address);
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  await db.transaction().execute(async (tx) => {
    await insertLoginAttemptsAndCount(tx, {
      buckets: [bucket],
      windowSeconds: codeSendLimit.windowSeconds,
    });
    await upsertContactVerification(tx, {
      mailboxId: options.mailboxId,
      channel: options.channel,
      address,
      codeHash: codeHash(context, options.mailboxId, options.channel, code),
      ttlSeconds: codeTtlSeconds,
    });
    if (options.channel === 'phone') await setUnverifiedPhone(tx, options.mailboxId, address);
    await appendAuditEvent(tx, context.keys, {
      actor: `mailbox:${options.mailboxId}`,
      action: 'contact.verification_sent',
      subject: options.mailboxId,
      details: { channel: options.channel },
    });
  });
  const language = details.language;
  if (options.channel === 'phone') {
    await context.sms.send({ to: address, text: codeTexts[language].sms(code) });
    return;
  }
  const taken = await emailTakenByAnother(db, options.mailboxId, address);
  const email = taken ? codeTexts[language].taken() : codeTexts[language].email(code);
  await context.mailer.send({ to: address, language, ...email });
}

function invalidEmail(): never {
  throw new KuvertError(
    'validation_failed',
    'email must be an email address such as name@example.no.',
  );
}

/** Check a code; one wrong or expired answer for every failure, at most five tries a code. */
export async function verifyContactCode(
  context: Context,
  options: { mailboxId: string; channel: ContactChannel; code: string },
): Promise<void> {
  const { db } = context;
  const wrong = new KuvertError(
    'validation_failed',
    'The code is wrong or has expired. Ask for a new code and try again.',
  );
  const row = await countContactAttempt(db, options.mailboxId, options.channel);
  if (!row || row.attempts > maxCodeAttempts) throw wrong;
  const typed = options.code.replace(/\s+/g, '');
  const expected = codeHash(
    context,
    options.mailboxId,
    options.channel,
    /^[0-9]{6}$/.test(typed) ? typed : '-',
  );
  if (!timingSafeEqual(expected, row.code_hash)) throw wrong;
  try {
    await db.transaction().execute(async (tx) => {
      if (options.channel === 'email') await setVerifiedEmail(tx, options.mailboxId, row.address);
      else await markPhoneVerified(tx, options.mailboxId, row.address);
      await deleteContactVerification(tx, options.mailboxId, options.channel);
      await appendAuditEvent(tx, context.keys, {
        actor: `mailbox:${options.mailboxId}`,
        action: 'contact.verified',
        subject: options.mailboxId,
        details: { channel: options.channel },
      });
    });
  } catch (error) {
    // Another mailbox took the address meanwhile (unique index): the same answer as a wrong code.
    if ((error as { code?: string }).code === '23505') throw wrong;
    throw error;
  }
}

export async function describeContact(context: Context, mailboxId: string) {
  const details = await findContactDetails(context.db, mailboxId);
  if (!details) throw new KuvertError('unauthenticated');
  const pending = await pendingContactAddresses(context.db, mailboxId);
  return {
    language: details.language,
    email: details.email,
    phone: details.phone,
    phoneVerified: details.phone_verified_at !== null,
    pendingEmail: pending.find((row) => row.channel === 'email')?.address ?? null,
    pendingPhone: pending.find((row) => row.channel === 'phone')?.address ?? null,
  };
}

const codeTexts: Record<
  Language,
  {
    email(code: string): { subject: string; text: string; html: string };
    taken(): { subject: string; text: string; html: string };
    sms(code: string): string;
  }
> = {
  nb: {
    email: (code) => ({
      subject: 'Kode for å bekrefte e-postadressen din',
      text: `Koden din er ${code}. Skriv den inn i Kuvert for å bekrefte at dette er din e-postadresse. Koden gjelder i 15 minutter. Har du ikke bedt om den, kan du se bort fra denne e-posten.`,
      html: `<p>Koden din er <strong>${code}</strong>.</p><p>Skriv den inn i Kuvert for å bekrefte at dette er din e-postadresse. Koden gjelder i 15 minutter. Har du ikke bedt om den, kan du se bort fra denne e-posten.</p>`,
    }),
    taken: () => ({
      subject: 'Noen prøvde å legge til e-postadressen din i Kuvert',
      text: 'Noen prøvde å legge til denne e-postadressen i en postkasse i Kuvert, men den er allerede knyttet til en postkasse. Var det ikke deg, trenger du ikke gjøre noe.',
      html: '<p>Noen prøvde å legge til denne e-postadressen i en postkasse i Kuvert, men den er allerede knyttet til en postkasse. Var det ikke deg, trenger du ikke gjøre noe.</p>',
    }),
    sms: (code) => `Kuvert: koden din er ${code}. Den gjelder i 15 minutter.`,
  },
  nn: {
    email: (code) => ({
      subject: 'Kode for å stadfeste e-postadressa di',
      text: `Koden din er ${code}. Skriv han inn i Kuvert for å stadfeste at dette er e-postadressa di. Koden gjeld i 15 minutt. Har du ikkje bede om han, kan du sjå bort frå denne e-posten.`,
      html: `<p>Koden din er <strong>${code}</strong>.</p><p>Skriv han inn i Kuvert for å stadfeste at dette er e-postadressa di. Koden gjeld i 15 minutt. Har du ikkje bede om han, kan du sjå bort frå denne e-posten.</p>`,
    }),
    taken: () => ({
      subject: 'Nokon prøvde å leggje til e-postadressa di i Kuvert',
      text: 'Nokon prøvde å leggje til denne e-postadressa i ein postkasse i Kuvert, men ho er alt knytt til ein postkasse. Var det ikkje deg, treng du ikkje gjere noko.',
      html: '<p>Nokon prøvde å leggje til denne e-postadressa i ein postkasse i Kuvert, men ho er alt knytt til ein postkasse. Var det ikkje deg, treng du ikkje gjere noko.</p>',
    }),
    sms: (code) => `Kuvert: koden din er ${code}. Han gjeld i 15 minutt.`,
  },
  en: {
    email: (code) => ({
      subject: 'Your code to confirm your email address',
      text: `Your code is ${code}. Enter it in Kuvert to confirm that this address is yours. It is valid for 15 minutes. If you did not ask for it, you can ignore this email.`,
      html: `<p>Your code is <strong>${code}</strong>.</p><p>Enter it in Kuvert to confirm that this address is yours. It is valid for 15 minutes. If you did not ask for it, you can ignore this email.</p>`,
    }),
    taken: () => ({
      subject: 'Someone tried to add your email address to Kuvert',
      text: 'Someone tried to add this email address to a mailbox in Kuvert, but it already belongs to a mailbox. If it was not you, there is nothing you need to do.',
      html: '<p>Someone tried to add this email address to a mailbox in Kuvert, but it already belongs to a mailbox. If it was not you, there is nothing you need to do.</p>',
    }),
    sms: (code) => `Kuvert: your code is ${code}. It is valid for 15 minutes.`,
  },
};
