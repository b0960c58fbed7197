import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import { describeErrorCode } from '../http/problem.js';
import { listHallOfFameEntries } from './hall-of-fame.js';
import { renderSecurityPage } from './page.js';
import { createReportRateLimiter, ReportRateLimitedError } from './rate-limit.js';
import { maxReportCiphertextBytes, receiveVulnerabilityReport } from './reports.js';
import { signedSecurityTxt } from './security-txt.js';
import type { ServiceKey } from './service-key.js';
import {
  openpgpScriptPath,
  type PageLanguage,
  pageLanguages,
  publicKeyPath,
  reportScriptPath,
  reportsPath,
  securityPagePath,
  stylesheetPath,
} from './urls.js';

export type SecurityPageContext = {
  config: Pick<
    Readonly<Config>,
    'KUVERT_PUBLIC_URL' | 'KUVERT_SECURITY_CONTACT' | 'KUVERT_SECURITY_CHANNELS'
  >;
  db: Db;
  serviceKey: ServiceKey;
};

/** Files the page needs, read once at start-up and served from memory. */
function loadStaticFiles() {
  const read = (url: URL) => readFileSync(fileURLToPath(url));
  // OpenPGP.js's browser build, beside the Node build `import` resolves to.
  const openpgpBrowserBuild = new URL('../openpgp.min.mjs', import.meta.resolve('openpgp'));
  return new Map([
    [
      stylesheetPath,
      {
        body: read(new URL('./static/page.css', import.meta.url)),
        type: 'text/css; charset=utf-8',
      },
    ],
    [
      reportScriptPath,
      {
        body: read(new URL('./static/report-form.js', import.meta.url)),
        type: 'text/javascript; charset=utf-8',
      },
    ],
    [
      openpgpScriptPath,
      { body: read(openpgpBrowserBuild), type: 'text/javascript; charset=utf-8' },
    ],
  ]);
}

const ReportBody = Type.Object(
  {
    ciphertext: Type.String({
      minLength: 1,
      maxLength: maxReportCiphertextBytes,
      description: 'An armored OpenPGP message encrypted to the key at /security/pgp-key.asc.',
    }),
  },
  { additionalProperties: false },
);

const ReportReceipt = Type.Object({
  id: Type.String({ format: 'uuid', description: 'The receipt id, to quote in follow-ups.' }),
  receivedAt: Type.String({ format: 'date-time' }),
});

export function securityPageRoutes(context: SecurityPageContext): FastifyPluginAsyncTypebox {
  const { config, db, serviceKey } = context;
  const files = loadStaticFiles();
  const securityTxt = signedSecurityTxt({
    publicUrl: config.KUVERT_PUBLIC_URL,
    contact: config.KUVERT_SECURITY_CONTACT,
    signingKey: serviceKey.privateKey,
  });
  const reportLimiter = createReportRateLimiter();

  return async (app) => {
    app.get(
      '/.well-known/security.txt',
      { config: { access: 'public' }, schema: { hide: true } },
      async (_request, reply) => {
        reply.header('content-type', 'text/plain; charset=utf-8');
        reply.header('cache-control', 'public, max-age=3600');
        return securityTxt(new Date());
      },
    );

    app.get(
      publicKeyPath,
      { config: { access: 'public' }, schema: { hide: true } },
      async (_request, reply) => {
        reply.header('content-type', 'application/pgp-keys');
        reply.header('cache-control', 'public, max-age=3600');
        return serviceKey.publicKeyArmored;
      },
    );

    for (const language of pageLanguages) {
      app.get(
        securityPagePath(language),
        { config: { access: 'public' }, schema: { hide: true } },
        async (_request, reply) => sendPage(reply, language),
      );
    }

    for (const [path, file] of files) {
      app.get(
        path,
        { config: { access: 'public' }, schema: { hide: true } },
        async (_request, reply) =>
          reply
            .header('content-type', file.type)
            .header('cache-control', 'no-cache')
            .send(file.body),
      );
    }

    app.post(
      reportsPath,
      {
        config: { access: 'public' },
        // A little room for the JSON around the armored message; more is refused unread (413).
        bodyLimit: maxReportCiphertextBytes + 1024,
        // Counted before the body is read, so refused and oversized attempts count too.
        onRequest: async (request, reply) => {
          try {
            reportLimiter.take(request.ip);
          } catch (error) {
            // RFC 6585 §4: say when to try again.
            if (error instanceof ReportRateLimitedError) {
              reply.header('retry-after', String(error.retryAfterSeconds));
            }
            throw error;
          }
        },
        schema: {
          // Not part of the /api document: a page's endpoint, described in docs/security.md.
          hide: true,
          summary: 'Send an encrypted vulnerability report',
          description:
            'The report is encrypted in the browser to the service key; the server checks that it is an armored OpenPGP message encrypted to that key and stores only the ciphertext. Anything else answers 422 validation_failed; more than 5 reports an hour from one address answer 429 rate_limited.',
          body: ReportBody,
          response: { 201: ReportReceipt },
        },
      },
      async (request, reply) => {
        const receipt = await receiveVulnerabilityReport({
          db,
          serviceKey,
          ciphertext: request.body.ciphertext,
        });
        reply.header('cache-control', 'no-store');
        return reply
          .code(201)
          .send({ id: receipt.id, receivedAt: receipt.receivedAt.toISOString() });
      },
    );

    // The problem `type` URIs resolve to a description of the error.
    app.get<{ Params: { code: string } }>(
      '/problems/:code',
      { config: { access: 'public' }, schema: { hide: true } },
      async (request, reply) => {
        const description = describeErrorCode(request.params.code);
        if (!description) return reply.callNotFound();
        return description;
      },
    );
  };

  async function sendPage(reply: FastifyReply, language: PageLanguage) {
    const body = renderSecurityPage({
      language,
      publicUrl: config.KUVERT_PUBLIC_URL,
      contact: config.KUVERT_SECURITY_CONTACT,
      fingerprint: serviceKey.fingerprint,
      channels: config.KUVERT_SECURITY_CHANNELS,
      hallOfFame: await listHallOfFameEntries({ db }),
    });
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-language', language)
      .header('cache-control', 'no-cache')
      .send(body);
  }
}
