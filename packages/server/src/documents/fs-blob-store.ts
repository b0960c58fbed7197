import { randomBytes } from 'node:crypto';
import { constants as fsConstants, writeFile as writeFileCallback } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  assertValidBlobKey,
  BlobExistsError,
  BlobNotFoundError,
  type BlobStore,
} from './blob-store.js';
import { fsyncDirectory, writeDurableTempFile } from './durable-files.js';

/**
 * Blobs as files under `${dataDir}/blobs`. A key `documents/3f2a…` lives at
 * `blobs/documents/3f/3f2a…`: the shard directory (first two characters of the last
 * segment) keeps directories small. Files are 0600 and directories 0700: only the
 * server's user reads ciphertext.
 *
 * The shard is always exactly one path component, so the key → path mapping is
 * one-to-one. Temp files start with a dot, which no key can contain, so they never
 * collide with a blob.
 */
/** The callback form costs fewer objects per call than FileHandle at ingest rates. */
const writeFileDurably = promisify(writeFileCallback);

export class FsBlobStore implements BlobStore {
  readonly root: string;
  private readonly knownDirectories = new Set<string>();
  private readonly directoryHandles = new Map<string, Promise<FileHandle>>();

  constructor(options: { dataDir: string }) {
    this.root = path.join(options.dataDir, 'blobs');
  }

  /**
   * Write once under the final name with O_EXCL, fsync the file and its directory. No temp
   * file and rename: a key is random and written once, and no database row names it until
   * this resolves, so a crash mid-write leaves only an unreferenced partial file. That keeps
   * a put to five system calls plus two fsyncs, which matters at ingest rates.
   */
  async put(key: string, bytes: Buffer): Promise<void> {
    const file = this.pathOf(key);
    const directory = path.dirname(file);
    await this.ensureDirectory(directory);
    try {
      // Open (exclusively: a key is written once), write, fsync and close in one call.
      await writeFileDurably(file, bytes, {
        // 'wx' is O_CREAT | O_EXCL, which also refuses a symbolic link in the blob's place.
        flag: 'wx',
        mode: 0o600,
        flush: true,
      });
    } catch (error) {
      if (isErrno(error, 'EEXIST')) throw new BlobExistsError(key);
      if (isErrno(error, 'ENOENT')) this.knownDirectories.delete(directory);
      // A partly written file that no row refers to; remove it if it is there.
      if (!isErrno(error, 'ENOENT')) await unlink(file).catch(() => undefined);
      throw error;
    }
    await (await this.directoryHandle(directory)).sync();
  }

  /**
   * An open handle per shard directory, kept for the directory fsync after each put: it
   * saves an open and a close per blob. There are at most a few hundred shard directories.
   */
  private directoryHandle(directory: string): Promise<FileHandle> {
    let handle = this.directoryHandles.get(directory);
    if (!handle) {
      handle = open(directory, 'r');
      handle.catch(() => this.directoryHandles.delete(directory));
      this.directoryHandles.set(directory, handle);
    }
    return handle;
  }

  async close(): Promise<void> {
    const handles = [...this.directoryHandles.values()];
    this.directoryHandles.clear();
    await Promise.all(
      handles.map(async (handle) => (await handle.catch(() => undefined))?.close()),
    );
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key), {
        flag: fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW,
      });
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw new BlobNotFoundError(key);
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await unlink(file);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return;
      throw error;
    }
    // A deleted document must stay deleted after a crash (right to erasure).
    await fsyncDirectory(path.dirname(file));
  }

  /** Writes, reads back and removes a probe file: proves the disk is there and writable. */
  async check(): Promise<void> {
    await this.ensureDirectory(this.root);
    const probe = randomBytes(16);
    const temp = await writeDurableTempFile(this.root, probe);
    try {
      const readBack = await readFile(temp);
      if (!readBack.equals(probe)) throw new Error('Blob store check read back different bytes');
    } finally {
      await unlink(temp);
    }
  }

  async *listOlderThan(prefix: string, before: Date): AsyncIterable<string> {
    assertValidBlobKey(`${prefix}/x`);
    yield* this.walk(path.join(this.root, ...prefix.split('/')), prefix.split('/'), before);
  }

  /** Files sit in a shard directory below their key's folders: `<folders…>/<shard>/<name>`. */
  private async *walk(directory: string, folders: string[], before: Date): AsyncIterable<string> {
    const entries = await readdir(directory, { withFileTypes: true }).catch((error: unknown) => {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    });
    for (const entry of entries) {
      const full = path.join(directory, entry.name);
      if (entry.isDirectory()) {
        yield* this.walk(full, [...folders, entry.name], before);
      } else if (entry.isFile() && !entry.name.startsWith('.') && folders.length > 1) {
        const { mtime } = await stat(full);
        if (mtime < before) yield [...folders.slice(0, -1), entry.name].join('/');
      }
    }
  }

  /** The file for a key; throws InvalidBlobKeyError first, so no other string becomes a path. */
  pathOf(key: string): string {
    assertValidBlobKey(key);
    const segments = key.split('/');
    const name = segments.pop()!;
    return path.join(this.root, ...segments, name.slice(0, 2), name);
  }

  /** mkdir -p with mode 0700, then fsync the parents of what was created so it survives a crash. */
  private async ensureDirectory(directory: string): Promise<void> {
    // Shard directories are made once; remembering them saves a mkdir per blob.
    if (this.knownDirectories.has(directory)) return;
    await this.createDirectory(directory);
    this.knownDirectories.add(directory);
  }

  private async createDirectory(directory: string): Promise<void> {
    const firstCreated = await mkdir(directory, { recursive: true, mode: 0o700 });
    if (firstCreated === undefined) return;
    const stop = path.dirname(firstCreated);
    for (let current = directory; ; current = path.dirname(current)) {
      const parent = path.dirname(current);
      await fsyncDirectory(parent);
      if (parent === stop || parent === current) break;
    }
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
