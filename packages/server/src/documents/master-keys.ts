import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, link, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirectory, writeDurableTempFile } from './durable-files.js';

/**
 * Versioned master keys. Each document's data key is wrapped by one version; rotation adds
 * a version and makes it current, and older versions stay so that old documents still open.
 * The keys come from `KUVERT_MASTER_KEYS` or from `$KUVERT_DATA_DIR/keys/master-keys.json`,
 * never from the database (security invariant 5).
 */
export interface MasterKeys {
  currentVersion: number;
  /** Every loaded version, 32 bytes each. */
  keys: ReadonlyMap<number, Buffer>;
  /** 32-byte HMAC key for lookup hashes of national identity numbers. */
  lookupKey: Buffer;
}

/**
 * Thrown when master keys are missing, malformed or unsafe. A start-up problem for the
 * operator, not an HTTP problem: the messages name the file or variable, never a key.
 */
export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

const KEY_BYTES = 32;
const KEY_FILE_NAME = 'master-keys.json';
const ENV_SOURCE = 'KUVERT_MASTER_KEYS';

/** The JSON shape of both the environment variable and the key file. */
interface MasterKeysJson {
  current: number;
  keys: Record<string, string>;
  lookupKey: string;
}

export function keyFilePath(dataDir: string): string {
  return path.join(dataDir, 'keys', KEY_FILE_NAME);
}

/**
 * Loads the master keys. A missing key file is created only with `createIfMissing`, which
 * `kuvert start` alone passes (and only for an empty database, see runtime.ts): any other
 * command making keys would seal data under keys the server does not have.
 */
export async function loadMasterKeys(options: {
  dataDir: string;
  fromEnv?: string | undefined;
  createIfMissing?: boolean;
}): Promise<MasterKeys> {
  if (options.fromEnv !== undefined && options.fromEnv !== '') {
    return parseMasterKeys(options.fromEnv, ENV_SOURCE);
  }
  const file = keyFilePath(options.dataDir);
  const existing = await readKeyFile(file);
  if (existing !== undefined) return parseMasterKeys(existing, file);
  if (!options.createIfMissing) throw missingKeysError(file);
  return parseMasterKeys(await createKeyFile(file), file);
}

function missingKeysError(file: string): MasterKeyError {
  return new MasterKeyError(
    `No master keys: ${ENV_SOURCE} is unset and there is no key file at ${file}. Only \`kuvert start\` creates keys, on an empty database. Run this command with the server's KUVERT_DATA_DIR (or its ${ENV_SOURCE}), or run \`kuvert start\` once first.`,
  );
}

/**
 * Rotation: adds version N+1 (N the highest version) and makes it current. Old versions
 * stay so that documents wrapped under them still open and can be rewrapped later.
 * Returns the new version.
 */
export async function addMasterKeyVersion(options: { dataDir: string }): Promise<number> {
  const file = keyFilePath(options.dataDir);
  // One rotation at a time: two concurrent ones would both pick N+1 and the last rename
  // would silently drop a key that a server may already have used.
  const lock = `${file}.lock`;
  const lockHandle = await open(lock, 'wx', 0o600).catch((error: unknown) => {
    if (isErrnoException(error) && error.code === 'EEXIST') {
      throw new MasterKeyError(
        `Another key rotation holds ${lock}. If no rotation is running (a crash left it), delete the file and retry.`,
      );
    }
    if (isErrnoException(error) && error.code === 'ENOENT') throw noKeyFileError(file);
    throw error;
  });
  try {
    const raw = await readKeyFile(file);
    if (raw === undefined) throw noKeyFileError(file);
    const keys = parseMasterKeys(raw, file);
    const newVersion = Math.max(...keys.keys.keys()) + 1;
    const updated = new Map(keys.keys).set(newVersion, randomBytes(KEY_BYTES));
    await replaceFileAtomically(
      file,
      serialiseMasterKeys({ currentVersion: newVersion, keys: updated, lookupKey: keys.lookupKey }),
    );
    return newVersion;
  } finally {
    await lockHandle.close();
    await unlink(lock);
  }
}

function noKeyFileError(file: string): MasterKeyError {
  return new MasterKeyError(
    `No key file at ${file}: start Kuvert once to create it (keys given in ${ENV_SOURCE} are rotated by editing that variable)`,
  );
}

// ---------------------------------------------------------------------------------------
// Parsing and validation

/** Strict, canonical base64 (with padding). Buffer.from(…, 'base64') skips junk silently. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const VERSION = /^[1-9][0-9]{0,8}$/;
const FIELDS = new Set(['current', 'keys', 'lookupKey']);

/** Parse and validate the JSON; `source` names the variable or file in messages. */
export function parseMasterKeys(raw: string, source: string): MasterKeys {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    // The parser's message can quote the input, which holds keys: keep it out.
    throw new MasterKeyError(`${source} is not valid JSON`);
  }
  if (!isRecord(json)) {
    throw new MasterKeyError(`${source} must be a JSON object {"current","keys","lookupKey"}`);
  }
  for (const field of Object.keys(json)) {
    if (!FIELDS.has(field)) throw new MasterKeyError(`${source} has an unknown field "${field}"`);
  }
  const { current, keys, lookupKey } = json as Partial<MasterKeysJson>;
  if (typeof current !== 'number' || !Number.isSafeInteger(current) || current < 1) {
    throw new MasterKeyError(`${source}: "current" must be a positive integer key version`);
  }
  if (!isRecord(keys) || Object.keys(keys).length === 0) {
    throw new MasterKeyError(`${source}: "keys" must be an object of version → base64 key`);
  }
  const versions = new Map<number, Buffer>();
  for (const [version, encoded] of Object.entries(keys)) {
    if (!VERSION.test(version)) {
      throw new MasterKeyError(`${source}: key version "${version}" must be a positive integer`);
    }
    versions.set(Number(version), decodeKey(encoded, `${source}: key version ${version}`));
  }
  if (!versions.has(current)) {
    throw new MasterKeyError(`${source}: the current version ${current} is missing from "keys"`);
  }
  const lookup = decodeKey(lookupKey, `${source}: "lookupKey"`);
  for (const [version, key] of versions) {
    // One key for two purposes would tie the lookup hashes to the encryption key.
    if (key.equals(lookup)) {
      throw new MasterKeyError(`${source}: "lookupKey" must differ from key version ${version}`);
    }
  }
  return Object.freeze({ currentVersion: current, keys: versions, lookupKey: lookup });
}

function decodeKey(encoded: unknown, what: string): Buffer {
  if (typeof encoded !== 'string' || encoded === '') {
    throw new MasterKeyError(`${what} must be a base64 string of ${KEY_BYTES} bytes`);
  }
  if (!BASE64.test(encoded)) throw new MasterKeyError(`${what} is not valid base64`);
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length !== KEY_BYTES) {
    throw new MasterKeyError(`${what} must be ${KEY_BYTES} bytes, got ${bytes.length}`);
  }
  // Canonical form only: stray bits in the padding would make two spellings of one key.
  if (bytes.toString('base64') !== encoded) throw new MasterKeyError(`${what} is not valid base64`);
  return bytes;
}

export function serialiseMasterKeys(keys: MasterKeys): string {
  const json: MasterKeysJson = {
    current: keys.currentVersion,
    keys: Object.fromEntries(
      [...keys.keys].map(([version, key]) => [String(version), key.toString('base64')]),
    ),
    lookupKey: keys.lookupKey.toString('base64'),
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

function freshMasterKeys(): MasterKeys {
  return {
    currentVersion: 1,
    keys: new Map([[1, randomBytes(KEY_BYTES)]]),
    lookupKey: randomBytes(KEY_BYTES),
  };
}

// ---------------------------------------------------------------------------------------
// The key file

/**
 * Reads the key file, or undefined when there is none. Mode and content come from the same
 * open descriptor, so the file checked is the file read.
 */
async function readKeyFile(file: string): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    // O_NOFOLLOW: a symlink planted in place of the key file is refused, not followed.
    handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return undefined;
    if (isErrnoException(error) && error.code === 'ELOOP') {
      throw new MasterKeyError(`${file} is a symbolic link; refusing to read keys through it`);
    }
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new MasterKeyError(`${file} is not a regular file`);
    if ((stats.mode & 0o077) !== 0) {
      throw new MasterKeyError(
        `${file} is readable or writable by group or others (mode ${formatMode(stats.mode)}); run "chmod 600 ${file}"`,
      );
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Creates the key file with fresh keys unless another process got there first, and returns
 * the content that won. The content goes to a private temp file first (opened with `wx`,
 * 0600) and is published with link(), which fails when the name exists: a racing process
 * can neither overwrite the winner nor read a half-written file.
 */
async function createKeyFile(file: string): Promise<string> {
  const directory = path.dirname(file);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const content = serialiseMasterKeys(freshMasterKeys());
  const temp = await writeDurableTempFile(directory, content, KEY_FILE_NAME);
  try {
    await link(temp, file);
  } catch (error) {
    if (!(isErrnoException(error) && error.code === 'EEXIST')) throw error;
    const winner = await readKeyFile(file);
    if (winner === undefined) throw error;
    return winner;
  } finally {
    await unlink(temp);
  }
  await fsyncDirectory(directory);
  return content;
}

/** Temp file 0600 + fsync + rename + directory fsync: readers see the old or the new file. */
async function replaceFileAtomically(file: string, content: string): Promise<void> {
  const directory = path.dirname(file);
  const temp = await writeDurableTempFile(directory, content, KEY_FILE_NAME);
  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await fsyncDirectory(directory);
}

function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}
