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
    // The signature is checked before the body is read (onRequest), and the body against the
    // signed Content-Digest while it streams in (preParsing). Every body is kept as the Buffer
    // that was checked and parsed later: a signed body of the wrong type then fails as 415.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: maxSubmissionBytes },
      (_request, body, done) => done(null, body),
    );
    const requireSender = authenticateSender(context);
    // The letter's own statement records the nonce (one commit per letter).
    const requireSenderForLetter = authenticateSender(context, { routeRecordsNonce: true });

    app.post(
      '/letters',
      {
        config: { access: 'sender' },
        bodyLimit: maxSubmissionBytes,
        onRequest: requireSenderForLetter.onRequest,
        preParsing: requireSenderForLetter.preParsing,
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
        const submission = readSubmission(request.body, request.headers['content-type']);
        const { letter, created } = await deliverLetter({
          context,
          senderId: senderOf(request),
          nonce: request.sender!.nonce,
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
        onRequest: requireSender.onRequest,
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
  // authenticateSender ran on the request; without it the route would not be reached.
  return request.sender!.senderId;
}
