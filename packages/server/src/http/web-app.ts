import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fastifyPlugin from 'fastify-plugin';
import type { Logger } from 'pino';
import { KuvertError } from '../errors.js';
import { problemFor, sendProblem } from './problem.js';
import { pathAndQueryOf, pathOf, targetHostOf } from './request-target.js';

const webDist = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.bcmap': 'application/octet-stream',
  '.wasm': 'application/wasm',
  '.ttf': 'font/ttf',
  '.pfb': 'application/octet-stream',
};

interface StaticFile {
  body: Buffer;
  contentType: string;
  immutable: boolean;
}

/** The built web app, read once at start-up: a few files, served from memory. */
function loadWebApp(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!existsSync(dir)) return files;
  const walk = (current: string) => {
    for (const name of readdirSync(current)) {
      const full = path.join(current, name);
      if (statSync(full).isDirectory()) {
        walk(full);
        continue;
      }
      const urlPath = `/${path.relative(dir, full).split(path.sep).join('/')}`;
      files.set(urlPath, {
        body: readFileSync(full),
        contentType: contentTypes[path.extname(name)] ?? 'application/octet-stream',
        // Vite puts content hashes in the names under /assets: cache those forever.
        immutable: urlPath.startsWith('/assets/'),
      });
    }
  };
  walk(dir);
  return files;
}

/**
 * Paths the single-page app does not own: an unknown one is a 404 problem, never the index.
 * That includes /assets/: a missing chunk (say, an old hash after a deploy) must not come back
 * as HTML with status 200.
 */
const isApiPath = (url: string) =>
  /^\/(api|dev|problems|\.well-known|assets|security)(\/|$)/.test(url);

export function webAppRoutes(context: {
  config: { KUVERT_PUBLIC_URL: string };
  log: Logger;
}): FastifyPluginAsyncTypebox {
  const files = loadWebApp(webDist);
  const index = files.get('/index.html');
  const canonicalHost = new URL(context.config.KUVERT_PUBLIC_URL).host;
  const canonicalOrigin = new URL(context.config.KUVERT_PUBLIC_URL).origin;
  if (!index) context.log.warn('web app is not built: run `npm run build:web`');

  // Not encapsulated: the not-found handler must be the root one.
  const plugin: FastifyPluginAsyncTypebox = async (app) => {
    app.get<{ Params: { '*': string } }>(
      '/assets/*',
      { config: { access: 'public' }, schema: { hide: true } },
      async (request, reply) => {
        const file = files.get(`/assets/${request.params['*']}`);
        if (!file) return reply.callNotFound();
        return reply
          .header('content-type', file.contentType)
          .header(
            'cache-control',
            file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
          )
          .send(file.body);
      },
    );

    app.setNotFoundHandler((request, reply) => {
      const target = pathAndQueryOf(request.url);
      const pathname = pathOf(request.url);
      const file = files.get(pathname);
      const isRead = request.method === 'GET' || request.method === 'HEAD';
      if (isRead && file && pathname !== '/index.html') {
        return reply
          .header('content-type', file.contentType)
          .header('cache-control', 'no-cache')
          .send(file.body);
      }
      if (isRead && !isApiPath(pathname) && index) {
        // The web app lives on the canonical origin only: its session cookie and CSRF checks
        // are bound to it, so a page opened under another host name is sent there.
        // Only the path goes into the Location: a request in absolute form
        // (`GET http://evil.example/ HTTP/1.1`) must not name the host we send the browser to.
        if (targetHostOf(request) !== canonicalHost) {
          return reply.redirect(`${canonicalOrigin}${target}`, 308);
        }
        return reply
          .header('content-type', index.contentType)
          .header('cache-control', 'no-cache')
          .send(index.body);
      }
      return sendProblem(
        reply,
        problemFor(new KuvertError('not_found'), request, context.config.KUVERT_PUBLIC_URL),
      );
    });
  };
  return fastifyPlugin(plugin);
}
