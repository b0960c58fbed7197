import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AuthLevel } from '../auth/levels.js';
import { requireRecipient } from '../auth/routes.js';
import type { AppContext } from '../context.js';
import { contentDisposition } from '../http/content-disposition.js';
import { DocumentParams, Inbox, LetterIdParams, Problem, RecipientLetter } from './schemas.js';
import { getLetterForMailbox, listInbox, readDocument, recordLetterRead } from './service.js';

const errorResponses = { 401: Problem, 403: Problem, 404: Problem };

/** The recipient's letters, for the web app. Every query is scoped by the session's mailbox. */
export function lettersRecipientRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Authentication runs before validation, so a caller without a session learns nothing
    // from how its parameters are judged: 401 comes first.
    const preValidation = requireRecipient(context);
    const base = { config: { access: 'recipient' as const }, preValidation };
    const security = [{ session: [] }];

    app.get(
      '/letters',
      {
        ...base,
        schema: {
          tags: ['recipient'],
          summary: 'The inbox, newest first',
          security,
          response: { 200: Inbox, ...errorResponses },
        },
      },
      async (request) => ({
        letters: await listInbox({
          context,
          mailboxId: mailboxOf(request),
          sessionLevel: levelOf(request),
        }),
      }),
    );

    app.get(
      '/letters/:id',
      {
        ...base,
        schema: {
          tags: ['recipient'],
          summary: 'One letter',
          security,
          params: LetterIdParams,
          response: { 200: RecipientLetter, ...errorResponses },
        },
      },
      async (request) =>
        getLetterForMailbox({
          context,
          mailboxId: mailboxOf(request),
          letterId: request.params.id,
          sessionLevel: levelOf(request),
        }),
    );

    app.get(
      '/letters/:id/documents/:documentId/content',
      {
        ...base,
        schema: {
          tags: ['recipient'],
          summary: 'The decrypted document',
          security,
          params: DocumentParams,
          response: { 200: Type.Unsafe({ type: 'string', format: 'binary' }), ...errorResponses },
        },
      },
      async (request, reply) => {
        const document = await readDocument({
          context,
          mailboxId: mailboxOf(request),
          letterId: request.params.id,
          documentId: request.params.documentId,
          sessionLevel: levelOf(request),
        });
        return reply
          .header('content-type', document.contentType)
          .header('content-disposition', contentDisposition('inline', document.filename))
          .send(document.bytes);
      },
    );

    app.post(
      '/letters/:id/read',
      {
        ...base,
        schema: {
          tags: ['recipient'],
          summary: 'Record that the letter was read',
          security,
          params: LetterIdParams,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await recordLetterRead({
          context,
          mailboxId: mailboxOf(request),
          letterId: request.params.id,
        });
        return reply.code(204).send(null);
      },
    );
  };
}

function levelOf(request: FastifyRequest): AuthLevel {
  return request.recipient!.authLevel;
}

function mailboxOf(request: FastifyRequest): string {
  // requireRecipient ran before validation; without a session the route is not reached.
  return request.recipient!.mailboxId;
}
