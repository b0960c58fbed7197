import { createHash, randomBytes } from 'node:crypto';
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { appendAuditEvent } from '../audit/service.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import { sealValue } from '../documents/envelope.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { parseNationalId } from '../mailboxes/national-id.js';
import { findLoginCredentials } from '../mailboxes/queries.js';
import { nationalIdLookupHash } from '../mailboxes/service.js';
import { acrFor, type EidLevel, levelOfAcr, meetsLevel, parseAuthLevel } from './levels.js';
import { findLiveSession, insertEidLogin, insertEidRegistration, takeEidLogin } from './queries.js';
import { endSession, rotateSession, sessionTimeouts, startSession } from './sessions.js';

/**
 * National eID login over OpenID Connect (ID-porten or the eID simulator): authorization code
 * flow with PKCE (S256), `state` and `nonce`, `acr_values` for the level asked for.
 *
 * What the browser carries between the start and the callback is one random token in a
 * short-lived HttpOnly cookie; `state`, `nonce`, the PKCE verifier, the level and the return
 * path stay in the database under the token's SHA-256 and are taken (deleted) by the first
 * callback. The cookie is SameSite=Lax, not Strict: the callback is a top-level navigation from
 * the provider's site, on which a Strict cookie would not be sent. The session cookie it leads
 * to stays Strict.
 *
 * Every way the callback can fail ends in one `EidRefusal`: the person sees one generic page,
 * the log and the audit log get the precise reason.
 */

export const eidLoginCookieName = 'kuvert_eid';
export const registrationCookieName = 'kuvert_registration';
/** Long enough to log in with BankID on a phone, short enough that a stale login is useless. */
const loginTtlSeconds = 10 * 60;
/** Time to read and accept the terms. */
export const registrationTtlSeconds = 30 * 60;

export const eidCallbackPath = '/api/eid/callback';

/** Why an eID callback was refused: for the log and the audit log only. */
export class EidRefusal extends Error {
  constructor(readonly reason: string) {
    super(`eID login refused: ${reason}`);
    this.name = 'EidRefusal';
  }
}

type EidConfig = Pick<
  Config,
  | 'KUVERT_EID_ISSUER'
  | 'KUVERT_EID_CLIENT_ID'
  | 'KUVERT_EID_CLIENT_SECRET'
  | 'KUVERT_EID_PRIVATE_KEY'
  | 'KUVERT_PUBLIC_URL'
  | 'isProduction'
>;

export function eidEnabled(config: EidConfig): boolean {
  return config.KUVERT_EID_ISSUER !== undefined && config.KUVERT_EID_CLIENT_ID !== undefined;
}

export function eidRedirectUri(config: Pick<Config, 'KUVERT_PUBLIC_URL'>): string {
  return `${config.KUVERT_PUBLIC_URL}${eidCallbackPath}`;
}

/**
 * The provider's metadata, fetched once per process (and again after a failure). Plain HTTP is
 * allowed only outside production, for the simulator on loopback.
 */
const discovered = new Map<string, Promise<oidc.Configuration>>();

async function providerConfiguration(config: EidConfig): Promise<oidc.Configuration> {
  const issuer = config.KUVERT_EID_ISSUER;
  const clientId = config.KUVERT_EID_CLIENT_ID;
  if (!issuer || !clientId) throw new EidRefusal('eID is not configured');
  const cacheKey = `${issuer} ${clientId}`;
  let pending = discovered.get(cacheKey);
  if (!pending) {
    pending = discover(config, issuer, clientId);
    discovered.set(cacheKey, pending);
    pending.catch(() => discovered.delete(cacheKey));
  }
  return pending;
}

async function discover(
  config: EidConfig,
  issuer: string,
  clientId: string,
): Promise<oidc.Configuration> {
  const insecure = issuer.startsWith('http://') && !config.isProduction;
  return oidc.discovery(new URL(issuer), clientId, undefined, await clientAuthentication(config), {
    execute: insecure ? [oidc.allowInsecureRequests] : [],
    timeout: 10,
  });
}

async function clientAuthentication(config: EidConfig): Promise<oidc.ClientAuth> {
  if (config.KUVERT_EID_PRIVATE_KEY) {
    const jwk = JSON.parse(config.KUVERT_EID_PRIVATE_KEY) as import('node:crypto').JsonWebKey & {
      kid?: string;
      alg?: string;
    };
    const algorithm =
      jwk.kty === 'EC'
        ? { name: 'ECDSA', namedCurve: jwk.crv ?? 'P-256' }
        : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const key = await crypto.subtle.importKey('jwk', jwk, algorithm, false, ['sign']);
    return oidc.PrivateKeyJwt(jwk.kid ? { key, kid: jwk.kid } : key);
  }
  return oidc.ClientSecretBasic(config.KUVERT_EID_CLIENT_SECRET);
}

function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The cookie that binds a login in progress to this browser. */
export function eidLoginCookie(token: string): string {
  return fastifyCookie.serialize(eidLoginCookieName, token, {
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    path: '/api/eid',
    maxAge: loginTtlSeconds,
  });
}

export function expiredCookie(name: string, path: string): string {
  return fastifyCookie.serialize(name, '', {
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    path,
    maxAge: 0,
    expires: new Date(0),
  });
}

export function registrationCookie(token: string): string {
  return fastifyCookie.serialize(registrationCookieName, token, {
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    path: '/api/register',
    maxAge: registrationTtlSeconds,
  });
}

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  const value = fastifyCookie.parse(header)[name];
  return value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
}

/**
 * Start an eID login: remember state, nonce, PKCE verifier, level and return path under a new
 * token, and give back the provider's authorization URL. With `stepUpSessionId` the login raises
 * that session's level instead of starting a new one.
 */
export async function startEidLogin(options: {
  db: Db;
  config: EidConfig;
  level: EidLevel;
  returnTo: string | undefined;
  stepUpSessionId: string | undefined;
}): Promise<{ cookieToken: string; authorizationUrl: string }> {
  const provider = await providerConfiguration(options.config);
  const cookieToken = randomBytes(32).toString('base64url');
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const codeVerifier = oidc.randomPKCECodeVerifier();
  await insertEidLogin(options.db, {
    id: tokenHash(cookieToken),
    state,
    nonce,
    code_verifier: codeVerifier,
    level: options.level,
    return_to: options.returnTo ?? null,
    session_id:
      options.stepUpSessionId !== undefined ? Buffer.from(options.stepUpSessionId, 'hex') : null,
    ttlSeconds: loginTtlSeconds,
  });
  const url = oidc.buildAuthorizationUrl(provider, {
    redirect_uri: eidRedirectUri(options.config),
    scope: 'openid',
    response_type: 'code',
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    acr_values: acrFor(options.level),
    // A mailbox of health letters asks for a fresh login, not a single sign-on from earlier.
    prompt: 'login',
  });
  return { cookieToken, authorizationUrl: url.href };
}

export type EidOutcome =
  | { kind: 'logged-in'; token: string; mailboxId: string; returnTo: string | null }
  | { kind: 'stepped-up'; token: string; mailboxId: string; returnTo: string | null }
  | { kind: 'register'; registrationToken: string; returnTo: string | null };

/**
 * The callback: check everything, then log in, step up, or begin registration. Throws
 * `EidRefusal` for every failure, after recording it in the audit log.
 */
export async function finishEidLogin(options: {
  db: Db;
  keys: MasterKeys;
  config: EidConfig & Pick<Config, 'KUVERT_ACCEPT_SYNTHETIC_IDS'>;
  /** The callback URL as the browser asked for it, on the public origin. */
  callbackUrl: URL;
  loginToken: string | undefined;
  presentedSessionToken: string | undefined;
  ip: string;
  userAgent: string | undefined;
}): Promise<EidOutcome> {
  const { db, ip } = options;
  try {
    return await verifyAndAct(options);
  } catch (error) {
    const reason = error instanceof EidRefusal ? error.reason : describeClientError(error);
    await db.transaction().execute((tx) =>
      appendAuditEvent(tx, options.keys, {
        actor: 'anonymous',
        action: 'login.failed',
        subject: null,
        details: { method: 'eid', reason, ip },
      }),
    );
    throw error instanceof EidRefusal ? error : new EidRefusal(reason);
  }
}

/**
 * openid-client's error for the log: its code and message, and the message of what it wraps
 * (oauth4webapi names the claim or parameter that failed there, e.g. `"nonce" claim`).
 */
function describeClientError(error: unknown): string {
  const { code, message, cause } = error as { code?: string; message?: string; cause?: unknown };
  const inner = cause instanceof Error && cause.message !== message ? ` (${cause.message})` : '';
  return `${code ?? 'error'}: ${message ?? String(error)}${inner}`.slice(0, 300);
}

async function verifyAndAct(options: Parameters<typeof finishEidLogin>[0]): Promise<EidOutcome> {
  const { db, keys, config, callbackUrl, ip } = options;
  if (!options.loginToken) throw new EidRefusal('no login cookie');
  const login = await takeEidLogin(db, tokenHash(options.loginToken));
  if (!login) throw new EidRefusal('no live login for the cookie (expired, or used before)');
  const providerError = callbackUrl.searchParams.get('error');
  if (providerError !== null) {
    throw new EidRefusal(`the provider answered error=${providerError.slice(0, 100)}`);
  }
  if (callbackUrl.searchParams.get('state') !== login.state) {
    throw new EidRefusal('state does not match the login started in this browser');
  }
  const provider = await providerConfiguration(config);
  const tokens = await oidc.authorizationCodeGrant(provider, callbackUrl, {
    pkceCodeVerifier: login.code_verifier,
    expectedState: login.state,
    expectedNonce: login.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  if (!claims) throw new EidRefusal('no ID token');

  const requested = login.level as EidLevel;
  const level = levelOfAcr(claims.acr);
  if (!level) throw new EidRefusal(`unknown acr ${String(claims.acr).slice(0, 60)}`);
  if (!meetsLevel(level, requested)) {
    throw new EidRefusal(`acr ${level} is below the requested ${requested}`);
  }
  const parsed = parseNationalId(typeof claims.pid === 'string' ? claims.pid : '', {
    acceptSynthetic: config.KUVERT_ACCEPT_SYNTHETIC_IDS,
  });
  if (!parsed.ok) throw new EidRefusal(`pid claim refused: ${parsed.reason}`);

  const mailbox = await findLoginCredentials(db, nationalIdLookupHash(parsed.value, keys));
  if (login.session_id) {
    return stepUp({
      ...options,
      sessionId: login.session_id,
      mailbox,
      level,
      returnTo: login.return_to,
    });
  }
  if (!mailbox) {
    const registrationToken = randomBytes(32).toString('base64url');
    const id = tokenHash(registrationToken);
    await db.transaction().execute(async (tx) => {
      await insertEidRegistration(tx, {
        id,
        national_id_sealed: sealValue(parsed.value, registrationContext(id), keys),
        level,
        return_to: login.return_to,
        ttlSeconds: registrationTtlSeconds,
      });
      await appendAuditEvent(tx, options.keys, {
        actor: 'anonymous',
        action: 'registration.started',
        subject: null,
        details: { method: 'eid', level, ip },
      });
    });
    return { kind: 'register', registrationToken, returnTo: login.return_to };
  }
  const started = await db.transaction().execute(async (tx) => {
    // No fixation: whatever session the browser had is revoked before the new one is made.
    const created = await rotateSession({
      tx,
      keys: options.keys,
      presentedToken: options.presentedSessionToken,
      mailboxId: mailbox.id,
      authLevel: level,
      userAgent: options.userAgent,
      ip,
      reason: 'replaced_by_login',
    });
    await appendAuditEvent(tx, options.keys, {
      actor: `mailbox:${mailbox.id}`,
      action: 'login.succeeded',
      subject: mailbox.id,
      details: { method: 'eid', level, sessionId: created.session.sessionId, ip },
    });
    return created;
  });
  return {
    kind: 'logged-in',
    token: started.token,
    mailboxId: mailbox.id,
    returnTo: login.return_to,
  };
}

/** The AAD a registration's sealed number is bound to. */
export function registrationContext(id: Buffer): string {
  return `eid-registration:${id.toString('hex')}`;
}

/**
 * Raise a session's level: the person proved with eID to be the session's owner, at `level`.
 * The session id is rotated (the old one revoked, a new one made at the higher level).
 */
async function stepUp(options: {
  db: Db;
  keys: MasterKeys;
  sessionId: Buffer;
  presentedSessionToken: string | undefined;
  mailbox: { id: string } | undefined;
  level: EidLevel;
  returnTo: string | null;
  ip: string;
  userAgent: string | undefined;
}): Promise<EidOutcome> {
  const { db, ip, level } = options;
  // The step-up belongs to the session that started it: its id was stored with the login, and
  // the Lax login cookie ties the callback to that browser. The session cookie itself is Strict,
  // so the browser does not send it on the provider's cross-site redirect to the callback.
  const session = await findLiveSession(db, options.sessionId, sessionTimeouts);
  if (!session) throw new EidRefusal('the session to step up has ended');
  if (!options.mailbox || options.mailbox.id !== session.mailbox_id) {
    throw new EidRefusal('eID identified another person than the session owner');
  }
  const mailboxId = session.mailbox_id;
  const started = await db.transaction().execute(async (tx) => {
    const ended = await endSession({ db: tx, sessionId: session.id.toString('hex') });
    if (!ended) throw new EidRefusal('the session to step up ended meanwhile');
    // eID at a lower level than the session already had never lowers it.
    const had = parseAuthLevel(session.auth_level);
    const authLevel = meetsLevel(had, level) ? had : level;
    const created = await startSession({
      db: tx,
      mailboxId,
      authLevel,
      userAgent: options.userAgent,
    });
    await appendAuditEvent(tx, options.keys, {
      actor: `mailbox:${mailboxId}`,
      action: 'session.stepped_up',
      subject: mailboxId,
      details: {
        from: session.auth_level,
        to: authLevel,
        previousSessionId: ended.sessionId,
        sessionId: created.session.sessionId,
        ip,
      },
    });
    return { ...created, authLevel };
  });
  return { kind: 'stepped-up', token: started.token, mailboxId, returnTo: options.returnTo };
}
