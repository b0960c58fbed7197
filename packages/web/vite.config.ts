import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const require = createRequire(import.meta.url);
const pdfjsRoot = path.dirname(require.resolve('pdfjs-dist/package.json'));
const pdfjsVersion = (
  JSON.parse(readFileSync(path.join(pdfjsRoot, 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

/**
 * Where pdf.js finds the data it loads on demand (fonts that a PDF does not embed, CMaps for
 * CJK text, ICC profiles, the JavaScript fallback of the JPEG 2000 decoder). Served from our own
 * origin because the CSP allows nothing else; the version in the path makes the files safe to
 * cache for ever. Keep in sync with src/pdf/pdfjs.ts, which reads it from `import.meta.env`.
 */
const pdfjsAssetBase = `/assets/pdfjs-${pdfjsVersion}/`;
const pdfjsAssetDirs = ['standard_fonts', 'cmaps', 'iccs', 'wasm'];

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full) : [full];
  });
}

/**
 * Copies pdf.js's data files into the build (and serves them in dev). WebAssembly is not copied:
 * the CSP has no 'wasm-unsafe-eval', so the viewer runs pdf.js with `useWasm: false` and its
 * JavaScript decoders instead.
 */
function pdfjsAssets(): Plugin {
  const files = pdfjsAssetDirs.flatMap((dir) =>
    listFiles(path.join(pdfjsRoot, dir))
      .filter((file) => !file.endsWith('.wasm'))
      .map((file) => ({ file, url: pdfjsAssetBase + path.relative(pdfjsRoot, file) })),
  );
  return {
    name: 'kuvert-pdfjs-assets',
    config: () => ({
      define: { 'import.meta.env.KUVERT_PDFJS_ASSETS': JSON.stringify(pdfjsAssetBase) },
    }),
    configureServer(server) {
      const byUrl = new Map(files.map((entry) => [entry.url, entry.file]));
      server.middlewares.use((req, res, next) => {
        const file = req.url ? byUrl.get(req.url.split('?')[0] ?? '') : undefined;
        if (!file) return next();
        res.setHeader(
          'Content-Type',
          file.endsWith('.js') ? 'text/javascript' : 'application/octet-stream',
        );
        res.end(readFileSync(file));
      });
    },
    generateBundle() {
      for (const { file, url } of files) {
        this.emitFile({ type: 'asset', fileName: url.slice(1), source: readFileSync(file) });
      }
    },
  };
}

export default defineConfig({
  base: '/',
  plugins: [react(), pdfjsAssets()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The polyfill would be an inline <script>, which the CSP forbids.
    modulePreload: { polyfill: false },
    // Never turn an asset into a data: URL: a worker or script from data: breaks the CSP.
    assetsInlineLimit: 0,
    // pdf.js (about 500 kB minified) is its own chunk, loaded only by the letter view; the inbox
    // and login stay small. zxcvbn-ts's dictionaries (the common passwords, about 1.2 MB) are
    // chunks of their own too, loaded only when someone types a new passphrase. The warning
    // limit is raised for those known chunks.
    chunkSizeWarningLimit: 1300,
  },
  server: {
    proxy: {
      // `npm run dev -w @kuvert/web` next to `npm start`: the API is the real server.
      '/api': process.env.KUVERT_DEV_API ?? 'http://localhost:8080',
    },
  },
});
