import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../context.js';
import { authenticateSender } from '../senders/authenticate.js';
import { LetterIdParams, LetterMetadata, Problem, SenderLetter } from './schemas.js';
import { deliverLetter, getLetterForSender, readSubmission } from './service.js';

/** Largest letter submission accepted, PDF and metadata together. */
export const maxSubmissionBytes = 25 * 1024 * 1024;

const submitErrors = { 401: Problem, 409: Problem, 413: Problem, 415: Problem, 422: Problem };
const statusErrors = { 401: Problem, 404: Problem };

/** The request body as OpenAPI shows it; the route reads the raw bytes itself (see below). */
const LetterSubmission = Type.Object({
  metadata: LetterMetadata,
  document: Type.String({
    format: 'binary',
    description: 'The letter as a PDF (application/pdf).',
  }),
});

/** The sender API: every route is signed (RFC 9421) by a registered sender key. */
export function lettersSenderRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    // The signature covers the exact body bytes, so every body is kept as a Buffer and parsed
    // later: a signed body of the wrong type then fails as 415, not as a digest mismatch.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: maxSubmissionBytes },
      (_request, body, done) => done(null, body),
    );
    const requireSender = authenticateSender(context);
    const requireSenderDeferringNonce = authenticateSender(context, { deferNonce: true });

    app.post(
      '/letters',
      {
        config: { access: 'sender' },
        bodyLimit: maxSubmissionBytes,
        preValidation: requireSenderDeferringNonce,
        schema: {
          tags: ['sender'],
          summary: 'Deliver a letter',
          description:
            'multipart/form-data with two parts: `metadata` (application/json, see LetterMetadata) and `document` (application/pdf). Resending the same messageId with the same content returns the same letter (200); with other content 409.',
          security: [{ httpMessageSignature: [] }],
          consumes: ['multipart/form-data'],
          body: LetterSubmission,
          response: { 200: SenderLetter, 201: SenderLetter, ...submitErrors },
        },
        // The body schema documents the multipart form; the body itself stays the signed
        // Buffer, and readSubmission() validates its parts (metadata against LetterMetadata).
        validatorCompiler: () => () => true,
      },
      async (request, reply) => {
        const submission = readSubmission(
          request.body as unknown as Buffer,
          request.headers['content-type'],
        );
        const { letter, created } = await deliverLetter({
          context,
          senderId: senderOf(request),
          nonce: request.sender!.pendingNonce!,
          submission,
        });
        reply.header('location', `/api/v1/letters/${letter.id}`);
        return reply.code(created ? 201 : 200).send(letter);
      },
    );

    app.get(
      '/letters/:id',
      {
        config: { access: 'sender' },
        preValidation: requireSender,
        schema: {
          tags: ['sender'],
          summary: 'Status of a letter this sender delivered',
          security: [{ httpMessageSignature: [] }],
          params: LetterIdParams,
          response: { 200: SenderLetter, ...statusErrors },
        },
      },
      async (request) =>
        getLetterForSender({ context, senderId: senderOf(request), letterId: request.params.id }),
    );
  };
}

function senderOf(request: FastifyRequest): string {
  // authenticateSender ran before validation; without it the route would not be reached.
  return request.sender!.senderId;
}
