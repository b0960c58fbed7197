import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { eidRoutes } from './auth/eid-routes.js';
import { loginMethodsRoutes } from './auth/factors/routes.js';
import { authRoutes } from './auth/routes.js';
import { sessionCookieNameFor } from './auth/sessions.js';
import type { AppContext } from './context.js';
import { KuvertError } from './errors.js';
import { healthRoutes } from './health/routes.js';
import { installBodyDrain } from './http/body-drain.js';
import { clientErrorHandler } from './http/client-error.js';
import { installNoStoreForPrivateRoutes } from './http/no-store.js';
import { installProblemHandlers, problemFor, sendProblem } from './http/problem.js';
import { type RouteAccess, routeTable } from './http/route-table.js';
import { installSecurityHeaders, setSecurityHeaders } from './http/security-headers.js';
import { webAppRoutes } from './http/web-app.js';
import { lettersRecipientRoutes } from './letters/recipient-routes.js';
import { lettersSenderRoutes } from './letters/sender-routes.js';
import { notificationsDevRoutes } from './notifications/routes.js';
import { registrationRoutes } from './registration/routes.js';
import { securityPageRoutes } from './security-page/routes.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; the isolation tests are generated from this. */
    access?: RouteAccess;
  }
}

/** Build the HTTP application around an already-started context. */
export async function buildApp(context: AppContext): Promise<FastifyInstance> {
  const { config } = context;
  const app = Fastify({
    loggerInstance: context.log as FastifyBaseLogger,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    trustProxy: config.KUVERT_TRUST_PROXY,
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    // Requests Node's HTTP parser refuses (431, 400, 408) get a problem document too.
    clientErrorHandler: clientErrorHandler({
      publicUrl: config.KUVERT_PUBLIC_URL,
      log: context.log as FastifyBaseLogger,
    }),
    // Errors Fastify meets before routing (an undecodable URL) get the same problem document.
    frameworkErrors: (error, request, reply) => {
      request.log.info({ code: error.code }, 'request refused before routing');
      reply.header('x-request-id', request.id);
      setSecurityHeaders(reply);
      return sendProblem(
        reply,
        problemFor(
          new KuvertError('bad_request', 'The request URL is malformed.'),
          request,
          config.KUVERT_PUBLIC_URL,
        ),
      );
    },
  });
  // JSON only: a text/plain body is an unsupported media type, not a string to validate.
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  installSecurityHeaders(app);
  installBodyDrain(app);
  installNoStoreForPrivateRoutes(app);
  installProblemHandlers(app, config.KUVERT_PUBLIC_URL);
  routeTable.collectFrom(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Kuvert API',
        version: '1.0.0',
        description:
          'Sender API (signed with HTTP Message Signatures, RFC 9421) and the recipient API used by the web app. Errors are RFC 9457 problem documents.',
      },
      servers: [{ url: config.KUVERT_PUBLIC_URL }],
      components: {
        securitySchemes: {
          httpMessageSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'Signature',
            description:
              'RFC 9421 signature by a registered sender key over @method, @authority (the host of KUVERT_PUBLIC_URL), @path, @query, date and, with a body, content-digest (RFC 9530) and content-type, with created within 300 s and a fresh nonce. Checked before the body is read.',
          },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: sessionCookieNameFor(config.KUVERT_PUBLIC_URL),
          },
        },
      },
    },
    hideUntagged: true,
  });
  app.get('/api/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  await app.register(healthRoutes(context));
  await app.register(securityPageRoutes(context));
  await app.register(lettersSenderRoutes(context), { prefix: '/api/v1' });
  await app.register(authRoutes(context), { prefix: '/api' });
  await app.register(loginMethodsRoutes(context), { prefix: '/api' });
  await app.register(eidRoutes(context), { prefix: '/api' });
  await app.register(registrationRoutes(context), { prefix: '/api' });
  await app.register(lettersRecipientRoutes(context), { prefix: '/api' });
  if (!config.isProduction) await app.register(notificationsDevRoutes(context));
  await app.register(webAppRoutes(context));
  return app;
}
