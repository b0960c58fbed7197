import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DocumentIntegrityError,
  lookupHash,
  openDocument,
  openValue,
  rewrapDocumentKey,
  SealedValueIntegrityError,
  sealDocument,
  sealValue,
} from './envelope.js';
import {
  addMasterKeyVersion,
  loadMasterKeys,
  MasterKeyError,
  type MasterKeys,
} from './master-keys.js';

function testMasterKeys(): MasterKeys {
  return {
    currentVersion: 1,
    keys: new Map([[1, randomBytes(32)]]),
    lookupKey: randomBytes(32),
  };
}

function flipBit(bytes: Buffer, bitIndex: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[bitIndex >> 3]! ^= 1 << (bitIndex & 7);
  return copy;
}

describe('sealDocument / openDocument', () => {
  const masterKeys = testMasterKeys();
  const letterId = randomUUID();
  const documentId = randomUUID();
  // Not a repeating pattern, so a 16-byte window match would mean real leakage.
  const plaintext = Buffer.concat([Buffer.from('%PDF-1.7 Skattemelding 2025 '), randomBytes(4000)]);
  const sealed = sealDocument({ plaintext, letterId, documentId, masterKeys });
  const row = { ...sealed, letterId, documentId, masterKeys };

  it('round-trips the plaintext', () => {
    expect(openDocument(row).equals(plaintext)).toBe(true);
  });

  it('round-trips an empty document', () => {
    const empty = sealDocument({ plaintext: Buffer.alloc(0), letterId, documentId, masterKeys });
    expect(openDocument({ ...empty, letterId, documentId, masterKeys }).length).toBe(0);
  });

  it('returns the SHA-256 of the plaintext', () => {
    expect(sealed.sha256.equals(createHash('sha256').update(plaintext).digest())).toBe(true);
  });

  it('writes a self-describing ciphertext: header, nonce, body, tag', () => {
    expect(sealed.ciphertext.subarray(0, 4).toString('hex')).toBe('4b564401');
    expect(sealed.ciphertext.length).toBe(4 + 12 + plaintext.length + 16);
    expect(sealed.keyVersion).toBe(1);
  });

  it('leaves no 16-byte window of the plaintext in the ciphertext', () => {
    for (let offset = 0; offset + 16 <= plaintext.length; offset++) {
      if (sealed.ciphertext.includes(plaintext.subarray(offset, offset + 16))) {
        expect.fail(`plaintext bytes ${offset}..${offset + 16} appear in the ciphertext`);
      }
    }
  });

  it('gives a different ciphertext, data key and wrapping for each seal of the same bytes', () => {
    const again = sealDocument({ plaintext, letterId, documentId, masterKeys });
    expect(again.ciphertext.equals(sealed.ciphertext)).toBe(false);
    expect(again.wrappedKey.equals(sealed.wrappedKey)).toBe(false);
    // distinct nonces
    expect(again.ciphertext.subarray(4, 16).equals(sealed.ciphertext.subarray(4, 16))).toBe(false);
    expect(again.sha256.equals(sealed.sha256)).toBe(true);
  });

  it('fails for a flipped bit anywhere in the ciphertext', () => {
    for (let bit = 0; bit < sealed.ciphertext.length * 8; bit += 7) {
      const ciphertext = flipBit(sealed.ciphertext, bit);
      expect(() => openDocument({ ...row, ciphertext }), `bit ${bit}`).toThrow(
        DocumentIntegrityError,
      );
    }
    // the last bit of the tag too
    const lastBit = flipBit(sealed.ciphertext, sealed.ciphertext.length * 8 - 1);
    expect(() => openDocument({ ...row, ciphertext: lastBit })).toThrow(DocumentIntegrityError);
  });

  it('fails for every flipped bit in the wrapped key', () => {
    for (let bit = 0; bit < sealed.wrappedKey.length * 8; bit++) {
      const wrappedKey = flipBit(sealed.wrappedKey, bit);
      expect(() => openDocument({ ...row, wrappedKey }), `bit ${bit}`).toThrow(
        DocumentIntegrityError,
      );
    }
  });

  it('fails for a truncated or extended ciphertext', () => {
    expect(() => openDocument({ ...row, ciphertext: sealed.ciphertext.subarray(0, 20) })).toThrow(
      DocumentIntegrityError,
    );
    const longer = Buffer.concat([sealed.ciphertext, Buffer.from([0])]);
    expect(() => openDocument({ ...row, ciphertext: longer })).toThrow(DocumentIntegrityError);
    expect(() => openDocument({ ...row, ciphertext: Buffer.alloc(0) })).toThrow(
      DocumentIntegrityError,
    );
  });

  it('fails when the blob is opened under another letter or document id (swapped row)', () => {
    expect(() => openDocument({ ...row, letterId: randomUUID() })).toThrow(DocumentIntegrityError);
    expect(() => openDocument({ ...row, documentId: randomUUID() })).toThrow(
      DocumentIntegrityError,
    );
  });

  it('fails when another document’s blob and key are swapped into this row', () => {
    const other = sealDocument({ plaintext, letterId, documentId: randomUUID(), masterKeys });
    expect(() => openDocument({ ...row, ciphertext: other.ciphertext })).toThrow(
      DocumentIntegrityError,
    );
    expect(() =>
      openDocument({ ...row, ciphertext: other.ciphertext, wrappedKey: other.wrappedKey }),
    ).toThrow(DocumentIntegrityError);
  });

  it('fails when the stored SHA-256 does not match', () => {
    expect(() => openDocument({ ...row, sha256: flipBit(sealed.sha256, 0) })).toThrow(
      DocumentIntegrityError,
    );
    expect(() => openDocument({ ...row, sha256: sealed.sha256.subarray(0, 31) })).toThrow(
      DocumentIntegrityError,
    );
  });

  it('fails under another master key, with the same message whatever the cause', () => {
    const otherKeys = testMasterKeys();
    const causes = [
      () => openDocument({ ...row, masterKeys: otherKeys }),
      () => openDocument({ ...row, ciphertext: flipBit(sealed.ciphertext, 200) }),
      () => openDocument({ ...row, sha256: flipBit(sealed.sha256, 3) }),
    ];
    for (const cause of causes) {
      expect(cause).toThrow(DocumentIntegrityError);
      expect(cause).toThrow('The document failed its integrity check');
    }
  });

  it('binds the wrapped key to its key version', () => {
    const twoVersions: MasterKeys = {
      currentVersion: 2,
      keys: new Map([
        [1, masterKeys.keys.get(1)!],
        [2, masterKeys.keys.get(1)!],
      ]),
      lookupKey: masterKeys.lookupKey,
    };
    // Same key material under another version number must still fail: the AAD names it.
    expect(() => openDocument({ ...row, keyVersion: 2, masterKeys: twoVersions })).toThrow(
      DocumentIntegrityError,
    );
  });

  it('reports a key version that is not loaded as a key problem, not as tampering', () => {
    expect(() => openDocument({ ...row, keyVersion: 9 })).toThrow(MasterKeyError);
  });

  it('refuses ids that contain NUL, which would make the AAD ambiguous', () => {
    expect(() => sealDocument({ plaintext, letterId: 'a\0b', documentId, masterKeys })).toThrow(
      TypeError,
    );
  });
});

describe('key rotation', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'kuvert-envelope-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('opens a document sealed under v1 after rotation, and after rewrapping under v2', async () => {
    const v1 = await loadMasterKeys({ dataDir, createIfMissing: true });
    const letterId = randomUUID();
    const documentId = randomUUID();
    const plaintext = Buffer.from('Vedtak om bostøtte');
    const sealed = sealDocument({ plaintext, letterId, documentId, masterKeys: v1 });
    expect(sealed.keyVersion).toBe(1);

    expect(await addMasterKeyVersion({ dataDir })).toBe(2);
    const v2 = await loadMasterKeys({ dataDir, createIfMissing: true });
    expect(v2.currentVersion).toBe(2);
    const ids = { letterId, documentId, masterKeys: v2 };
    expect(openDocument({ ...sealed, ...ids }).equals(plaintext)).toBe(true);

    const rewrapped = rewrapDocumentKey({ ...sealed, documentId, masterKeys: v2 });
    expect(rewrapped.keyVersion).toBe(2);
    expect(rewrapped.wrappedKey.equals(sealed.wrappedKey)).toBe(false);
    // The blob is untouched; only the wrapped key and its version change.
    expect(openDocument({ ...sealed, ...rewrapped, ...ids }).equals(plaintext)).toBe(true);

    // The rewrapped key is really under v2: without v1 it still opens.
    const onlyV2: MasterKeys = {
      currentVersion: 2,
      keys: new Map([[2, v2.keys.get(2)!]]),
      lookupKey: v2.lookupKey,
    };
    expect(
      openDocument({ ...sealed, ...rewrapped, ...ids, masterKeys: onlyV2 }).equals(plaintext),
    ).toBe(true);
    // New documents are sealed under v2.
    expect(sealDocument({ plaintext, letterId, documentId, masterKeys: v2 }).keyVersion).toBe(2);
  });

  it('refuses to rewrap a tampered key', () => {
    const masterKeys = testMasterKeys();
    const documentId = randomUUID();
    const sealed = sealDocument({
      plaintext: Buffer.from('x'),
      letterId: 'l',
      documentId,
      masterKeys,
    });
    expect(() =>
      rewrapDocumentKey({
        ...sealed,
        wrappedKey: flipBit(sealed.wrappedKey, 100),
        documentId,
        masterKeys,
      }),
    ).toThrow(DocumentIntegrityError);
    expect(() => rewrapDocumentKey({ ...sealed, documentId: randomUUID(), masterKeys })).toThrow(
      DocumentIntegrityError,
    );
  });
});

describe('sealValue / openValue', () => {
  const masterKeys = testMasterKeys();
  const context = 'mailbox:7b0c:national-id';

  it('round-trips strings and bytes', () => {
    const sealed = sealValue('01018012345', context, masterKeys);
    expect(openValue(sealed, context, masterKeys).toString('utf8')).toBe('01018012345');
    const secret = randomBytes(20);
    expect(
      openValue(sealValue(secret, context, masterKeys), context, masterKeys).equals(secret),
    ).toBe(true);
  });

  it('is self-contained: format byte, key version, nonce, ciphertext, tag', () => {
    const sealed = sealValue('01018012345', context, masterKeys);
    expect(sealed[0]).toBe(1);
    expect(sealed.readUInt32BE(1)).toBe(1);
    expect(sealed.length).toBe(1 + 4 + 12 + 11 + 16);
    expect(sealed.includes(Buffer.from('01018012345'))).toBe(false);
  });

  it('differs each time for the same value', () => {
    expect(sealValue('x', context, masterKeys).equals(sealValue('x', context, masterKeys))).toBe(
      false,
    );
  });

  it('fails under another context', () => {
    const sealed = sealValue('JBSWY3DPEHPK3PXP', 'mailbox:1:totp', masterKeys);
    expect(() => openValue(sealed, 'mailbox:2:totp', masterKeys)).toThrow(
      SealedValueIntegrityError,
    );
    expect(() => openValue(sealed, 'mailbox:1:national-id', masterKeys)).toThrow(
      SealedValueIntegrityError,
    );
  });

  it('fails for any flipped bit', () => {
    const sealed = sealValue('01018012345', context, masterKeys);
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      // A flipped version bit names a version that is not loaded: MasterKeyError.
      expect(() => openValue(flipBit(sealed, bit), context, masterKeys), `bit ${bit}`).toThrow(
        bit >= 8 && bit < 40 ? MasterKeyError : SealedValueIntegrityError,
      );
    }
    expect(() => openValue(sealed.subarray(0, 10), context, masterKeys)).toThrow(
      SealedValueIntegrityError,
    );
  });

  it('opens a value sealed under an older version after rotation', () => {
    const old = sealValue('secret', context, masterKeys);
    const rotated: MasterKeys = {
      currentVersion: 2,
      keys: new Map([...masterKeys.keys, [2, randomBytes(32)]]),
      lookupKey: masterKeys.lookupKey,
    };
    expect(openValue(old, context, rotated).toString()).toBe('secret');
    expect(sealValue('secret', context, rotated).readUInt32BE(1)).toBe(2);
  });

  it('is not the same encryption as documents: a sealed value does not open as a wrapped key', () => {
    // Domain separation: both use keys derived from the master key, for different purposes.
    const sealed = sealValue(randomBytes(32), context, masterKeys);
    expect(() =>
      rewrapDocumentKey({ wrappedKey: sealed, keyVersion: 1, documentId: 'd', masterKeys }),
    ).toThrow(DocumentIntegrityError);
  });
});

describe('lookupHash', () => {
  const masterKeys = testMasterKeys();

  it('is stable for the same value and purpose', () => {
    const first = lookupHash('01018012345', 'national-id', masterKeys);
    expect(first.length).toBe(32);
    expect(lookupHash('01018012345', 'national-id', masterKeys).equals(first)).toBe(true);
  });

  it('is HMAC-SHA-256 of purpose NUL value under the lookup key', () => {
    const expected = createHmac('sha256', masterKeys.lookupKey)
      .update('national-id\x0001018012345')
      .digest();
    expect(lookupHash('01018012345', 'national-id', masterKeys).equals(expected)).toBe(true);
  });

  it('depends on the key, the value and the purpose', () => {
    const base = lookupHash('01018012345', 'national-id', masterKeys);
    expect(lookupHash('01018012345', 'national-id', testMasterKeys()).equals(base)).toBe(false);
    expect(lookupHash('01018012346', 'national-id', masterKeys).equals(base)).toBe(false);
    expect(lookupHash('01018012345', 'other', masterKeys).equals(base)).toBe(false);
    // not a plain hash that anyone could compute over all 11-digit numbers
    expect(base.equals(createHash('sha256').update('national-id\x0001018012345').digest())).toBe(
      false,
    );
  });
});
