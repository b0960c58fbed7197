import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert, testPublicUrl } from '../../../test/support/app.js';
import { buildRecipient, loginAs, type TestSession } from '../../../test/support/factories.js';
import {
  assertPasskey,
  createPasskey,
  registerTestPasskey,
  type SoftwarePasskey,
  testRelyingParty,
} from '../../../test/support/webauthn.js';
import { verifyAuditLog } from '../../audit/verify.js';
import { sessionIdOf } from '../sessions.js';
import { liveLoginChallengesPerClient } from './service.js';

/**
 * Passkeys: the WebAuthn Level 3 ceremonies (§7.1 registration, §7.2 authentication) against
 * a software authenticator built with node:crypto.
 */
let kuvert: TestKuvert;
beforeAll(async () => {
  kuvert = await startTestKuvert();
});
afterAll(() => kuvert?.close());

function asRecipient(
  method: 'GET' | 'POST' | 'DELETE',
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

async function registrationOptions(session: TestSession) {
  const response = await asRecipient('POST', '/api/me/passkeys/registration-options', session);
  expect(response.statusCode).toBe(200);
  return response.json<{
    challenge: string;
    rp: { id: string };
    user: { id: string };
    authenticatorSelection: { userVerification: string; residentKey: string };
    excludeCredentials: Array<{ id: string }>;
  }>();
}

async function loginOptions() {
  const response = await kuvert.app.inject({
    method: 'POST',
    url: '/api/session/passkey-options',
    headers: { origin: testPublicUrl },
  });
  expect(response.statusCode).toBe(200);
  return response.json<{
    challenge: string;
    rpId: string;
    userVerification: string;
    allowCredentials?: unknown[];
  }>();
}

function passkeyLogin(credential: Record<string, unknown>) {
  return kuvert.app.inject({
    method: 'POST',
    url: '/api/session/passkey',
    headers: { origin: testPublicUrl },
    payload: { credential },
  });
}

describe('passkey registration (WebAuthn §7.1)', () => {
  it('registers a passkey from a session, with user verification required', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const session = await loginAs(kuvert.app, recipient);
    const options = await registrationOptions(session);
    expect(options.rp.id).toBe('kuvert.test');
    expect(options.authenticatorSelection).toMatchObject({
      userVerification: 'required',
      residentKey: 'preferred',
    });
    const { response } = createPasskey(options, testRelyingParty);
    const registered = await asRecipient('POST', '/api/me/passkeys', session, {
      credential: response,
      name: 'Laptop',
    });
    expect(registered.statusCode).toBe(201);
    expect(registered.json()).toMatchObject({
      name: 'Laptop',
      backedUp: true,
      deviceType: 'multiDevice',
    });

    const listed = await asRecipient('GET', '/api/me/login-methods', session);
    expect(listed.json().passkeys.map((p: { name: string }) => p.name)).toEqual(['Laptop']);
    // The next registration tells the browser not to register the same authenticator again.
    const next = await registrationOptions(session);
    expect(next.excludeCredentials.map((c) => c.id)).toEqual([response.id]);

    const audit = await kuvert.context.db
      .selectFrom('audit_log')
      .select(['action'])
      .where('subject', '=', recipient.mailboxId)
      .where('action', '=', 'passkey.registered')
      .execute();
    expect(audit).toHaveLength(1);
  });

  const refusals: Array<
    [string, (options: { challenge: string; user: { id: string } }) => Record<string, unknown>]
  > = [
    [
      'another origin',
      (o) => createPasskey(o, { ...testRelyingParty, origin: 'https://kuvert.evil' }).response,
    ],
    ['another RP ID', (o) => createPasskey(o, { ...testRelyingParty, rpId: 'evil.test' }).response],
    [
      'no user verification',
      (o) => createPasskey(o, { ...testRelyingParty, withoutUserVerification: true }).response,
    ],
    [
      'a challenge the server never made',
      (o) => createPasskey({ ...o, challenge: 'bm90LWEtY2hhbGxlbmdl' }, testRelyingParty).response,
    ],
  ];
  for (const [name, make] of refusals) {
    it(`refuses ${name} with the one generic 400`, async () => {
      const recipient = await buildRecipient(kuvert.context);
      const session = await loginAs(kuvert.app, recipient);
      const options = await registrationOptions(session);
      const response = await asRecipient('POST', '/api/me/passkeys', session, {
        credential: make(options),
      });
      expect(response.statusCode).toBe(400);
      const body = response.json();
      expect(body.code).toBe('passkey_failed');
      expect(body.detail).toBeUndefined();
    });
  }

  it('a registration challenge works once, and only for the mailbox that asked for it', async () => {
    const owner = await loginAs(kuvert.app, await buildRecipient(kuvert.context));
    const other = await loginAs(kuvert.app, await buildRecipient(kuvert.context));
    const options = await registrationOptions(owner);
    const stolen = createPasskey(options, testRelyingParty).response;
    expect(
      (await asRecipient('POST', '/api/me/passkeys', other, { credential: stolen })).statusCode,
    ).toBe(400);
    // Refused for the other mailbox without being spent: the owner can still finish.
    const own = createPasskey(options, testRelyingParty).response;
    expect(
      (await asRecipient('POST', '/api/me/passkeys', owner, { credential: own })).statusCode,
    ).toBe(201);
    const replay = createPasskey(options, testRelyingParty).response;
    expect(
      (await asRecipient('POST', '/api/me/passkeys', owner, { credential: replay })).statusCode,
    ).toBe(400);
  });
});

describe('passwordless login with a passkey (WebAuthn §7.2, discoverable credentials)', () => {
  let passkey: SoftwarePasskey;
  let passkeyId: string;
  let mailboxId: string;
  let session: TestSession;
  beforeAll(async () => {
    const recipient = await buildRecipient(kuvert.context);
    mailboxId = recipient.mailboxId;
    session = await loginAs(kuvert.app, recipient);
    ({ passkey, id: passkeyId } = await registerTestPasskey(kuvert.app, session));
  });

  it('logs in without a national identity number, at the two-factor level', async () => {
    const options = await loginOptions();
    expect(options.userVerification).toBe('required');
    expect(options.allowCredentials ?? []).toEqual([]);
    const response = await passkeyLogin(assertPasskey(passkey, options, testRelyingParty));
    expect(response.statusCode).toBe(200);
    expect(response.json().mailbox.id).toBe(mailboxId);
    const cookie = String(response.headers['set-cookie']).split(';')[0]!;
    const token = cookie.split('=')[1]!;
    const row = await kuvert.context.db
      .selectFrom('sessions')
      .select(['auth_level', 'mailbox_id'])
      .where('id', '=', sessionIdOf(token))
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ auth_level: 'two-factor', mailbox_id: mailboxId });
    const stored = await kuvert.context.db
      .selectFrom('passkeys')
      .select(['counter', 'last_used_at'])
      .where('id', '=', passkeyId)
      .executeTakeFirstOrThrow();
    expect(Number(stored.counter)).toBe(passkey.counter);
    expect(stored.last_used_at).not.toBeNull();
    const audit = await kuvert.context.db
      .selectFrom('audit_log')
      .select(['details'])
      .where('subject', '=', mailboxId)
      .where('action', '=', 'login.succeeded')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    expect(audit.details).toMatchObject({ method: 'passkey', passkeyId });
  });

  it('every refusal is the same 401, whatever was wrong; the reason is in the audit log', async () => {
    const bodies: string[] = [];
    const refuse = async (credential: Record<string, unknown>) => {
      const response = await passkeyLogin(credential);
      expect(response.statusCode).toBe(401);
      const { instance: _instance, requestId: _requestId, ...body } = response.json();
      bodies.push(JSON.stringify(body));
    };

    // A replayed assertion: its challenge was used.
    const options = await loginOptions();
    const assertion = assertPasskey(passkey, options, testRelyingParty);
    expect((await passkeyLogin(assertion)).statusCode).toBe(200);
    await refuse(assertion);
    // A challenge the server never made.
    await refuse(assertPasskey(passkey, { challenge: 'bmV2ZXItbWFkZQ' }, testRelyingParty));
    // Another origin, and no user verification.
    await refuse(
      assertPasskey(passkey, await loginOptions(), {
        ...testRelyingParty,
        origin: 'https://kuvert.evil',
      }),
    );
    await refuse(
      assertPasskey(passkey, await loginOptions(), {
        ...testRelyingParty,
        withoutUserVerification: true,
      }),
    );
    // A signature counter that went backwards: a cloned authenticator (§6.1.1).
    await refuse(assertPasskey(passkey, await loginOptions(), { ...testRelyingParty, counter: 1 }));
    // A credential nobody registered.
    const stranger = createPasskey(
      { challenge: 'eA', user: { id: passkey.userHandle } },
      testRelyingParty,
    ).passkey;
    await refuse(assertPasskey(stranger, await loginOptions(), testRelyingParty));
    // A wrong signature.
    const forged = assertPasskey(passkey, await loginOptions(), testRelyingParty) as {
      response: { signature: string };
    };
    forged.response.signature = Buffer.from('not a signature').toString('base64url');
    await refuse(forged);

    expect(new Set(bodies).size, bodies.join('\n')).toBe(1);
    const reasons = await kuvert.context.db
      .selectFrom('audit_log')
      .select(['details'])
      .where('action', '=', 'login.failed')
      .execute();
    const passkeyReasons = reasons
      .map((row) => row.details)
      .filter((details) => details.method === 'passkey')
      .map((details) => String(details.reason));
    expect(passkeyReasons).toEqual(
      expect.arrayContaining([
        'challenge unknown, used or expired',
        'credential unknown',
        expect.stringMatching(/origin/i),
        expect.stringMatching(/verif/i),
        expect.stringMatching(/counter/i),
      ]),
    );
  });

  it('a removed passkey logs in no more; another mailbox’s passkey is not found', async () => {
    const stranger = await loginAs(kuvert.app, await buildRecipient(kuvert.context));
    const foreign = await asRecipient('DELETE', `/api/me/passkeys/${passkeyId}`, stranger);
    expect(foreign.statusCode).toBe(404);
    const removed = await asRecipient('DELETE', `/api/me/passkeys/${passkeyId}`, session);
    expect(removed.statusCode).toBe(204);
    expect((await asRecipient('DELETE', `/api/me/passkeys/${passkeyId}`, session)).statusCode).toBe(
      404,
    );
    const response = await passkeyLogin(
      assertPasskey(passkey, await loginOptions(), testRelyingParty),
    );
    expect(response.statusCode).toBe(401);
    const actions = await kuvert.context.db
      .selectFrom('audit_log')
      .select(['action'])
      .where('subject', '=', mailboxId)
      .where('action', '=', 'passkey.removed')
      .execute();
    expect(actions).toHaveLength(1);
  });

  it('one address cannot fill the table with login challenges', async () => {
    const ask = (remoteAddress: string) =>
      kuvert.app.inject({
        method: 'POST',
        url: '/api/session/passkey-options',
        headers: { origin: testPublicUrl },
        remoteAddress,
      });
    for (let i = 0; i < liveLoginChallengesPerClient; i++) {
      expect((await ask('203.0.113.7')).statusCode).toBe(200);
    }
    const refused = await ask('203.0.113.7');
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe('rate_limited');
    expect((await ask('203.0.113.8')).statusCode).toBe(200);
  });

  it('a foreign page cannot start or finish a passkey login (login CSRF)', async () => {
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/session/passkey-options',
      headers: { origin: 'https://kuvert.evil' },
    });
    expect(response.statusCode).toBe(403);
  });

  it('the audit chain stays intact', async () => {
    expect((await verifyAuditLog(kuvert.context)).problems).toEqual([]);
  });
});
