import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertValidBlobKey,
  BlobExistsError,
  BlobNotFoundError,
  type BlobStore,
  type BlobStoreConfig,
  createBlobStore,
  InvalidBlobKeyError,
} from './blob-store.js';
import { FsBlobStore } from './fs-blob-store.js';

// s3rver ships no type declarations; describe the part the tests use.
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

const BUCKET = 'kuvert-test';

/** One real backend per row: the same contract must hold for both. */
interface Backend {
  name: string;
  start(): Promise<{ store: BlobStore; dataDir: string }>;
  stop(): Promise<void>;
}

function baseConfig(dataDir: string): BlobStoreConfig {
  return {
    dataDir,
    KUVERT_BLOB_STORE: 'fs',
    KUVERT_S3_BUCKET: undefined,
    KUVERT_S3_REGION: 'us-east-1',
    KUVERT_S3_ENDPOINT: undefined,
    KUVERT_S3_ACCESS_KEY_ID: undefined,
    KUVERT_S3_SECRET_ACCESS_KEY: undefined,
    KUVERT_S3_FORCE_PATH_STYLE: false,
  };
}

function fsBackend(): Backend {
  let dataDir: string;
  return {
    name: 'filesystem',
    async start() {
      dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-blobs-'));
      return { store: createBlobStore(baseConfig(dataDir)), dataDir };
    },
    async stop() {
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function s3Backend(): Backend {
  let directory: string;
  let server: S3rverInstance;
  let store: BlobStore;
  return {
    name: 's3 (s3rver)',
    async start() {
      directory = await mkdtemp(path.join(tmpdir(), 'kuvert-s3rver-'));
      server = new S3rver({
        port: 0,
        address: '127.0.0.1',
        silent: true,
        directory,
        configureBuckets: [{ name: BUCKET }],
      });
      const { port } = await server.run();
      store = createBlobStore({
        ...baseConfig(directory),
        KUVERT_BLOB_STORE: 's3',
        KUVERT_S3_BUCKET: BUCKET,
        KUVERT_S3_ENDPOINT: `http://127.0.0.1:${port}`,
        // s3rver's documented development credentials
        KUVERT_S3_ACCESS_KEY_ID: 'S3RVER',
        KUVERT_S3_SECRET_ACCESS_KEY: 'S3RVER',
        KUVERT_S3_FORCE_PATH_STYLE: true,
      });
      return { store, dataDir: directory };
    },
    async stop() {
      await store?.close?.();
      await server?.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

describe.each([fsBackend(), s3Backend()])('BlobStore contract: $name', (backend) => {
  let store: BlobStore;

  beforeAll(async () => {
    ({ store } = await backend.start());
  });
  afterAll(async () => {
    await backend.stop();
  });

  const newKey = () => `documents/${randomUUID()}`;

  it('lists the keys under a prefix written before a time', async () => {
    const keys = [newKey(), `documents/letters/${randomUUID()}`];
    for (const key of keys) await store.put(key, randomBytes(10));
    const listed = async (before: Date) => {
      const found: string[] = [];
      for await (const key of store.listOlderThan('documents', before)) found.push(key);
      return found;
    };
    const later = await listed(new Date(Date.now() + 60_000));
    for (const key of keys) expect(later).toContain(key);
    const earlier = await listed(new Date(Date.now() - 60_000));
    for (const key of keys) expect(earlier).not.toContain(key);
  });

  it('round-trips bytes', async () => {
    const key = newKey();
    const bytes = randomBytes(100_000);
    await store.put(key, bytes);
    expect((await store.get(key)).equals(bytes)).toBe(true);
  });

  it('round-trips an empty blob and a nested key', async () => {
    const key = `documents/letters/${randomUUID()}`;
    await store.put(key, Buffer.alloc(0));
    expect((await store.get(key)).length).toBe(0);
  });

  it('throws BlobNotFoundError for a missing key', async () => {
    const key = newKey();
    const error = await store.get(key).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BlobNotFoundError);
    expect((error as BlobNotFoundError).key).toBe(key);
  });

  it('never overwrites: a second put to the same key fails and keeps the first bytes', async () => {
    const key = newKey();
    const first = randomBytes(64);
    await store.put(key, first);
    await expect(store.put(key, randomBytes(64))).rejects.toThrow(BlobExistsError);
    expect((await store.get(key)).equals(first)).toBe(true);
  });

  it('deletes, and deleting an absent key is fine', async () => {
    const key = newKey();
    await store.put(key, randomBytes(10));
    await store.delete(key);
    await expect(store.get(key)).rejects.toThrow(BlobNotFoundError);
    await expect(store.delete(key)).resolves.toBeUndefined();
    await expect(store.delete(newKey())).resolves.toBeUndefined();
  });

  it('passes its readiness check', async () => {
    await expect(store.check()).resolves.toBeUndefined();
  });

  it.each([
    '../etc/passwd',
    '/documents/x',
    'documents/../x',
    'documents/./x',
    'documents//x',
    'documents/x/',
    'Documents/X',
    'documents/report.pdf',
    'documents\\x',
    'documents/x\0',
    'documents/ x',
    '',
    '-',
    'a'.repeat(202),
  ])('rejects the invalid key %j on put, get and delete', async (key) => {
    await expect(store.put(key, Buffer.from('x'))).rejects.toThrow(InvalidBlobKeyError);
    await expect(store.get(key)).rejects.toThrow(InvalidBlobKeyError);
    await expect(store.delete(key)).rejects.toThrow(InvalidBlobKeyError);
  });
});

describe('blob keys', () => {
  it('accepts the keys Kuvert generates', () => {
    expect(() => assertValidBlobKey(`documents/${randomUUID()}`)).not.toThrow();
    expect(() => assertValidBlobKey('a')).not.toThrow();
    expect(() => assertValidBlobKey('a'.repeat(201))).not.toThrow();
  });

  it('does not quote the rejected key in the error', () => {
    expect(() => assertValidBlobKey('../secret-name')).toThrow(InvalidBlobKeyError);
    try {
      assertValidBlobKey('../secret-name');
    } catch (error) {
      expect((error as Error).message).not.toContain('secret-name');
    }
  });
});

describe('FsBlobStore on disk', () => {
  let dataDir: string;
  let store: FsBlobStore;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-fs-blobs-'));
    store = new FsBlobStore({ dataDir });
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stores under blobs/, sharded by the last segment, file 0600 and directories 0700', async () => {
    const id = randomUUID();
    const bytes = randomBytes(32);
    await store.put(`documents/${id}`, bytes);

    const file = path.join(dataDir, 'blobs', 'documents', id.slice(0, 2), id);
    expect(store.pathOf(`documents/${id}`)).toBe(file);
    expect((await readFile(file)).equals(bytes)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    for (const directory of [
      path.join(dataDir, 'blobs'),
      path.join(dataDir, 'blobs', 'documents'),
      path.dirname(file),
    ]) {
      expect((await stat(directory)).mode & 0o777, directory).toBe(0o700);
    }
    // no temp file left next to the blob
    expect(await readdir(path.dirname(file))).toEqual([id]);
  });

  it('leaves no temp files after the readiness check', async () => {
    await store.check();
    const entries = await readdir(path.join(dataDir, 'blobs'));
    expect(entries.filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('maps every key inside the blobs directory', () => {
    const root = path.join(dataDir, 'blobs');
    const file = store.pathOf('a/b/c');
    expect(file.startsWith(`${root}${path.sep}`)).toBe(true);
    expect(file).toBe(path.join(root, 'a', 'b', 'c', 'c'));
  });

  it('is what createBlobStore gives for KUVERT_BLOB_STORE=fs', () => {
    expect(createBlobStore(baseConfig(dataDir))).toBeInstanceOf(FsBlobStore);
  });
});
