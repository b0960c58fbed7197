import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert, testPublicUrl } from '../../../test/support/app.js';
import {
  buildRecipient,
  currentTotp,
  freshTotp,
  loginAs,
  type TestRecipient,
  type TestSession,
} from '../../../test/support/factories.js';
import { verifyAuditLog } from '../../audit/verify.js';
import type { AuthLevel } from '../levels.js';
import { sessionCookieNameFor, startSession } from '../sessions.js';
import { passphraseChangeLimits } from './passphrase.js';
import { normaliseRecoveryCode, recoveryCodeCount } from './recovery-codes.js';

let kuvert: TestKuvert;
beforeAll(async () => {
  kuvert = await startTestKuvert();
});
afterAll(() => kuvert?.close());

const strongPassphrase = 'velvet otter climbs the granite stairs';

function send(
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  session: TestSession,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return kuvert.app.inject({
    method,
    url,
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken, origin: testPublicUrl },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

/** A session of another level, made directly: the eID login belongs to another item. */
async function sessionAtLevel(mailboxId: string, authLevel: AuthLevel): Promise<TestSession> {
  const { token, session } = await startSession({
    db: kuvert.context.db,
    mailboxId,
    authLevel,
    userAgent: 'test',
  });
  return {
    cookie: `${sessionCookieNameFor(testPublicUrl)}=${token}`,
    csrfToken: session.csrfToken,
  };
}

function logIn(payload: Record<string, string>): Promise<LightMyRequestResponse> {
  return kuvert.app.inject({
    method: 'POST',
    url: '/api/session',
    headers: { origin: testPublicUrl },
    payload,
  });
}

async function auditActions(mailboxId: string): Promise<string[]> {
  const rows = await kuvert.context.db
    .selectFrom('audit_log')
    .select(['action'])
    .where('subject', '=', mailboxId)
    .orderBy('seq')
    .execute();
  return rows.map((row) => row.action);
}

describe('passphrase policy (NIST SP 800-63B §3.1.1.2: length, block list, estimate, no composition rules)', () => {
  let recipient: TestRecipient;
  let session: TestSession;
  beforeAll(async () => {
    recipient = await buildRecipient(kuvert.context);
    // An eID session needs no current passphrase, so one accepted candidate cannot spoil the rest.
    session = await sessionAtLevel(recipient.mailboxId, 'eid-substantial');
  });

  const refusals: Array<[string, string, string]> = [
    ['too short (11 characters)', 'blue whale!', 'too_short'],
    ['a common password from the zxcvbn-ts list', 'password1234', 'common'],
    ['a common password, spaces and case aside', 'Pass Word 1234', 'common'],
    ['a Norwegian one on our own list', 'passord123456', 'common'],
    ['one character repeated', 'aaaaaaaaaaaaaaaa', 'common'],
    ['guessable by the estimate (keyboard walk and year)', 'qwertyuiop2024', 'guessable'],
    ['guessable by the estimate (Norwegian words and a year)', 'sommerhytta2023', 'guessable'],
    ['guessable by the estimate (a club and its year)', 'Rosenborg1967!', 'guessable'],
  ];
  for (const [name, candidate, problem] of refusals) {
    it(`refuses ${name} with a clear 422`, async () => {
      const response = await send('PUT', '/api/me/passphrase', session, { passphrase: candidate });
      expect(response.statusCode).toBe(422);
      const body = response.json();
      expect(body.code).toBe('validation_failed');
      expect(body.passphraseProblem).toBe(problem);
      expect(body.detail).toMatch(/passphrase/i);
    });
  }

  it('refuses a passphrase that contains the person’s own national identity number', async () => {
    const response = await send('PUT', '/api/me/passphrase', session, {
      passphrase: `my number is ${recipient.nationalId}`,
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().passphraseProblem).toBe('personal');
  });

  it('accepts a few random words, without digits, capitals or symbols', async () => {
    const response = await send('PUT', '/api/me/passphrase', session, {
      passphrase: 'blåbær fløyte regnvær sykkel',
    });
    expect(response.statusCode).toBe(200);
  });
});

describe('the estimate in the browser uses the same Norwegian words', () => {
  it('the web app’s copy of the word list is the server’s', () => {
    const read = (file: string) =>
      readFileSync(path.resolve(import.meta.dirname, '../../../../..', file), 'utf8');
    expect(read('packages/web/src/components/settings/norwegian-words.json')).toBe(
      read('packages/server/src/mailboxes/norwegian-words.json'),
    );
  });
});

describe('setting and changing the passphrase', () => {
  it('the first passphrase (a mailbox without one) needs an eID session', async () => {
    const recipient = await buildRecipient(kuvert.context);
    // As the eID registration leaves a mailbox: no passphrase yet.
    await kuvert.context.db
      .updateTable('mailboxes')
      .set({ password_hash: null })
      .where('id', '=', recipient.mailboxId)
      .execute();

    const twoFactor = await sessionAtLevel(recipient.mailboxId, 'two-factor');
    const refused = await send('PUT', '/api/me/passphrase', twoFactor, {
      passphrase: strongPassphrase,
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().detail).toMatch(/eID/);

    const eid = await sessionAtLevel(recipient.mailboxId, 'eid-substantial');
    const methods = await send('GET', '/api/me/login-methods', eid);
    expect(methods.json()).toMatchObject({
      passphrase: { set: false },
      canSetPassphraseWithoutCurrent: true,
    });
    const set = await send('PUT', '/api/me/passphrase', eid, { passphrase: strongPassphrase });
    expect(set.statusCode).toBe(200);

    const login = await logIn({
      nationalId: recipient.nationalId,
      password: strongPassphrase,
      totp: await freshTotp(recipient),
    });
    expect(login.statusCode).toBe(200);
    expect(await auditActions(recipient.mailboxId)).toContain('passphrase.set');
  });

  it('a mailbox without a passphrase cannot log in with one: the same 401 as a wrong one', async () => {
    const recipient = await buildRecipient(kuvert.context);
    await kuvert.context.db
      .updateTable('mailboxes')
      .set({ password_hash: null })
      .where('id', '=', recipient.mailboxId)
      .execute();
    const response = await logIn({
      nationalId: recipient.nationalId,
      password: recipient.password,
      totp: await freshTotp(recipient),
    });
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('login_failed');
  });

  it('a change needs the current passphrase; it ends the other sessions', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const session = await loginAs(kuvert.app, recipient);
    const other = await sessionAtLevel(recipient.mailboxId, 'two-factor');

    const missing = await send('PUT', '/api/me/passphrase', session, {
      passphrase: strongPassphrase,
    });
    expect(missing.statusCode).toBe(403);
    const wrong = await send('PUT', '/api/me/passphrase', session, {
      current: 'not the passphrase at all',
      passphrase: strongPassphrase,
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().detail).toBe('The current passphrase is not right.');

    const changed = await send('PUT', '/api/me/passphrase', session, {
      current: recipient.password,
      passphrase: strongPassphrase,
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toEqual({ otherSessionsEnded: 1 });
    expect((await send('GET', '/api/session', other)).statusCode).toBe(401);
    expect((await send('GET', '/api/session', session)).statusCode).toBe(200);

    // The TOTP code does not matter here: the passphrase is checked first.
    const oldOne = await logIn({
      nationalId: recipient.nationalId,
      password: recipient.password,
      totp: '000000',
    });
    expect(oldOne.statusCode).toBe(401);
    const newOne = await logIn({
      nationalId: recipient.nationalId,
      password: strongPassphrase,
      totp: await freshTotp(recipient),
    });
    expect(newOne.statusCode).toBe(200);
    const actions = await auditActions(recipient.mailboxId);
    expect(actions.filter((action) => action === 'passphrase.change_refused')).toHaveLength(2);
    expect(actions).toContain('passphrase.changed');
  });

  it('an eID session resets a forgotten passphrase without the current one', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const eid = await sessionAtLevel(recipient.mailboxId, 'eid-high');
    const response = await send('PUT', '/api/me/passphrase', eid, { passphrase: strongPassphrase });
    expect(response.statusCode).toBe(200);
  });

  it('a session guessing the current passphrase is stopped after a few tries', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const session = await loginAs(kuvert.app, recipient);
    for (let i = 0; i < passphraseChangeLimits.failures; i++) {
      const wrong = await send('PUT', '/api/me/passphrase', session, {
        current: `wrong guess number ${i}`,
        passphrase: strongPassphrase,
      });
      expect(wrong.statusCode).toBe(403);
    }
    const limited = await send('PUT', '/api/me/passphrase', session, {
      current: recipient.password,
      passphrase: strongPassphrase,
    });
    expect(limited.statusCode).toBe(429);
  });
});

describe('TOTP enrolment (RFC 6238) and recovery codes', () => {
  it('a new secret is pending until a first code confirms it, then replaces the old one', async () => {
    const recipient = await buildRecipient(kuvert.context);
    await kuvert.context.db
      .deleteFrom('recovery_codes')
      .where('mailbox_id', '=', recipient.mailboxId)
      .execute();
    const session = await loginAs(kuvert.app, recipient);

    const started = await send('POST', '/api/me/totp', session);
    expect(started.statusCode).toBe(200);
    const enrolment = started.json<{ secret: string; otpauthUri: string; qrSvg: string }>();
    expect(enrolment.otpauthUri).toMatch(/^otpauth:\/\/totp\/Kuvert:.*secret=/);
    expect(enrolment.otpauthUri).toContain(enrolment.secret);
    expect(enrolment.qrSvg).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect((await send('GET', '/api/me/login-methods', session)).json().totp).toEqual({
      active: true,
      pending: true,
    });

    // Until confirmed, the old secret still logs in.
    const beforeConfirm = await logIn({
      nationalId: recipient.nationalId,
      password: recipient.password,
      totp: await freshTotp(recipient),
    });
    expect(beforeConfirm.statusCode).toBe(200);

    const wrong = await send('POST', '/api/me/totp/confirm', session, { code: '000000' });
    expect(wrong.statusCode).toBe(422);
    const now = Date.now();
    const confirmingCode = currentTotp(enrolment.secret, now);
    const confirmed = await send('POST', '/api/me/totp/confirm', session, { code: confirmingCode });
    expect(confirmed.statusCode).toBe(200);
    const codes = confirmed.json<{ recoveryCodes: string[] }>().recoveryCodes;
    expect(codes).toHaveLength(recoveryCodeCount);
    expect(new Set(codes).size).toBe(recoveryCodeCount);

    // The old secret no longer works; the confirming code cannot be used again to log in.
    const oldSecret = await logIn({
      nationalId: recipient.nationalId,
      password: recipient.password,
      totp: currentTotp(recipient.totpSecret, now + 30_000),
    });
    expect(oldSecret.statusCode).toBe(401);
    const replayed = await logIn({
      nationalId: recipient.nationalId,
      password: recipient.password,
      totp: confirmingCode,
    });
    expect(replayed.statusCode).toBe(401);
    const newSecret = await logIn({
      nationalId: recipient.nationalId,
      password: recipient.password,
      totp: currentTotp(enrolment.secret, now + 30_000),
    });
    expect(newSecret.statusCode).toBe(200);

    // A second confirmation has nothing to confirm.
    const again = await send('POST', '/api/me/totp/confirm', session, {
      code: currentTotp(enrolment.secret),
    });
    expect(again.statusCode).toBe(422);
    const actions = await auditActions(recipient.mailboxId);
    expect(actions).toEqual(
      expect.arrayContaining([
        'totp.enrolment_started',
        'totp.enabled',
        'recovery_codes.generated',
      ]),
    );
  });

  it('a recovery code logs in instead of the TOTP, once; each use is audited', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const session = await loginAs(kuvert.app, recipient);
    const generated = await send('POST', '/api/me/recovery-codes', session);
    expect(generated.statusCode).toBe(200);
    const [first, second] = generated.json<{ recoveryCodes: string[] }>().recoveryCodes;

    const stored = await kuvert.context.db
      .selectFrom('recovery_codes')
      .select(['code_hash'])
      .where('mailbox_id', '=', recipient.mailboxId)
      .execute();
    expect(stored).toHaveLength(recoveryCodeCount);
    // Stored as keyed hashes only.
    expect(
      stored.some((row) => row.code_hash.toString('utf8').includes(normaliseRecoveryCode(first!))),
    ).toBe(false);

    const login = { nationalId: recipient.nationalId, password: recipient.password };
    // Typed in capitals with a space instead of the dash: the same code.
    const typed = first!.toUpperCase().replace('-', ' ');
    expect((await logIn({ ...login, recoveryCode: typed })).statusCode).toBe(200);
    const reused = await logIn({ ...login, recoveryCode: first! });
    expect(reused.statusCode).toBe(401);
    expect(reused.json().code).toBe('login_failed');
    // A wrong passphrase does not spend a code.
    expect(
      (await logIn({ ...login, password: 'wrong passphrase entirely', recoveryCode: second! }))
        .statusCode,
    ).toBe(401);
    expect((await logIn({ ...login, recoveryCode: second! })).statusCode).toBe(200);

    const uses = await kuvert.context.db
      .selectFrom('audit_log')
      .select(['details'])
      .where('subject', '=', recipient.mailboxId)
      .where('action', '=', 'recovery_code.used')
      .orderBy('seq')
      .execute();
    expect(uses.map((row) => row.details.remaining)).toEqual([9, 8]);
    expect((await send('GET', '/api/me/login-methods', session)).json().recoveryCodes).toEqual({
      unused: 8,
    });
  });

  it('a new set of recovery codes makes the old set useless', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const session = await loginAs(kuvert.app, recipient);
    const oldSet = (await send('POST', '/api/me/recovery-codes', session)).json().recoveryCodes;
    const newSet = (await send('POST', '/api/me/recovery-codes', session)).json().recoveryCodes;
    const login = { nationalId: recipient.nationalId, password: recipient.password };
    expect((await logIn({ ...login, recoveryCode: oldSet[0] })).statusCode).toBe(401);
    expect((await logIn({ ...login, recoveryCode: newSet[0] })).statusCode).toBe(200);
  });

  it('a login sends either the TOTP or a recovery code, not both and not neither', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const login = { nationalId: recipient.nationalId, password: recipient.password };
    const both = await logIn({ ...login, totp: '123456', recoveryCode: 'abcde-fghjk' });
    expect(both.statusCode).toBe(422);
    const neither = await logIn(login);
    expect(neither.statusCode).toBe(422);
  });

  it('the audit chain stays intact', async () => {
    expect((await verifyAuditLog(kuvert.context)).problems).toEqual([]);
  });
});
