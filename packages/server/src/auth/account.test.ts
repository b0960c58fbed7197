import { parseOptions } from '@node-rs/argon2';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestKuvert, type TestKuvert, testPublicUrl } from '../../test/support/app.js';
import {
  buildRecipient,
  buildSender,
  freshTotp,
  sendLetter,
  type TestRecipient,
} from '../../test/support/factories.js';
import { routeTable } from '../http/route-table.js';
import { generateSyntheticNationalId } from '../mailboxes/national-id.js';
import { passwordHashOptions } from '../mailboxes/service.js';
import { notifyLetterJob } from '../notifications/notify-letter.job.js';
import { deviceCookieNameFor, signDeviceCookie, verifyDeviceCookie } from './device-cookie.js';
import { coarseNetwork, describeDevice } from './devices.js';
import { delayAfterFailures, loginLimits } from './rate-limit.js';
import { passphraseVerifier } from './service.js';
import { sessionCookie, sessionCookieNameFor, startSession } from './sessions.js';

/**
 * From the outside: sessions listed and revoked at once, no
 * fixation, CSRF on /api/me, growing delays, no enumeration through login, and the owner
 * getting in while someone else hammers their number. Through the real app on real PostgreSQL.
 */

let kuvert: TestKuvert;
const sessionName = sessionCookieNameFor(testPublicUrl);
const deviceName = deviceCookieNameFor(testPublicUrl);
const firefoxOnWindows =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
const safariOnIphone =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

beforeAll(async () => {
  kuvert = await startTestKuvert();
});
afterAll(() => kuvert?.close());
afterEach(() => {
  vi.restoreAllMocks();
});

let ipCounter = 0;
/** A fresh client address per use, so one test's address bucket never touches another's. */
function nextIp(): string {
  ipCounter += 1;
  return `203.0.${113 + Math.floor(ipCounter / 250)}.${ipCounter % 250}`;
}

interface Browser {
  session?: string;
  device?: string;
  csrfToken?: string;
  ip: string;
  userAgent: string;
}

function newBrowser(userAgent = firefoxOnWindows): Browser {
  return { ip: nextIp(), userAgent };
}

function cookieHeader(browser: Browser): string | undefined {
  const cookies = [];
  if (browser.session) cookies.push(`${sessionName}=${browser.session}`);
  if (browser.device) cookies.push(`${deviceName}=${browser.device}`);
  return cookies.length > 0 ? cookies.join('; ') : undefined;
}

function setCookies(response: LightMyRequestResponse): Map<string, string> {
  const header = response.headers['set-cookie'];
  const list = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const cookies = new Map<string, string>();
  for (const line of list) {
    const [pair = ''] = line.split(';');
    const at = pair.indexOf('=');
    cookies.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return cookies;
}

async function attemptLogin(
  browser: Browser,
  body: { nationalId: string; password: string; totp: string },
): Promise<LightMyRequestResponse> {
  const cookie = cookieHeader(browser);
  const response = await kuvert.app.inject({
    method: 'POST',
    url: '/api/session',
    payload: body,
    remoteAddress: browser.ip,
    headers: {
      origin: testPublicUrl,
      'user-agent': browser.userAgent,
      ...(cookie ? { cookie } : {}),
    },
  });
  const cookies = setCookies(response);
  if (response.statusCode === 200) {
    browser.session = cookies.get(sessionName);
    browser.device = cookies.get(deviceName);
    browser.csrfToken = response.json<{ csrfToken: string }>().csrfToken;
  }
  return response;
}

async function logInWith(browser: Browser, recipient: TestRecipient): Promise<Browser> {
  const response = await attemptLogin(browser, {
    nationalId: recipient.nationalId,
    password: recipient.password,
    totp: await freshTotp(recipient),
  });
  expect(response.statusCode, response.body).toBe(200);
  return browser;
}

async function call(
  browser: Browser,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  options: { payload?: unknown; csrf?: boolean; origin?: string } = {},
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { 'user-agent': browser.userAgent };
  const cookie = cookieHeader(browser);
  if (cookie) headers.cookie = cookie;
  if (options.csrf !== false && method !== 'GET' && browser.csrfToken) {
    headers['x-csrf-token'] = browser.csrfToken;
  }
  if (options.origin) headers.origin = options.origin;
  return kuvert.app.inject({
    method,
    url,
    headers,
    remoteAddress: browser.ip,
    ...(options.payload !== undefined ? { payload: options.payload as object } : {}),
  });
}

/**
 * Another browser with a live session of the recipient, made directly: a third or fourth
 * password login would have to wait for a fresh TOTP step.
 */
async function otherSession(recipient: TestRecipient, userAgent: string): Promise<Browser> {
  const started = await startSession({
    db: kuvert.context.db,
    mailboxId: recipient.mailboxId,
    authLevel: 'two-factor',
    userAgent,
  });
  return { ...newBrowser(userAgent), session: started.token, csrfToken: started.session.csrfToken };
}

function wrongPassword(recipient: TestRecipient, attempt: number) {
  return { nationalId: recipient.nationalId, password: `guess number ${attempt}`, totp: '000000' };
}

/** Move every recorded attempt back in time, as if `seconds` had passed. */
async function letTimePass(seconds: number): Promise<void> {
  await sql`update login_attempts set at = at - make_interval(secs => ${seconds})`.execute(
    kuvert.context.db,
  );
}

/** The answer without what differs per request by design (its id, its date). */
function comparableAnswer(response: LightMyRequestResponse) {
  const { date: _date, 'x-request-id': _id, ...headers } = response.headers;
  const { requestId: _requestId, instance: _instance, ...body } = response.json();
  return { status: response.statusCode, headers, body };
}

// ---------------------------------------------------------------------------------------

describe('session cookie names', () => {
  it('uses __Host- on https and the bare name on http://localhost', () => {
    expect(sessionCookieNameFor('https://kuvert.example')).toBe('__Host-kuvert_session');
    expect(sessionCookieNameFor('http://localhost:3000')).toBe('kuvert_session');
    expect(sessionCookie('t'.repeat(43), 'http://localhost:3000')).toMatch(
      /^kuvert_session=t{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
    );
    expect(deviceCookieNameFor('https://kuvert.example')).toBe('__Host-kuvert_device');
  });

  it('ignores a bare kuvert_session cookie on https: a sibling subdomain could have set it', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const browser = await logInWith(newBrowser(), recipient);
    const response = await kuvert.app.inject({
      method: 'GET',
      url: '/api/session',
      headers: { cookie: `kuvert_session=${browser.session}` },
    });
    expect(response.statusCode).toBe(401);
  });
});

describe('sessions (GET/DELETE /api/me/sessions)', () => {
  it('lists live sessions with device and times, marking this device', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const laptop = await logInWith(newBrowser(firefoxOnWindows), recipient);
    const phone = await logInWith(newBrowser(safariOnIphone), recipient);
    const response = await call(laptop, 'GET', '/api/me/sessions');
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const { sessions } = response.json();
    expect(sessions).toHaveLength(2);
    expect(sessions[0]).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{64}$/),
      device: expect.any(Object),
      authLevel: 'two-factor',
      createdAt: expect.any(String),
      lastSeenAt: expect.any(String),
      expiresAt: expect.any(String),
      current: expect.any(Boolean),
    });
    const mine = sessions.find((session: { current: boolean }) => session.current);
    const other = sessions.find((session: { current: boolean }) => !session.current);
    expect(mine.device).toEqual({ browser: 'Firefox 133', os: 'Windows' });
    expect(other.device).toEqual({ browser: 'Safari 17', os: 'iOS' });
    // Seen from the phone, the phone's session is the current one.
    const fromPhone = (await call(phone, 'GET', '/api/me/sessions')).json().sessions;
    expect(fromPhone.find((session: { current: boolean }) => session.current).id).toBe(other.id);
  });

  it('revokes another session at once: its next request is 401, this one goes on', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const laptop = await logInWith(newBrowser(), recipient);
    const phone = await logInWith(newBrowser(safariOnIphone), recipient);
    expect((await call(phone, 'GET', '/api/letters')).statusCode).toBe(200);

    const { sessions } = (await call(laptop, 'GET', '/api/me/sessions')).json();
    const phoneSession = sessions.find((session: { current: boolean }) => !session.current);
    const revoked = await call(laptop, 'DELETE', `/api/me/sessions/${phoneSession.id}`);
    expect(revoked.statusCode).toBe(204);

    expect((await call(phone, 'GET', '/api/letters')).statusCode).toBe(401);
    expect((await call(phone, 'GET', '/api/session')).statusCode).toBe(401);
    expect((await call(laptop, 'GET', '/api/letters')).statusCode).toBe(200);
    const left = (await call(laptop, 'GET', '/api/me/sessions')).json().sessions;
    expect(left.map((session: { id: string }) => session.id)).not.toContain(phoneSession.id);

    // Revoking it again, or an id of another mailbox, or nonsense: the same 404.
    const stranger = await logInWith(newBrowser(), await buildRecipient(kuvert.context));
    const strangerId = (await call(stranger, 'GET', '/api/me/sessions')).json().sessions[0].id;
    const again = await call(laptop, 'DELETE', `/api/me/sessions/${phoneSession.id}`);
    const foreign = await call(laptop, 'DELETE', `/api/me/sessions/${strangerId}`);
    const missing = await call(laptop, 'DELETE', `/api/me/sessions/${'0'.repeat(64)}`);
    const malformed = await call(laptop, 'DELETE', '/api/me/sessions/not-a-session');
    for (const answer of [again, foreign, missing, malformed]) {
      expect(answer.statusCode).toBe(404);
      expect(comparableAnswer(answer).body).toEqual(comparableAnswer(missing).body);
    }
    expect((await call(stranger, 'GET', '/api/letters')).statusCode).toBe(200);

    const audit = await kuvert.context.db
      .selectFrom('audit_log')
      .select(['actor', 'details'])
      .where('action', '=', 'session.revoked')
      .where('subject', '=', recipient.mailboxId)
      .execute();
    expect(audit).toEqual([
      {
        actor: `mailbox:${recipient.mailboxId}`,
        details: { sessionId: phoneSession.id, by: expect.any(String), ip: laptop.ip },
      },
    ]);
  });

  it('logs out everywhere else at once, and everywhere with everywhere=true', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const laptop = await logInWith(newBrowser(), recipient);
    const phone = await logInWith(newBrowser(safariOnIphone), recipient);
    const tablet = await otherSession(recipient, safariOnIphone);

    const others = await call(laptop, 'DELETE', '/api/me/sessions');
    expect(others.statusCode).toBe(200);
    expect(others.json()).toEqual({ revoked: 2 });
    expect((await call(phone, 'GET', '/api/letters')).statusCode).toBe(401);
    expect((await call(tablet, 'GET', '/api/letters')).statusCode).toBe(401);
    expect((await call(laptop, 'GET', '/api/letters')).statusCode).toBe(200);

    const phoneAgain = await otherSession(recipient, safariOnIphone);
    const all = await call(laptop, 'DELETE', '/api/me/sessions?everywhere=true');
    expect(all.json()).toEqual({ revoked: 2 });
    expect(setCookies(all).get(sessionName)).toBe('');
    expect((await call(laptop, 'GET', '/api/letters')).statusCode).toBe(401);
    expect((await call(phoneAgain, 'GET', '/api/letters')).statusCode).toBe(401);
  });
});

describe('session fixation (OWASP: renew the session id at login)', () => {
  it('never adopts a session id the browser brought: login issues a new one', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const planted = 'A'.repeat(43);
    const browser = newBrowser();
    browser.session = planted;
    await logInWith(browser, recipient);
    expect(browser.session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(browser.session).not.toBe(planted);
    const withPlanted = await kuvert.app.inject({
      method: 'GET',
      url: '/api/session',
      headers: { cookie: `${sessionName}=${planted}` },
    });
    expect(withPlanted.statusCode).toBe(401);
  });

  it("revokes an attacker's own live session planted in the victim's browser", async () => {
    const attacker = await buildRecipient(kuvert.context);
    const victim = await buildRecipient(kuvert.context);
    const attackerBrowser = await logInWith(newBrowser(), attacker);
    const planted = attackerBrowser.session!;
    const victimBrowser = newBrowser();
    victimBrowser.session = planted;
    await logInWith(victimBrowser, victim);
    expect(victimBrowser.session).not.toBe(planted);
    expect((await call(attackerBrowser, 'GET', '/api/session')).statusCode).toBe(401);
    const session = (await call(victimBrowser, 'GET', '/api/session')).json();
    expect(session.mailbox.id).toBe(victim.mailboxId);
  });
});

describe('CSRF on /api/me (generated from the route table)', () => {
  it('refuses every state-changing /api/me route without the token, or from a foreign Origin', async () => {
    const routes = routeTable
      .routesOf(kuvert.app)
      .filter((route) => route.url.startsWith('/api/me') && route.method !== 'GET');
    expect(routes.length).toBeGreaterThanOrEqual(4);
    const recipient = await buildRecipient(kuvert.context);
    const browser = await logInWith(newBrowser(), recipient);
    const payload = { phrase: 'blue heron at dawn' };
    for (const route of routes) {
      const url = route.url.replace(':sessionId', '0'.repeat(64));
      const method = route.method as 'PUT' | 'DELETE';
      const withBody = method === 'PUT' ? { payload } : {};
      const noToken = await call(browser, method, url, { ...withBody, csrf: false });
      expect(noToken.statusCode, `${route.method} ${route.url} without token`).toBe(403);
      expect(noToken.json().code).toBe('csrf_failed');
      const foreign = await call(browser, method, url, {
        ...withBody,
        origin: 'https://evil.example',
      });
      expect(foreign.statusCode, `${route.method} ${route.url} from a foreign origin`).toBe(403);
      expect(foreign.json().code).toBe('csrf_failed');
    }
    // Nothing happened: the session is live and no phrase was set.
    expect((await call(browser, 'GET', '/api/me/anti-phishing')).json()).toEqual({ phrase: null });
    expect((await call(browser, 'GET', '/api/me/sessions')).json().sessions).toHaveLength(1);
  });
});

describe('growing delays', () => {
  it('doubles the wait after each failure beyond the free ones, up to the cap', () => {
    const waits = Array.from({ length: 12 }, (_, failures) =>
      delayAfterFailures('account', failures),
    );
    expect(waits).toEqual([0, 0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900]);
    expect(delayAfterFailures('ip', loginLimits.perIp - 1)).toBe(0);
    expect(delayAfterFailures('ip', loginLimits.perIp + 1)).toBe(60);
  });

  it('makes each attempt after a further failure wait longer, and tells the wait in seconds', async () => {
    const recipient = await buildRecipient(kuvert.context);
    for (let i = 0; i < loginLimits.perAccount; i++) {
      expect((await attemptLogin(newBrowser(), wrongPassword(recipient, i))).statusCode).toBe(401);
    }
    const waits: number[] = [];
    for (let round = 0; round < 6; round++) {
      const refused = await attemptLogin(newBrowser(), wrongPassword(recipient, 100 + round));
      expect(refused.statusCode).toBe(429);
      const retryAfter = Number(refused.headers['retry-after']);
      expect(refused.json()).toMatchObject({ code: 'rate_limited', retryAfter });
      waits.push(retryAfter);
      // Wait it out, then fail once more.
      await letTimePass(retryAfter);
      expect((await attemptLogin(newBrowser(), wrongPassword(recipient, round))).statusCode).toBe(
        401,
      );
    }
    for (let i = 1; i < waits.length; i++) {
      expect(waits[i]!).toBeGreaterThanOrEqual(Math.min(waits[i - 1]! * 2 - 2, 900));
    }
    expect(waits[0]).toBeLessThanOrEqual(loginLimits.firstDelaySeconds);
    expect(waits.at(-1)).toBeLessThanOrEqual(loginLimits.maxDelaySeconds);
    expect(waits.at(-1)).toBeGreaterThan(loginLimits.maxDelaySeconds - 5);

    // Each failure that started or lengthened a wait is in the audit log, the refusals are not.
    const lockOuts = await kuvert.context.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'login.locked_out')
      .where('subject', '=', recipient.mailboxId)
      .execute();
    expect(lockOuts).toHaveLength(7);
    expect(lockOuts[0]!.details).toMatchObject({
      limit: 'account',
      failures: 5,
      retryAfterSeconds: 30,
    });
  });
});

describe('no enumeration through login', () => {
  it('answers an unknown number and a wrong passphrase with the same status, body and headers, after an argon2 verification in both', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const verify = vi.spyOn(passphraseVerifier, 'verify');
    const unknown = await attemptLogin(newBrowser(), {
      nationalId: generateSyntheticNationalId(),
      password: recipient.password,
      totp: '123456',
    });
    const wrong = await attemptLogin(newBrowser(), {
      nationalId: recipient.nationalId,
      password: 'not the passphrase at all',
      totp: '123456',
    });
    expect(unknown.statusCode).toBe(401);
    expect(comparableAnswer(unknown)).toEqual(comparableAnswer(wrong));

    // The real argon2id ran in both paths, with the same parameters.
    expect(verify).toHaveBeenCalledTimes(2);
    const [unknownHash, wrongHash] = verify.mock.calls.map(([passwordHash]) => passwordHash);
    for (const passwordHash of [unknownHash!, wrongHash!]) {
      expect(parseOptions(passwordHash)).toMatchObject({
        algorithm: passwordHashOptions.algorithm,
        memoryCost: passwordHashOptions.memoryCost,
        timeCost: passwordHashOptions.timeCost,
        parallelism: passwordHashOptions.parallelism,
      });
    }
    expect(unknownHash).not.toBe(wrongHash);
    await expect(verify.mock.results[0]!.value).resolves.toBe(false);
  });

  it('makes an unknown number wait exactly like a known one', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const unknown = { nationalId: generateSyntheticNationalId(), password: 'x', totp: '000000' };
    for (let i = 0; i < loginLimits.perAccount; i++) {
      await attemptLogin(newBrowser(), wrongPassword(recipient, i));
      await attemptLogin(newBrowser(), { ...unknown, password: `guess number ${i}` });
    }
    const known = await attemptLogin(newBrowser(), wrongPassword(recipient, 99));
    const stranger = await attemptLogin(newBrowser(), { ...unknown, password: 'guess number 99' });
    expect(known.statusCode).toBe(429);
    const { 'retry-after': _a, ...knownHeaders } = comparableAnswer(known).headers;
    const { 'retry-after': _b, ...strangerHeaders } = comparableAnswer(stranger).headers;
    expect(strangerHeaders).toEqual(knownHeaders);
    expect(comparableAnswer(stranger).status).toBe(429);
    expect(Math.abs(Number(_a) - Number(_b))).toBeLessThanOrEqual(1);
  });
});

describe('the owner gets in during an attack (device cookies)', () => {
  it('lets the owner with a device cookie in after an attacker failed 50 times from elsewhere', async () => {
    const owner = await buildRecipient(kuvert.context);
    const ownerLaptop = await logInWith(newBrowser(), owner);
    expect(ownerLaptop.device).toMatch(/^v1\./);
    await call(ownerLaptop, 'DELETE', '/api/session');
    ownerLaptop.session = undefined;

    // The attacker's own account gives them a genuine device cookie, for the wrong mailbox.
    const attacker = newBrowser();
    await logInWith(attacker, await buildRecipient(kuvert.context));
    const statuses = new Map<number, number>();
    for (let i = 0; i < 50; i++) {
      const response = await attemptLogin(attacker, wrongPassword(owner, i));
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
    }
    expect(statuses.get(401)).toBe(loginLimits.perAccount);
    expect(statuses.get(429)).toBe(50 - loginLimits.perAccount);

    // Without a device cookie, even the owner with everything right must wait…
    const rightAnswers = {
      nationalId: owner.nationalId,
      password: owner.password,
      totp: await freshTotp(owner),
    };
    const elsewhere = await attemptLogin(newBrowser(), rightAnswers);
    expect(elsewhere.statusCode).toBe(429);
    // …and so must a forged or altered device cookie.
    const forged = newBrowser();
    forged.device = `${ownerLaptop.device!.slice(0, -4)}AAAA`;
    expect((await attemptLogin(forged, wrongPassword(owner, 0))).statusCode).toBe(429);

    // The owner's own device is not locked out by the attacker's failures.
    const back = await attemptLogin(ownerLaptop, rightAnswers);
    expect(back.statusCode, back.body).toBe(200);
    expect((await call(ownerLaptop, 'GET', '/api/letters')).statusCode).toBe(200);

    // The owner's own typos count in the device's bucket, not the attacker's.
    for (let i = 0; i < loginLimits.perDevice; i++) {
      expect((await attemptLogin(ownerLaptop, wrongPassword(owner, i))).statusCode).toBe(401);
    }
    expect((await attemptLogin(ownerLaptop, wrongPassword(owner, 9))).statusCode).toBe(429);
  });

  it('signs device cookies: tampering, another purpose or old age make them worthless', () => {
    const { keys } = kuvert.context;
    const mailboxId = '5f1c1a7e-2d3b-4c55-9a77-0e5d5d8d1c11';
    const value = signDeviceCookie({ mailboxId, keys });
    expect(verifyDeviceCookie({ value, keys })).toEqual({ mailboxId, nonce: expect.any(String) });
    const parts = value.split('.');
    const otherMailbox = [parts[0], 'a'.repeat(36), ...parts.slice(2)].join('.');
    expect(verifyDeviceCookie({ value: otherMailbox, keys })).toBeUndefined();
    expect(verifyDeviceCookie({ value: `${value}x`, keys })).toBeUndefined();
    expect(verifyDeviceCookie({ value: 'v1.a.b.c.d', keys })).toBeUndefined();
    const halfAYearLater = Date.now() + 181 * 24 * 3600 * 1000;
    expect(verifyDeviceCookie({ value, keys, now: halfAYearLater })).toBeUndefined();
  });
});

describe('login history (GET /api/me/login-history)', () => {
  it('shows logins and failed attempts with device and a coarse network, never a full address', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const attacker = { ...newBrowser(safariOnIphone), ip: '192.0.2.77' };
    await attemptLogin(attacker, wrongPassword(recipient, 1));
    const owner = await logInWith(newBrowser(), recipient);
    const response = await call(owner, 'GET', '/api/me/login-history');
    expect(response.statusCode).toBe(200);
    expect(response.json().entries).toEqual([
      {
        at: expect.any(String),
        outcome: 'succeeded',
        method: 'password+totp',
        device: { browser: 'Firefox 133', os: 'Windows' },
        network: coarseNetwork(owner.ip),
      },
      {
        at: expect.any(String),
        outcome: 'failed',
        method: 'password+totp',
        device: { browser: 'Safari 17', os: 'iOS' },
        network: '192.0.2.0/24',
      },
    ]);
    expect(response.body).not.toContain('192.0.2.77');
    expect(response.body).not.toContain(owner.ip);
  });

  it('reads devices and networks coarsely', () => {
    expect(describeDevice(undefined)).toEqual({ browser: null, os: null });
    expect(describeDevice('curl/8.5.0')).toEqual({ browser: null, os: null });
    expect(
      describeDevice(
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
      ),
    ).toEqual({ browser: 'Edge 131', os: 'Windows' });
    expect(
      describeDevice(
        'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
      ),
    ).toEqual({ browser: 'Chrome 131', os: 'Android' });
    expect(
      describeDevice(
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
      ),
    ).toEqual({ browser: 'Safari 18', os: 'macOS' });
    expect(coarseNetwork('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
    expect(coarseNetwork('::ffff:198.51.100.9')).toBe('198.51.100.0/24');
    expect(coarseNetwork('2001:db8::1')).toBe('2001:db8:0::/48');
    expect(coarseNetwork(undefined)).toBeNull();
  });
});

describe('anti-phishing phrase (PUT/GET/DELETE /api/me/anti-phishing)', () => {
  it('stores the phrase sealed and shows it, escaped, in the next notification email', async () => {
    const recipient = await buildRecipient(kuvert.context, { language: 'nn' });
    const browser = await logInWith(newBrowser(), recipient);
    const phrase = 'Blå <b>hegre</b> & "morgon"';
    const set = await call(browser, 'PUT', '/api/me/anti-phishing', {
      payload: { phrase: `  ${phrase}  ` },
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toEqual({ phrase });
    expect((await call(browser, 'GET', '/api/me/anti-phishing')).json()).toEqual({ phrase });

    const row = await kuvert.context.db
      .selectFrom('mailboxes')
      .select('anti_phishing_sealed')
      .where('id', '=', recipient.mailboxId)
      .executeTakeFirstOrThrow();
    expect(row.anti_phishing_sealed).not.toBeNull();
    expect(row.anti_phishing_sealed!.toString('utf8')).not.toContain('hegre');

    const sender = await buildSender(kuvert.context);
    const sent = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: recipient.nationalId },
    });
    expect(sent.statusCode, sent.body).toBeLessThan(300);
    await notifyLetterJob.handle(
      { mailboxId: recipient.mailboxId, letterId: sent.json().id },
      kuvert.context,
    );
    const mail = kuvert.context
      .mailSink!.messages()
      .find((message) => message.to.includes(recipient.email))!;
    expect(mail.text).toContain(`Tryggleiksfrasen din: «${phrase}»`);
    expect(mail.html).toContain('«Blå &lt;b&gt;hegre&lt;/b&gt; &amp; &quot;morgon&quot;»');
    expect(mail.html).not.toContain('<b>hegre');

    const audit = await kuvert.context.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'mailbox.anti_phishing_changed')
      .where('subject', '=', recipient.mailboxId)
      .execute();
    expect(audit).toEqual([{ details: { set: true, ip: browser.ip } }]);
    expect(JSON.stringify(audit)).not.toContain('hegre');

    expect((await call(browser, 'DELETE', '/api/me/anti-phishing')).statusCode).toBe(204);
    expect((await call(browser, 'GET', '/api/me/anti-phishing')).json()).toEqual({ phrase: null });
  });

  it('refuses an empty, too long or unsafe phrase with a clear message', async () => {
    const browser = await logInWith(newBrowser(), await buildRecipient(kuvert.context));
    for (const phrase of ['   ', 'x'.repeat(65), 'line\nbreak', 'a\u202Eb']) {
      const response = await call(browser, 'PUT', '/api/me/anti-phishing', { payload: { phrase } });
      expect(response.statusCode, phrase).toBe(422);
      expect(response.json().detail).toMatch(/phrase/);
    }
    expect((await call(browser, 'GET', '/api/me/anti-phishing')).json()).toEqual({ phrase: null });
  });
});
