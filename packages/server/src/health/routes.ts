import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { type Db, pingDatabase } from '../db/database.js';
import type { BlobStore } from '../documents/blob-store.js';

const HealthBody = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  checks: Type.Optional(
    Type.Record(Type.String(), Type.Union([Type.Literal('ok'), Type.Literal('failed')])),
  ),
});

/** Liveness and readiness for load balancers and orchestrators. */
/** What readiness checks: the database and the blob store, nothing else of the app. */
export function healthRoutes(context: {
  db: Db;
  blobs: Pick<BlobStore, 'check'>;
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/healthz',
      { config: { access: 'public' }, schema: { hide: true, response: { 200: HealthBody } } },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        config: { access: 'public' },
        schema: { hide: true, response: { 200: HealthBody, 503: HealthBody } },
      },
      async (request, reply) => {
        const checks = {
          database: await outcome(pingDatabase(context.db)),
          blobStore: await outcome(context.blobs.check()),
        };
        const ready = Object.values(checks).every((value) => value === 'ok');
        if (!ready) request.log.warn({ checks }, 'not ready');
        reply.header('cache-control', 'no-store');
        return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks });
      },
    );
  };
}

async function outcome(check: Promise<unknown>): Promise<'ok' | 'failed'> {
  try {
    await withTimeout(check, 2000);
    return 'ok';
  } catch {
    return 'failed';
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
