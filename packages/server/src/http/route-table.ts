import type { FastifyInstance } from 'fastify';

export type RouteAccess = 'public' | 'recipient' | 'sender' | 'development';

export interface RouteEntry {
  method: string;
  url: string;
  access: RouteAccess;
}

/**
 * Every route the app registers, with who may call it. A route without a declared access
 * level fails at start-up, so no route can skip the isolation tests generated from this table.
 */
class RouteTable {
  // Weak: an app that is closed and dropped takes its table with it.
  readonly #routes = new WeakMap<FastifyInstance, RouteEntry[]>();

  collectFrom(app: FastifyInstance): void {
    const entries: RouteEntry[] = [];
    this.#routes.set(app, entries);
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const access = route.config?.access;
      if (!access) {
        throw new Error(`Route ${methods.join(',')} ${route.url} declares no config.access`);
      }
      for (const method of methods) {
        if (method === 'HEAD') continue;
        entries.push({ method, url: route.url, access });
      }
    });
  }

  routesOf(app: FastifyInstance): readonly RouteEntry[] {
    return this.#routes.get(app) ?? [];
  }
}

export const routeTable = new RouteTable();
