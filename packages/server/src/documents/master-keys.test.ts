import { randomBytes } from 'node:crypto';
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addMasterKeyVersion,
  keyFilePath,
  loadMasterKeys,
  MasterKeyError,
  parseMasterKeys,
} from './master-keys.js';

const key = () => randomBytes(32).toString('base64');

function keysJson(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ current: 1, keys: { '1': key() }, lookupKey: key(), ...overrides });
}

describe('master keys', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-keys-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('key file', () => {
    it('is created on first load with version 1, mode 0600, in a 0700 directory', async () => {
      const keys = await loadMasterKeys({ dataDir, createIfMissing: true });
      expect(keys.currentVersion).toBe(1);
      expect([...keys.keys.keys()]).toEqual([1]);
      expect(keys.keys.get(1)!.length).toBe(32);
      expect(keys.lookupKey.length).toBe(32);
      expect(keys.lookupKey.equals(keys.keys.get(1)!)).toBe(false);

      const file = keyFilePath(dataDir);
      expect(file).toBe(path.join(dataDir, 'keys', 'master-keys.json'));
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
      // no temp files left behind
      expect(await readdir(path.dirname(file))).toEqual(['master-keys.json']);
    });

    it('is not created unless asked: a missing file is refused by its path, nothing written', async () => {
      const error = await loadMasterKeys({ dataDir }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MasterKeyError);
      expect((error as Error).message).toContain(keyFilePath(dataDir));
      expect((error as Error).message).toMatch(/kuvert start/);
      expect(await readdir(dataDir)).toEqual([]);
    });

    it('is reused on the second load', async () => {
      const first = await loadMasterKeys({ dataDir, createIfMissing: true });
      const second = await loadMasterKeys({ dataDir, createIfMissing: true });
      expect(second.keys.get(1)!.equals(first.keys.get(1)!)).toBe(true);
      expect(second.lookupKey.equals(first.lookupKey)).toBe(true);
    });

    it('survives racing first loads: every process ends up with the same keys', async () => {
      const loads = await Promise.all(
        Array.from({ length: 8 }, () => loadMasterKeys({ dataDir, createIfMissing: true })),
      );
      const winner = loads[0]!.keys.get(1)!;
      for (const keys of loads) expect(keys.keys.get(1)!.equals(winner)).toBe(true);
      const onDisk = await loadMasterKeys({ dataDir, createIfMissing: true });
      expect(onDisk.keys.get(1)!.equals(winner)).toBe(true);
      expect(await readdir(path.join(dataDir, 'keys'))).toEqual(['master-keys.json']);
    });

    it('is refused when group or others can read it', async () => {
      await loadMasterKeys({ dataDir, createIfMissing: true });
      const file = keyFilePath(dataDir);
      for (const mode of [0o640, 0o604, 0o660, 0o644]) {
        await chmod(file, mode);
        await expect(loadMasterKeys({ dataDir, createIfMissing: true })).rejects.toThrow(
          MasterKeyError,
        );
        await expect(loadMasterKeys({ dataDir, createIfMissing: true })).rejects.toThrow(
          /group or others.*chmod 600/,
        );
      }
      await chmod(file, 0o600);
      await expect(loadMasterKeys({ dataDir, createIfMissing: true })).resolves.toBeDefined();
    });

    it('is refused through a symbolic link', async () => {
      const elsewhere = path.join(dataDir, 'elsewhere.json');
      await writeFile(elsewhere, keysJson(), { mode: 0o600 });
      await mkdir(path.join(dataDir, 'keys'), { mode: 0o700 });
      await symlink(elsewhere, keyFilePath(dataDir));
      await expect(loadMasterKeys({ dataDir, createIfMissing: true })).rejects.toThrow(
        /symbolic link/,
      );
    });

    it('reports a malformed file by its path without quoting its content', async () => {
      await mkdir(path.join(dataDir, 'keys'), { mode: 0o700 });
      const secret = key();
      await writeFile(keyFilePath(dataDir), `{"current":1,"keys":{"1":"${secret}"`, {
        mode: 0o600,
      });
      const error = await loadMasterKeys({ dataDir, createIfMissing: true }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(MasterKeyError);
      expect((error as Error).message).toContain(keyFilePath(dataDir));
      expect((error as Error).message).toContain('not valid JSON');
      expect((error as Error).message).not.toContain(secret);
    });
  });

  describe('KUVERT_MASTER_KEYS', () => {
    it('wins over the key file and creates no file', async () => {
      const json = keysJson({ current: 2, keys: { '1': key(), '2': key() } });
      const keys = await loadMasterKeys({ dataDir, fromEnv: json });
      expect(keys.currentVersion).toBe(2);
      expect(keys.keys.get(2)!.toString('base64')).toBe(JSON.parse(json).keys['2']);
      await expect(stat(keyFilePath(dataDir))).rejects.toThrow(/ENOENT/);

      const fromFile = await loadMasterKeys({ dataDir, createIfMissing: true });
      const fromEnvAgain = await loadMasterKeys({ dataDir, fromEnv: json });
      expect(fromEnvAgain.keys.get(1)!.equals(fromFile.keys.get(1)!)).toBe(false);
    });

    it('is ignored when empty', async () => {
      const keys = await loadMasterKeys({ dataDir, fromEnv: '', createIfMissing: true });
      expect(keys.currentVersion).toBe(1);
      expect((await stat(keyFilePath(dataDir))).isFile()).toBe(true);
    });
  });

  describe('validation', () => {
    const cases: [string, string, RegExp][] = [
      ['not JSON', 'current=1', /not valid JSON/],
      ['an array', '[]', /must be a JSON object/],
      [
        'no current version',
        JSON.stringify({ keys: { '1': key() }, lookupKey: key() }),
        /"current" must be a positive integer/,
      ],
      ['current version 0', keysJson({ current: 0 }), /"current" must be a positive integer/],
      [
        'current version as a string',
        keysJson({ current: '1' }),
        /"current" must be a positive integer/,
      ],
      [
        'current version missing from keys',
        keysJson({ current: 2 }),
        /current version 2 is missing/,
      ],
      ['no keys', keysJson({ keys: {} }), /"keys" must be an object/],
      [
        'a non-numeric version',
        keysJson({ keys: { '1': key(), one: key() } }),
        /key version "one" must be a positive integer/,
      ],
      [
        'a short key',
        keysJson({ keys: { '1': randomBytes(16).toString('base64') } }),
        /key version 1 must be 32 bytes, got 16/,
      ],
      [
        'a long key',
        keysJson({ keys: { '1': randomBytes(33).toString('base64') } }),
        /must be 32 bytes, got 33/,
      ],
      [
        'a key that is not base64',
        keysJson({ keys: { '1': `${'!'.repeat(43)}=` } }),
        /key version 1 is not valid base64/,
      ],
      [
        'a key in hex',
        keysJson({ keys: { '1': randomBytes(32).toString('hex') } }),
        /is not valid base64|must be 32 bytes/,
      ],
      [
        'a key with non-canonical padding bits',
        keysJson({ keys: { '1': `${'A'.repeat(42)}B=` } }),
        /is not valid base64/,
      ],
      ['a key that is a number', keysJson({ keys: { '1': 12 } }), /must be a base64 string/],
      [
        'no lookup key',
        JSON.stringify({ current: 1, keys: { '1': key() } }),
        /"lookupKey" must be a base64 string/,
      ],
      [
        'a short lookup key',
        keysJson({ lookupKey: randomBytes(31).toString('base64') }),
        /"lookupKey" must be 32 bytes, got 31/,
      ],
      ['an unknown field', keysJson({ lookupkey: key() }), /unknown field "lookupkey"/],
    ];
    for (const [name, json, message] of cases) {
      it(`rejects ${name}`, () => {
        expect(() => parseMasterKeys(json, 'KUVERT_MASTER_KEYS')).toThrow(MasterKeyError);
        expect(() => parseMasterKeys(json, 'KUVERT_MASTER_KEYS')).toThrow(message);
      });
    }

    it('rejects a lookup key equal to an encryption key', () => {
      const shared = key();
      expect(() =>
        parseMasterKeys(keysJson({ keys: { '1': shared }, lookupKey: shared }), 'env'),
      ).toThrow(/"lookupKey" must differ from key version 1/);
    });

    it('names the source and never the key in messages', () => {
      const short = randomBytes(16).toString('base64');
      const error = (() => {
        try {
          parseMasterKeys(keysJson({ keys: { '1': short } }), 'KUVERT_MASTER_KEYS');
        } catch (caught) {
          return caught as Error;
        }
        throw new Error('expected a MasterKeyError');
      })();
      expect(error.message.startsWith('KUVERT_MASTER_KEYS')).toBe(true);
      expect(error.message).not.toContain(short);
    });

    it('rejects malformed input given through the environment', async () => {
      await expect(loadMasterKeys({ dataDir, fromEnv: '{"current":1}' })).rejects.toThrow(
        /^KUVERT_MASTER_KEYS: "keys" must be an object/,
      );
    });
  });

  describe('rotation', () => {
    it('adds version N+1, makes it current and keeps the old versions', async () => {
      const before = await loadMasterKeys({ dataDir, createIfMissing: true });
      expect(await addMasterKeyVersion({ dataDir })).toBe(2);
      expect(await addMasterKeyVersion({ dataDir })).toBe(3);
      const after = await loadMasterKeys({ dataDir, createIfMissing: true });
      expect(after.currentVersion).toBe(3);
      expect([...after.keys.keys()].sort()).toEqual([1, 2, 3]);
      expect(after.keys.get(1)!.equals(before.keys.get(1)!)).toBe(true);
      expect(after.keys.get(3)!.equals(after.keys.get(2)!)).toBe(false);
      // lookup hashes must stay stable across rotation
      expect(after.lookupKey.equals(before.lookupKey)).toBe(true);

      const file = keyFilePath(dataDir);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await readdir(path.dirname(file))).toEqual(['master-keys.json']);
      expect(JSON.parse(await readFile(file, 'utf8')).current).toBe(3);
    });

    it('refuses to rotate when there is no key file', async () => {
      await expect(addMasterKeyVersion({ dataDir })).rejects.toThrow(/No key file/);
    });

    it('refuses to rotate a file that group or others can read', async () => {
      await loadMasterKeys({ dataDir, createIfMissing: true });
      await chmod(keyFilePath(dataDir), 0o644);
      await expect(addMasterKeyVersion({ dataDir })).rejects.toThrow(/group or others/);
      // and releases its lock
      await chmod(keyFilePath(dataDir), 0o600);
      await expect(addMasterKeyVersion({ dataDir })).resolves.toBe(2);
    });

    it('refuses a second rotation while one holds the lock', async () => {
      await loadMasterKeys({ dataDir, createIfMissing: true });
      await writeFile(`${keyFilePath(dataDir)}.lock`, '', { mode: 0o600 });
      await expect(addMasterKeyVersion({ dataDir })).rejects.toThrow(/Another key rotation/);
      expect((await loadMasterKeys({ dataDir, createIfMissing: true })).currentVersion).toBe(1);
    });
  });
});
