import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../config.js';
import { describeErrorCode } from '../http/problem.js';
import { renderSecurityTxt } from './security-txt.js';

export function securityPageRoutes(context: {
  config: Readonly<Config>;
}): FastifyPluginAsyncTypebox {
  const { config } = context;
  return async (app) => {
    app.get(
      '/.well-known/security.txt',
      { config: { access: 'public' }, schema: { hide: true } },
      async (_request, reply) => {
        reply.header('content-type', 'text/plain; charset=utf-8');
        reply.header('cache-control', 'public, max-age=3600');
        return renderSecurityTxt({
          publicUrl: config.KUVERT_PUBLIC_URL,
          contact: config.KUVERT_SECURITY_CONTACT,
          now: new Date(),
        });
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
}
