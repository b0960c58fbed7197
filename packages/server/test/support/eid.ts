import { randomBytes } from 'node:crypto';
import { type EidSimulator, startEidSimulator } from '@kuvert/eid-simulator/simulator';
import type { FastifyInstance } from 'fastify';
import { sessionCookieNameFor } from '../../src/auth/sessions.js';
import { testPublicUrl } from './app.js';

export interface TestEid {
  simulator: EidSimulator;
  /** Environment for startTestKuvert that points Kuvert at the simulator. */
  env: Record<string, string>;
}

/** The eID simulator on a free loopback port, with Kuvert's test origin as its client. */
export async function startTestEid(publicUrl = testPublicUrl): Promise<TestEid> {
  const clientSecret = randomBytes(24).toString('base64url');
  const simulator = await startEidSimulator({
    clients: [
      { clientId: 'kuvert-test', clientSecret, redirectUris: [`${publicUrl}/api/eid/callback`] },
    ],
  });
  return {
    simulator,
    env: {
      KUVERT_EID_ISSUER: simulator.issuer,
      KUVERT_EID_CLIENT_ID: 'kuvert-test',
      KUVERT_EID_CLIENT_SECRET: clientSecret,
    },
  };
}

/** A browser in miniature: Kuvert through inject, the simulator over real HTTP, a cookie jar each. */
export class EidBrowser {
  readonly kuvertCookies = new Map<string, string>();
  readonly simulatorCookies = new Map<string, string>();

  constructor(
    readonly app: FastifyInstance,
    readonly simulator: EidSimulator,
  ) {}

  kuvertCookieHeader(): string {
    return [...this.kuvertCookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private keep(jar: Map<string, string>, setCookie: string[] | string | undefined): void {
    const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
    for (const line of list) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index);
      const value = pair!.slice(index + 1);
      if (/max-age=0/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }

  /** GET on Kuvert; returns status and Location. */
  async kuvert(url: string): Promise<{ status: number; location: string }> {
    const response = await this.app.inject({
      method: 'GET',
      url,
      headers: { cookie: this.kuvertCookieHeader() },
    });
    this.keep(this.kuvertCookies, response.headers['set-cookie']);
    return { status: response.statusCode, location: String(response.headers.location ?? '') };
  }

  /** Start at Kuvert, log in at the simulator; returns the callback URL (not yet followed). */
  async authorize(
    start: string,
    person: { pid: string; acr: string; cancel?: boolean },
  ): Promise<string> {
    const started = await this.kuvert(start);
    if (started.status !== 303 || !started.location.startsWith(this.simulator.issuer)) {
      throw new Error(`login did not start: ${started.status} ${started.location}`);
    }
    let location = started.location;
    let form: URLSearchParams | undefined;
    for (let hop = 0; hop < 10; hop++) {
      if (location.startsWith(testPublicUrl)) return location;
      const url = new URL(location, this.simulator.issuer);
      if (url.pathname.startsWith('/interaction/') && !form) {
        const page = await this.simulator_(url.href);
        const html = await page.text();
        if (!html.includes('<form')) throw new Error(`no login form: ${html}`);
        form = new URLSearchParams({
          pid: person.pid,
          acr: person.acr,
          action: person.cancel ? 'cancel' : 'login',
        });
        const posted = await this.simulator_(url.href, form);
        location = posted.headers.get('location') ?? '';
        continue;
      }
      const next = await this.simulator_(url.href);
      location = next.headers.get('location') ?? '';
    }
    throw new Error('too many redirects at the simulator');
  }

  private async simulator_(url: string, form?: URLSearchParams): Promise<Response> {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...this.simulatorCookies].map(([n, v]) => `${n}=${v}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: form.toString() } : {}),
    });
    this.keep(this.simulatorCookies, response.headers.getSetCookie());
    return response;
  }

  /** Follow a callback URL at Kuvert: where the browser lands, and the session cookie if any. */
  async callback(url: string): Promise<{ status: number; location: string }> {
    const target = new URL(url);
    return this.kuvert(`${target.pathname}${target.search}`);
  }

  sessionCookie(): string | undefined {
    const name = sessionCookieNameFor(testPublicUrl);
    const value = this.kuvertCookies.get(name);
    return value ? `${name}=${value}` : undefined;
  }
}
