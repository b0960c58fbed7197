import type { FastifyInstance } from 'fastify';
import type { RouteAccess } from './route-table.js';

/**
 * Access levels whose answers belong to one caller: a recipient's inbox, letters and session, a
 * sender's letter status. None of them may be kept by a browser's or a proxy's cache (a shared
 * computer would show the subjects after logout), so `Cache-Control: no-store` is a property
 * of the access level rather than something each route remembers (RFC 9111 §5.2.2.5).
 */
export const noStoreAccess: ReadonlySet<RouteAccess> = new Set<RouteAccess>([
  'recipient',
  'sender',
]);

export function installNoStoreForPrivateRoutes(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const access = request.routeOptions.config?.access;
    if (access && noStoreAccess.has(access)) reply.header('cache-control', 'no-store');
    return payload;
  });
}
