import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../context.js';
import { KuvertError } from '../errors.js';

const SinkMessageBody = Type.Object({
  id: Type.String(),
  receivedAt: Type.String(),
  from: Type.String(),
  to: Type.Array(Type.String()),
  subject: Type.String(),
  text: Type.String(),
  html: Type.String(),
  headers: Type.Record(Type.String(), Type.String()),
  raw: Type.String(),
});

const SmsListBody = Type.Object({
  messages: Type.Array(
    Type.Object({
      id: Type.String(),
      receivedAt: Type.String(),
      to: Type.String(),
      text: Type.String(),
    }),
  ),
});

const MailListBody = Type.Object({ messages: Type.Array(SinkMessageBody) });

/**
 * Development only: what the built-in mail sink received, newest first. The app registers
 * this outside production only; without a sink (SMTP_URL set) there is nothing to show.
 */
export function notificationsDevRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/dev/mail',
      {
        config: { access: 'development' },
        schema: { hide: true, response: { 200: MailListBody } },
      },
      async (_request, reply) => {
        const sink = context.mailSink;
        if (!sink) throw new KuvertError('not_found');
        reply.header('cache-control', 'no-store');
        return { messages: sink.messages().reverse() };
      },
    );

    app.get(
      '/dev/sms',
      {
        config: { access: 'development' },
        schema: { hide: true, response: { 200: SmsListBody } },
      },
      async (_request, reply) => {
        const sink = context.smsSink;
        if (!sink) throw new KuvertError('not_found');
        reply.header('cache-control', 'no-store');
        return { messages: sink.messages().reverse() };
      },
    );
  };
}
