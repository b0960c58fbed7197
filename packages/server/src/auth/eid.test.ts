import { testPersons } from '@kuvert/eid-simulator/persons';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert, testPublicUrl } from '../../test/support/app.js';
import { EidBrowser, startTestEid, type TestEid } from '../../test/support/eid.js';
import {
  buildRecipient,
  buildSender,
  loginAs,
  sendLetter,
  type TestSender,
} from '../../test/support/factories.js';
import { generateSyntheticNationalId, parseNationalId } from '../mailboxes/national-id.js';
import { codeSendLimit } from '../registration/service.js';
import { sessionCookieNameFor, sessionIdOf } from './sessions.js';

/**
 * eID login through the simulator over real HTTP: the callback's
 * refusals, registration, and assurance levels with step-up.
 */
let kuvert: TestKuvert;
let eid: TestEid;
let sender: TestSender;

const substantial = 'idporten-loa-substantial';
const high = 'idporten-loa-high';
const refused = /^\/login\/eid-refused\?ref=[0-9a-f-]{36}$/;

beforeAll(async () => {
  eid = await startTestEid();
  kuvert = await startTestKuvert(eid.env);
  sender = await buildSender(kuvert.context);
});
afterAll(async () => {
  await kuvert?.close();
  await eid?.simulator.close();
});

function browser() {
  return new EidBrowser(kuvert.app, eid.simulator);
}

async function sessionLevel(cookie: string) {
  const token = cookie.split('=')[1]!;
  const row = await kuvert.context.db
    .selectFrom('sessions')
    .select(['auth_level', 'revoked_at', 'mailbox_id'])
    .where('id', '=', sessionIdOf(token))
    .executeTakeFirstOrThrow();
  return row;
}

async function lastFailure() {
  return kuvert.context.db
    .selectFrom('audit_log')
    .select(['action', 'details'])
    .where('action', '=', 'login.failed')
    .orderBy('seq', 'desc')
    .executeTakeFirstOrThrow();
}

describe('the simulator', () => {
  it('offers only synthetic numbers that Kuvert accepts outside production and refuses in production', () => {
    for (const person of testPersons) {
      expect(parseNationalId(person.pid, { acceptSynthetic: true }).ok).toBe(true);
      expect(parseNationalId(person.pid, { acceptSynthetic: false }).ok).toBe(false);
    }
  });
});

describe('eID login', () => {
  it.each([
    ['eid-substantial', substantial],
    ['eid-high', high],
  ])('logs in an existing mailbox at %s with a new session id', async (level, acr) => {
    const recipient = await buildRecipient(kuvert.context);
    const before = await loginAs(kuvert.app, recipient);
    const b = browser();
    b.kuvertCookies.set(sessionCookieNameFor(testPublicUrl), before.cookie.split('=')[1]!);
    const callback = await b.authorize('/api/eid/login?returnTo=%2Fletters', {
      pid: recipient.nationalId,
      acr,
    });
    expect(new URL(callback).searchParams.get('iss')).toBe(eid.simulator.issuer);
    const landed = await b.callback(callback);
    expect(landed).toEqual({ status: 303, location: '/login/eid-done?returnTo=%2Fletters' });
    const cookie = b.sessionCookie()!;
    expect(cookie).not.toBe(before.cookie);
    expect(await sessionLevel(cookie)).toMatchObject({
      auth_level: level,
      revoked_at: null,
      mailbox_id: recipient.mailboxId,
    });
    // The session the browser had before is gone (no fixation).
    expect((await sessionLevel(before.cookie)).revoked_at).not.toBeNull();
    const session = await kuvert.app.inject({ url: '/api/session', headers: { cookie } });
    expect(session.statusCode).toBe(200);
  });

  it('asks the provider with PKCE S256, state, nonce, prompt=login and acr_values', async () => {
    const started = await browser().kuvert('/api/eid/login?level=eid-high');
    const url = new URL(started.location);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toBeTruthy();
    expect(url.searchParams.get('nonce')).toBeTruthy();
    expect(url.searchParams.get('acr_values')).toBe(high);
    expect(url.searchParams.get('redirect_uri')).toBe(`${testPublicUrl}/api/eid/callback`);
  });

  it('sets the login cookie HttpOnly, Secure, SameSite=Lax and short-lived', async () => {
    const response = await kuvert.app.inject({ url: '/api/eid/login' });
    const cookie = String(response.headers['set-cookie']);
    expect(cookie).toMatch(/^kuvert_eid=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Max-Age=600/);
  });
});

describe('the callback refuses, with one answer for every reason', () => {
  async function expectRefused(b: EidBrowser, url: string, reason: RegExp) {
    const landed = await b.callback(url);
    expect(landed.status).toBe(303);
    expect(landed.location).toMatch(refused);
    expect(b.sessionCookie()).toBeUndefined();
    const failure = await lastFailure();
    expect(failure.details).toMatchObject({ method: 'eid' });
    expect(String(failure.details.reason)).toMatch(reason);
  }

  it('a replayed callback (the code used twice)', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const b = browser();
    const callback = await b.authorize('/api/eid/login', {
      pid: recipient.nationalId,
      acr: substantial,
    });
    const loginCookie = b.kuvertCookies.get('kuvert_eid')!;
    expect((await b.callback(callback)).location).toMatch(/^\/login\/eid-done/);
    b.kuvertCookies.clear();
    b.kuvertCookies.set('kuvert_eid', loginCookie);
    await expectRefused(b, callback, /no live login/);
  });

  it('a callback in a browser that did not start the login (no login cookie)', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const callback = await browser().authorize('/api/eid/login', {
      pid: recipient.nationalId,
      acr: substantial,
    });
    await expectRefused(browser(), callback, /no login cookie/);
  });

  it('a state that is not the one this browser started', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const b = browser();
    const callback = new URL(
      await b.authorize('/api/eid/login', { pid: recipient.nationalId, acr: substantial }),
    );
    callback.searchParams.set('state', 'forged-state-value');
    await expectRefused(b, callback.href, /state/);
  });

  it('a wrong nonce in the ID token', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const b = browser();
    const callback = await b.authorize('/api/eid/login', {
      pid: recipient.nationalId,
      acr: substantial,
    });
    await kuvert.context.db.updateTable('eid_logins').set({ nonce: 'another-nonce' }).execute();
    await expectRefused(b, callback, /nonce/);
  });

  it('an answer from another issuer (RFC 9207 iss)', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const b = browser();
    const callback = new URL(
      await b.authorize('/api/eid/login', { pid: recipient.nationalId, acr: substantial }),
    );
    callback.searchParams.set('iss', 'https://evil.example');
    await expectRefused(b, callback.href, /iss|invalid response/);
  });

  it('a lower level than was asked for', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const b = browser();
    const callback = await b.authorize('/api/eid/login?level=eid-high', {
      pid: recipient.nationalId,
      acr: substantial,
    });
    await expectRefused(b, callback, /below the requested eid-high/);
  });

  it('an error from the provider (the person cancelled)', async () => {
    const b = browser();
    const callback = await b.authorize('/api/eid/login', {
      pid: testPersons[0]!.pid,
      acr: substantial,
      cancel: true,
    });
    expect(new URL(callback).searchParams.get('error')).toBe('access_denied');
    await expectRefused(b, callback, /error=access_denied/);
  });
});

describe('registration', () => {
  async function registerNew(pid = generateSyntheticNationalId()) {
    const b = browser();
    const callback = await b.authorize('/api/eid/login', { pid, acr: substantial });
    expect(await b.callback(callback)).toEqual({ status: 303, location: '/register' });
    expect(b.sessionCookie()).toBeUndefined();
    return { b, pid };
  }

  it('opens the mailbox when the terms are accepted, once, with no passphrase', async () => {
    const { b, pid } = await registerNew();
    const cookie = `kuvert_registration=${b.kuvertCookies.get('kuvert_registration')}`;
    const pending = await kuvert.app.inject({ url: '/api/register', headers: { cookie } });
    expect(pending.statusCode).toBe(200);
    const { termsVersion } = pending.json<{ termsVersion: string }>();
    const accept = () =>
      kuvert.app.inject({
        method: 'POST',
        url: '/api/register',
        headers: { cookie, origin: testPublicUrl },
        payload: { acceptTerms: true, termsVersion, language: 'nn' },
      });
    const accepted = await accept();
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json()).toMatchObject({ mailbox: { language: 'nn' } });
    const mailbox = await kuvert.context.db
      .selectFrom('mailboxes')
      .select([
        'password_hash',
        'totp_secret_sealed',
        'terms_version',
        'terms_accepted_at',
        'email',
      ])
      .where('id', '=', accepted.json<{ mailbox: { id: string } }>().mailbox.id)
      .executeTakeFirstOrThrow();
    expect(mailbox).toMatchObject({
      password_hash: null,
      totp_secret_sealed: null,
      terms_version: termsVersion,
    });
    expect(mailbox.terms_accepted_at).toBeInstanceOf(Date);
    // The registration is used once.
    expect((await accept()).statusCode).toBe(401);
    // The next eID login of the same person logs in.
    const again = browser();
    const callback = await again.authorize('/api/eid/login', { pid, acr: substantial });
    expect((await again.callback(callback)).location).toMatch(/^\/login\/eid-done/);
  });

  it('refuses without the terms accepted, and without a pending registration', async () => {
    const { b } = await registerNew();
    const cookie = `kuvert_registration=${b.kuvertCookies.get('kuvert_registration')}`;
    const notAccepted = await kuvert.app.inject({
      method: 'POST',
      url: '/api/register',
      headers: { cookie, origin: testPublicUrl },
      payload: { acceptTerms: false, termsVersion: 'x', language: 'nb' },
    });
    expect(notAccepted.statusCode).toBe(422);
    const none = await kuvert.app.inject({ url: '/api/register' });
    expect(none.statusCode).toBe(401);
  });

  it('uses an email address only after its code comes back, and never says whose it is', async () => {
    const { b } = await registerNew();
    const cookie = `kuvert_registration=${b.kuvertCookies.get('kuvert_registration')}`;
    const termsVersion = (
      await kuvert.app.inject({ url: '/api/register', headers: { cookie } })
    ).json<{
      termsVersion: string;
    }>().termsVersion;
    const accepted = await kuvert.app.inject({
      method: 'POST',
      url: '/api/register',
      headers: { cookie, origin: testPublicUrl },
      payload: { acceptTerms: true, termsVersion, language: 'en' },
    });
    const session = String(accepted.headers['set-cookie']).match(
      /(?:__Host-)?kuvert_session=[^;]+/,
    )![0];
    const csrf = accepted.json<{ csrfToken: string }>().csrfToken;
    const post = (url: string, payload: object) =>
      kuvert.app.inject({
        method: 'POST',
        url,
        headers: { cookie: session, 'x-csrf-token': csrf, origin: testPublicUrl },
        payload,
      });
    const address = `new-${Date.now()}@recipients.test`;
    expect((await post('/api/contact/email', { email: address })).statusCode).toBe(204);
    const contact = await kuvert.app.inject({ url: '/api/contact', headers: { cookie: session } });
    expect(contact.json()).toMatchObject({ email: null, pendingEmail: address });
    const mail = kuvert.context
      .mailSink!.messages()
      .find((message) => message.to.includes(address))!;
    const code = /\b([0-9]{6})\b/.exec(mail.text)![1]!;
    const wrong = code === '000000' ? '111111' : '000000';
    expect((await post('/api/contact/email/verify', { code: wrong })).statusCode).toBe(422);
    expect((await post('/api/contact/email/verify', { code })).statusCode).toBe(204);
    const after = await kuvert.app.inject({ url: '/api/contact', headers: { cookie: session } });
    expect(after.json()).toMatchObject({ email: address, pendingEmail: null });

    // Someone else's address: the same 204, and the owner of the address gets a notice, no code.
    const other = await buildRecipient(kuvert.context);
    expect((await post('/api/contact/email', { email: other.email })).statusCode).toBe(204);
    const notice = kuvert.context
      .mailSink!.messages()
      .filter((m) => m.to.includes(other.email))
      .at(-1)!;
    expect(notice.text).not.toMatch(/\b[0-9]{6}\b/);

    // A phone number: stored unverified, the code goes through the SMS sink.
    expect((await post('/api/contact/phone', { phone: '+47 912 34 567' })).statusCode).toBe(204);
    const unverified = await kuvert.app.inject({
      url: '/api/contact',
      headers: { cookie: session },
    });
    expect(unverified.json()).toMatchObject({ phone: '+4791234567', phoneVerified: false });
    const sms = kuvert.context.smsSink!.messages().at(-1)!;
    expect(sms.to).toBe('+4791234567');
    const smsCode = /\b([0-9]{6})\b/.exec(sms.text)![1]!;
    expect((await post('/api/contact/phone/verify', { code: smsCode })).statusCode).toBe(204);
    const verified = await kuvert.app.inject({ url: '/api/contact', headers: { cookie: session } });
    expect(verified.json()).toMatchObject({ phoneVerified: true });

    // A few codes an hour, then a clear 429: the form cannot flood someone's inbox.
    // One phone code was sent above; the rest of the hour's allowance, then the refusal.
    const flood = [];
    for (let i = 1; i < codeSendLimit.perWindow; i++) {
      flood.push((await post('/api/contact/phone', { phone: '+4791234567' })).statusCode);
    }
    expect(flood).toEqual(Array(codeSendLimit.perWindow - 1).fill(204));
    const refused = await post('/api/contact/phone', { phone: '+4791234567' });
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'rate_limited' });
  });
});

describe('assurance levels and step-up', () => {
  it('holds a letter that needs eid-high from a two-factor session, and lets eid-high read it', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const sent = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: recipient.nationalId },
      authLevel: 'eid-high',
    });
    expect(sent.statusCode).toBe(201);
    const letterId = sent.json<{ id: string }>().id;
    const documentId = (
      await kuvert.context.db
        .selectFrom('documents')
        .select('id')
        .where('letter_id', '=', letterId)
        .executeTakeFirstOrThrow()
    ).id;

    const low = await loginAs(kuvert.app, recipient);
    const letter = await kuvert.app.inject({
      url: `/api/letters/${letterId}`,
      headers: { cookie: low.cookie },
    });
    expect(letter.statusCode).toBe(403);
    expect(letter.json()).toMatchObject({ code: 'step_up_required', requiredLevel: 'eid-high' });
    const content = await kuvert.app.inject({
      url: `/api/letters/${letterId}/documents/${documentId}/content`,
      headers: { cookie: low.cookie },
    });
    expect(content.statusCode).toBe(403);
    expect(content.headers['content-type']).toMatch(/problem\+json/);
    const inbox = await kuvert.app.inject({ url: '/api/letters', headers: { cookie: low.cookie } });
    expect(inbox.json<{ letters: unknown[] }>().letters).toEqual([
      expect.objectContaining({
        id: letterId,
        authLevel: 'eid-high',
        stepUpRequired: true,
        documents: [],
      }),
    ]);

    // Step up from the same browser: a new session id at eid-high, the old one revoked.
    const b = browser();
    b.kuvertCookies.set(sessionCookieNameFor(testPublicUrl), low.cookie.split('=')[1]!);
    const callback = await b.authorize(
      `/api/eid/login?level=eid-high&stepUp=true&returnTo=${encodeURIComponent(`/letters/${letterId}`)}`,
      { pid: recipient.nationalId, acr: high },
    );
    expect(await b.callback(callback)).toEqual({
      status: 303,
      location: `/login/eid-done?returnTo=${encodeURIComponent(`/letters/${letterId}`)}`,
    });
    const stepped = b.sessionCookie()!;
    expect(stepped).not.toBe(low.cookie);
    expect((await sessionLevel(stepped)).auth_level).toBe('eid-high');
    expect((await sessionLevel(low.cookie)).revoked_at).not.toBeNull();
    const audit = await kuvert.context.db
      .selectFrom('audit_log')
      .select(['details'])
      .where('action', '=', 'session.stepped_up')
      .where('subject', '=', recipient.mailboxId)
      .executeTakeFirstOrThrow();
    expect(audit.details).toMatchObject({ from: 'two-factor', to: 'eid-high' });

    const opened = await kuvert.app.inject({
      url: `/api/letters/${letterId}`,
      headers: { cookie: stepped },
    });
    expect(opened.statusCode).toBe(200);
    const pdf = await kuvert.app.inject({
      url: `/api/letters/${letterId}/documents/${documentId}/content`,
      headers: { cookie: stepped },
    });
    expect(pdf.statusCode).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
  });

  it('answers 404 for another mailbox’s high letter exactly as for a missing id, whatever the level', async () => {
    const owner = await buildRecipient(kuvert.context);
    const stranger = await buildRecipient(kuvert.context);
    const sent = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: owner.nationalId },
      authLevel: 'eid-high',
    });
    const letterId = sent.json<{ id: string }>().id;
    const b = browser();
    const callback = await b.authorize('/api/eid/login?level=eid-high', {
      pid: stranger.nationalId,
      acr: high,
    });
    await b.callback(callback);
    const cookie = b.sessionCookie()!;
    const foreign = await kuvert.app.inject({
      url: `/api/letters/${letterId}`,
      headers: { cookie },
    });
    const missing = await kuvert.app.inject({
      url: '/api/letters/00000000-0000-4000-8000-000000000000',
      headers: { cookie },
    });
    expect(foreign.statusCode).toBe(404);
    const strip = (body: Record<string, unknown>) => ({
      ...body,
      instance: undefined,
      requestId: undefined,
    });
    expect(strip(foreign.json())).toEqual(strip(missing.json()));
    // And from a two-factor session: still 404, never 403 (which would say the letter exists).
    const low = await loginAs(kuvert.app, stranger);
    const lowForeign = await kuvert.app.inject({
      url: `/api/letters/${letterId}`,
      headers: { cookie: low.cookie },
    });
    expect(lowForeign.statusCode).toBe(404);
  });

  it('refuses a step-up by another person than the session owner', async () => {
    const owner = await buildRecipient(kuvert.context);
    const other = await buildRecipient(kuvert.context);
    const low = await loginAs(kuvert.app, owner);
    const b = browser();
    b.kuvertCookies.set(sessionCookieNameFor(testPublicUrl), low.cookie.split('=')[1]!);
    const callback = await b.authorize('/api/eid/login?level=eid-high&stepUp=true', {
      pid: other.nationalId,
      acr: high,
    });
    const landed = await b.callback(callback);
    expect(landed.location).toMatch(refused);
    expect((await sessionLevel(low.cookie)).auth_level).toBe('two-factor');
    expect(String((await lastFailure()).details.reason)).toMatch(/another person/);
  });
});
