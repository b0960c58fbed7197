import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { memoryAdapter } from './memory-adapter.js';
import { type Acr, acrHigh, acrSubstantial, acrValues, testPersons } from './persons.js';

/**
 * A local OpenID Connect provider that answers like ID-porten: authorization code flow with
 * PKCE (S256) required, `acr` = idporten-loa-substantial or idporten-loa-high, and the person's
 * national identity number in the `pid` claim of the ID token. It runs over real HTTP on a
 * loopback port, so Kuvert's client code is exactly what talks to the real service.
 *
 * Development, the demo and the tests only: it signs in anybody who clicks a name.
 */

export interface SimulatorClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface EidSimulator {
  /** The issuer URL, e.g. http://127.0.0.1:41234 (discovery at /.well-known/openid-configuration). */
  issuer: string;
  port: number;
  close(): Promise<void>;
}

const eleven = /^[0-9]{11}$/;

export async function startEidSimulator(options: {
  clients: SimulatorClient[];
  port?: number;
  host?: string;
}): Promise<EidSimulator> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://${host}:${port}`;
  const provider = new Provider(issuer, providerConfiguration(options.clients));
  // The simulator runs on plain HTTP on loopback; its cookies cannot be Secure there.
  provider.proxy = false;
  const oidc = provider.callback();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    const match = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    if (!match) {
      oidc(req, res);
      return;
    }
    handleInteraction(provider, req, res).catch((error: unknown) => {
      res.statusCode = 400;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(`eID simulator: ${error instanceof Error ? error.message : String(error)}`);
    });
  });

  return {
    issuer,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function providerConfiguration(clients: SimulatorClient[]): Configuration {
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    format: 'jwk',
  });
  return {
    adapter: memoryAdapter(),
    clients: clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: client.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // ID-porten offers both; Kuvert's default is client_secret_basic.
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [{ ...signingKey, kid: 'simulator-1', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { methods: ['S256'], required: () => true },
    acrValues: [...acrValues],
    // ID-porten puts pid in the ID token itself, not only behind the userinfo endpoint.
    conformIdTokenClaims: false,
    claims: { openid: ['sub', 'pid'] },
    scopes: ['openid'],
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // Every person gets a pairwise-looking subject; the number itself travels only as pid.
    findAccount: (_ctx, accountId) => ({
      accountId,
      claims: () => ({ sub: subjectFor(accountId), pid: accountId }),
    }),
    // No consent screen: ID-porten does not ask either. A grant for openid + pid is made on login.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const client = ctx.oidc.client;
      const accountId = ctx.oidc.session?.accountId;
      if (!client || !accountId) return undefined;
      const existing = ctx.oidc.session?.grantIdFor(client.clientId);
      if (existing) return ctx.oidc.provider.Grant.find(existing);
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
      grant.addOIDCScope('openid');
      grant.addOIDCClaims(['pid']);
      await grant.save();
      return grant;
    },
    renderError: async (ctx, out) => {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = page(
        'eID simulator: error',
        `<h1>eID simulator: error</h1><p>${escapeHtml(String(out.error))}: ${escapeHtml(String(out.error_description ?? ''))}</p>`,
      );
    },
    ttl: {
      Session: 60,
      Interaction: 600,
      AuthorizationCode: 60,
      AccessToken: 60,
      IdToken: 300,
      Grant: 600,
    },
  };
}

function subjectFor(pid: string): string {
  return createHash('sha256').update(`kuvert-eid-simulator:${pid}`).digest('base64url');
}

async function handleInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    const requested = String(details.params.acr_values ?? '')
      .split(' ')
      .includes(acrHigh)
      ? acrHigh
      : acrSubstantial;
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.end(loginPage(details.uid, requested));
    return;
  }
  if (req.method !== 'POST') {
    res.statusCode = 405;
    res.end();
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  if (form.get('action') === 'cancel') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The person cancelled the login' },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  const pid = (form.get('typedPid') || form.get('pid') || '').replace(/\s+/g, '');
  const acr = form.get('acr');
  if (!eleven.test(pid) || !acrValues.includes(acr as Acr)) {
    res.statusCode = 400;
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(
      page(
        'eID simulator',
        `<h1>eID simulator</h1><p role="alert">Choose a person (or type 11 digits) and a level.</p><p><a href="/interaction/${details.uid}">Back</a></p>`,
      ),
    );
    return;
  }
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: pid, acr: acr ?? acrSubstantial, amr: ['TestID'], remember: false } },
    { mergeWithLastSubmission: false },
  );
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function loginPage(uid: string, requested: Acr): string {
  const persons = testPersons
    .map(
      (person, index) =>
        `<li><label><input type="radio" name="pid" value="${person.pid}"${index === 0 ? ' checked' : ''}> ${escapeHtml(person.name)} (${person.pid})</label></li>`,
    )
    .join('');
  const level = (acr: Acr, label: string) =>
    `<li><label><input type="radio" name="acr" value="${acr}"${acr === requested ? ' checked' : ''}> ${label}</label></li>`;
  return page(
    'eID simulator: log in',
    `<h1>eID simulator</h1>
<p>A stand-in for ID-porten in development and tests. Synthetic test persons only: never a real person.</p>
<p>Requested level: <strong>${requested}</strong></p>
<form method="post" action="/interaction/${uid}">
<fieldset><legend>Test person</legend><ul>${persons}</ul>
<label>Or another synthetic number: <input name="typedPid" inputmode="numeric" autocomplete="off" pattern="[0-9 ]{11,13}"></label></fieldset>
<fieldset><legend>Level</legend><ul>${level(acrSubstantial, 'Substantial (MinID, idporten-loa-substantial)')}${level(acrHigh, 'High (BankID, idporten-loa-high)')}</ul></fieldset>
<button type="submit" name="action" value="login">Log in</button>
<button type="submit" name="action" value="cancel">Cancel</button>
</form>`,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}ul{list-style:none;padding:0}li{margin:.4rem 0}fieldset{margin:1rem 0}button{margin-right:.5rem;padding:.5rem 1rem}</style></head><body><main>${body}</main></body></html>`;
}

function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? '',
  );
}
