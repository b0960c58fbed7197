import Fastify from 'fastify';
import { onStopRequested, sendToBench } from './ipc.js';

/**
 * Baseline: a bare Fastify route that accepts the same multipart body as a buffer and
 * answers 201, with nothing else: the HTTP floor under the ingest figure.
 */
const app = Fastify({ logger: false, bodyLimit: 25 * 1024 * 1024 });
app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_request, body, done) =>
  done(null, body),
);
app.post('/api/v1/letters', async (request, reply) =>
  reply.code(201).send({ bytes: (request.body as Buffer).length }),
);
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
onStopRequested(() => app.close());
sendToBench({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
