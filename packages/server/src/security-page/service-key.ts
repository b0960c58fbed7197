import { hkdfSync } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, link, mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { decryptKey, generateKey, type PrivateKey, type PublicKey, readPrivateKey } from 'openpgp';
import { fsyncDirectory, writeDurableTempFile } from '../documents/durable-files.js';
import type { MasterKeys } from '../documents/master-keys.js';

/**
 * The service's OpenPGP key: it signs security.txt and is the key researchers encrypt their
 * reports to. Either the operator supplies it (KUVERT_OPENPGP_KEY_FILE and its passphrase),
 * or Kuvert generates one on first start under the data directory, encrypted with a
 * passphrase derived from the master keys' lookup key (see docs/security.md).
 */
export interface ServiceKey {
  /** The decrypted private key: in memory only, never written out in the clear. */
  privateKey: PrivateKey;
  publicKey: PublicKey;
  /** The armored public key as published at /security/pgp-key.asc. */
  publicKeyArmored: string;
  /** The primary key's fingerprint, upper-case hex. */
  fingerprint: string;
  /** Key ids (hex) a report may be encrypted to: those of our encryption-capable (sub)keys. */
  encryptionKeyIds: ReadonlySet<string>;
}

/** A start-up problem with the service key, for the operator: names the file, never the key. */
export class ServiceKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceKeyError';
  }
}

const KEY_FILE_NAME = 'openpgp-service-key.asc';

export function serviceKeyFilePath(dataDir: string): string {
  return path.join(dataDir, 'keys', KEY_FILE_NAME);
}

/**
 * The passphrase of the generated key file: HKDF-SHA-256 over the lookup key, which never
 * rotates (rotation adds encryption key versions only). The key file alone opens nothing; with
 * the master keys it opens, which is why backups keep both together.
 */
export function derivedServiceKeyPassphrase(keys: MasterKeys): string {
  const bytes = hkdfSync(
    'sha256',
    keys.lookupKey,
    Buffer.alloc(0),
    'kuvert openpgp service key passphrase v1',
    32,
  );
  return Buffer.from(bytes).toString('base64url');
}

/** The security contact's address, if it is an email address, for the key's user id. */
function contactEmail(contact: string): string | undefined {
  if (!contact.startsWith('mailto:')) return undefined;
  const address = decodeURIComponent(contact.slice('mailto:'.length).split('?')[0] ?? '');
  return /^[^\s@<>]+@[^\s@<>]+$/.test(address) ? address : undefined;
}

/**
 * Load the service key. With `keyFile` the operator's key is read and decrypted with its
 * passphrase; otherwise the generated key under the data directory, made first when missing and
 * `createIfMissing` is set (a command that only reads reports must not make a key it has
 * nothing encrypted to).
 */
export async function loadServiceKey(options: {
  dataDir: string;
  keys: MasterKeys;
  contact: string;
  publicUrl: string;
  keyFile?: string | undefined;
  keyPassphrase?: string | undefined;
  createIfMissing: boolean;
}): Promise<ServiceKey> {
  if (options.keyFile) {
    const armored = await readPrivateKeyFile(options.keyFile);
    if (armored === undefined) {
      throw new ServiceKeyError(
        `KUVERT_OPENPGP_KEY_FILE names ${options.keyFile}, which does not exist`,
      );
    }
    return openServiceKey(armored, options.keyPassphrase, options.keyFile);
  }
  const file = serviceKeyFilePath(options.dataDir);
  const passphrase = derivedServiceKeyPassphrase(options.keys);
  const existing = await readPrivateKeyFile(file);
  if (existing !== undefined) return openServiceKey(existing, passphrase, file);
  if (!options.createIfMissing) {
    throw new ServiceKeyError(
      `No OpenPGP service key at ${file}: \`kuvert start\` makes it on first start. Run this command with the server's KUVERT_DATA_DIR (or set KUVERT_OPENPGP_KEY_FILE).`,
    );
  }
  const created = await createKeyFile(file, await generateServiceKey({ ...options, passphrase }));
  return openServiceKey(created, passphrase, file);
}

/** Ed25519 for signing, Curve25519 (ECDH) for encryption: a v4 key every OpenPGP tool reads. */
async function generateServiceKey(options: {
  contact: string;
  publicUrl: string;
  passphrase: string;
}): Promise<string> {
  const email = contactEmail(options.contact);
  const { privateKey } = await generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [
      { name: `Kuvert security (${new URL(options.publicUrl).host})`, ...(email ? { email } : {}) },
    ],
    passphrase: options.passphrase,
    format: 'armored',
  });
  return privateKey;
}

async function openServiceKey(
  armored: string,
  passphrase: string | undefined,
  source: string,
): Promise<ServiceKey> {
  let privateKey: PrivateKey;
  try {
    privateKey = await readPrivateKey({ armoredKey: armored });
  } catch {
    throw new ServiceKeyError(`${source} does not hold an armored OpenPGP private key`);
  }
  if (!privateKey.isDecrypted()) {
    if (!passphrase) {
      throw new ServiceKeyError(`${source} is encrypted: set KUVERT_OPENPGP_KEY_PASSPHRASE`);
    }
    try {
      privateKey = await decryptKey({ privateKey, passphrase });
    } catch {
      throw new ServiceKeyError(`${source} could not be decrypted with the given passphrase`);
    }
  }
  const publicKey = privateKey.toPublic();
  await requireUsable(privateKey, source);
  const encryptionKeyIds = new Set<string>();
  for (const key of [privateKey, ...privateKey.subkeys]) {
    // Every key the message could name; requireUsable has checked that one of them is valid.
    const keyPacket = key.keyPacket;
    const algorithm = keyPacket.getAlgorithmInfo().algorithm;
    if (['ecdh', 'x25519', 'x448', 'rsaEncryptSign', 'rsaEncrypt', 'elgamal'].includes(algorithm)) {
      encryptionKeyIds.add(keyPacket.getKeyID().toHex());
    }
  }
  return {
    privateKey,
    publicKey,
    publicKeyArmored: publicKey.armor(),
    fingerprint: privateKey.getFingerprint().toUpperCase(),
    encryptionKeyIds,
  };
}

/** The key must be able to sign security.txt and to receive encrypted reports, today. */
async function requireUsable(privateKey: PrivateKey, source: string): Promise<void> {
  try {
    await privateKey.getSigningKey();
    await privateKey.toPublic().getEncryptionKey();
  } catch {
    throw new ServiceKeyError(
      `${source}: the OpenPGP key must be valid (not expired or revoked) and able to sign and encrypt`,
    );
  }
}

/**
 * The key file, or undefined when there is none. Like the master key file: no symbolic
 * link, a regular file, not readable by group or others.
 */
async function readPrivateKeyFile(file: string): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new ServiceKeyError(`${file} is a symbolic link; refusing it`);
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new ServiceKeyError(`${file} is not a regular file`);
    if ((stats.mode & 0o077) !== 0) {
      throw new ServiceKeyError(
        `${file} is readable or writable by group or others; run "chmod 600 ${file}"`,
      );
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Publish the new key file with link(), which fails when the name exists: of two processes
 * starting at once, one key wins and both use it.
 */
async function createKeyFile(file: string, content: string): Promise<string> {
  const directory = path.dirname(file);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const temp = await writeDurableTempFile(directory, content, KEY_FILE_NAME);
  try {
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = await readPrivateKeyFile(file);
    if (winner === undefined) throw error;
    return winner;
  } finally {
    await unlink(temp);
  }
  await fsyncDirectory(directory);
  return content;
}
