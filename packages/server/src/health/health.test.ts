import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert } from '../../test/support/app.js';

/**
 * Liveness and readiness (DESIGN.md: `/healthz` alive, `/readyz` database and blob store
 * reachable). `healthy` stays intact; `broken` has its dependencies taken away one by one.
 */
let healthy: TestKuvert;
let broken: TestKuvert;

beforeAll(async () => {
  [healthy, broken] = await Promise.all([startTestKuvert(), startTestKuvert()]);
});
afterAll(async () => {
  await Promise.all([healthy?.close(), broken?.close()]);
});

const readyz = (kuvert: TestKuvert) => kuvert.app.inject({ method: 'GET', url: '/readyz' });

describe('GET /healthz', () => {
  it('answers 200 with status ok', async () => {
    const response = await healthy.app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('is not listed in the OpenAPI document', async () => {
    const document = (await healthy.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    expect(Object.keys(document.paths)).not.toContain('/healthz');
    expect(Object.keys(document.paths)).not.toContain('/readyz');
  });
});

describe('GET /readyz', () => {
  it('answers 200 with the database and blob store checks ok, never cached', async () => {
    const response = await readyz(healthy);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', checks: { database: 'ok', blobStore: 'ok' } });
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('leaves no probe file behind in the blob store', async () => {
    await readyz(healthy);
    const entries = await readdir(path.join(healthy.dataDir, 'blobs'));
    expect(entries).toEqual([]);
  });

  // The checks below run in order on `broken`: each one changes its state.
  it('answers 503 with blobStore failed when the blob directory is gone, and recovers', async () => {
    expect((await readyz(broken)).statusCode).toBe(200);

    const blobs = path.join(broken.dataDir, 'blobs');
    await rm(blobs, { recursive: true, force: true });
    await writeFile(blobs, 'not a directory');
    const failing = await readyz(broken);
    expect(failing.statusCode).toBe(503);
    expect(failing.json()).toEqual({
      status: 'unavailable',
      checks: { database: 'ok', blobStore: 'failed' },
    });
    expect(failing.headers['cache-control']).toBe('no-store');

    await rm(blobs);
    await mkdir(blobs, { mode: 0o700 });
    expect((await readyz(broken)).statusCode).toBe(200);
  });

  it('answers 503 with database failed right after the database goes away (no cached answer)', async () => {
    const before = await readyz(broken);
    expect(before.statusCode).toBe(200);

    await broken.context.db.destroy();
    const after = await readyz(broken);
    expect(after.statusCode).toBe(503);
    expect(after.json()).toEqual({
      status: 'unavailable',
      checks: { database: 'failed', blobStore: 'ok' },
    });
    expect(after.headers['cache-control']).toBe('no-store');
  });

  it('/healthz still answers 200 while not ready: alive is not ready', async () => {
    expect((await readyz(broken)).statusCode).toBe(503);
    const response = await broken.app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
  });

  it('a 503 readiness answer reveals no error detail', async () => {
    const response = await readyz(broken);
    expect(response.body).not.toMatch(/pool|ECONN|error|stack|postgres/i);
  });
});
