import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { verifyContentDigest } from './content-digest.js';
import {
  createSignature,
  generateSenderKey,
  loadSenderKey,
  parseSignatureFields,
  type SenderKey,
  type SignatureAlgorithm,
  signatureBaseFor,
  signMessage,
  signRequest,
  toPublicKeyObject,
  verifySignature,
} from './sign.js';
import { buildSignatureBase, type MessageDescription } from './signature-base.js';

interface Vector {
  id: string;
  kind: 'request' | 'response';
  alg: SignatureAlgorithm;
  key: string;
  message: {
    method?: string;
    targetUri?: string;
    status?: number;
    headers: Record<string, string>;
    body: string;
  };
  signatureBase: string;
  signatureInput: string;
  signature: string;
}

const vectorsFile = JSON.parse(
  readFileSync(new URL('../test-vectors/rfc9421.json', import.meta.url), 'utf8'),
) as {
  keys: Record<
    string,
    { publicKeyPem: string; privateKeyPem: string; jwk: Record<string, string> }
  >;
  vectors: Vector[];
};

function vector(id: string): Vector {
  const found = vectorsFile.vectors.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`vector ${id} is missing from rfc9421.json`);
  return found;
}

function keyOf(name: string) {
  const key = vectorsFile.keys[name];
  if (!key) throw new Error(`key ${name} is missing from rfc9421.json`);
  return key;
}

function messageOf(v: Vector): MessageDescription {
  return {
    ...(v.message.method ? { method: v.message.method } : {}),
    ...(v.message.targetUri ? { targetUri: v.message.targetUri } : {}),
    ...(v.message.status ? { status: v.message.status } : {}),
    headers: v.message.headers,
  };
}

/** The label=value member of a vector's field, e.g. `sig-b26=(...)` → its parts. */
function splitMember(field: string): { label: string; value: string } {
  const at = field.indexOf('=');
  return { label: field.slice(0, at), value: field.slice(at + 1) };
}

describe('RFC 9421 Appendix B test vectors', () => {
  it('B.2.6 Ed25519: reproduces the signature base byte for byte (§2.5)', () => {
    const v = vector('B.2.6');
    const parsed = parseSignatureFields(v.signatureInput, v.signature);
    const components = parsed.components.map((item) => item.value.value as string);
    const { base } = signatureBaseFor(messageOf(v), { components, params: parsed.params });
    expect(base).toBe(v.signatureBase);
  });

  it('B.2.6 Ed25519: signs to the RFC signature value byte for byte (§3.3.6)', () => {
    const v = vector('B.2.6');
    const signed = signMessage({
      message: messageOf(v),
      components: ['date', '@method', '@path', '@authority', 'content-type', 'content-length'],
      params: { created: 1618884473, keyid: 'test-key-ed25519' },
      key: { algorithm: 'ed25519', privateKey: keyOf(v.key).privateKeyPem },
      label: 'sig-b26',
    });
    expect(signed.base).toBe(v.signatureBase);
    expect(signed.headers['Signature-Input']).toBe(v.signatureInput);
    expect(signed.headers.Signature).toBe(v.signature);
  });

  it('B.2.6 Ed25519: the JWK form of the test key signs identically to the PEM form', () => {
    const v = vector('B.2.6');
    const fromJwk = createSignature(v.signatureBase, 'ed25519', keyOf(v.key).jwk);
    expect(`${splitMember(v.signature).label}=:${fromJwk.toString('base64')}:`).toBe(v.signature);
  });

  it.each(['B.2.6', 'B.2.4', 'B.3'])(
    '%s: the RFC signature verifies with the public key (§3.2)',
    (id) => {
      const v = vector(id);
      const parsed = parseSignatureFields(v.signatureInput, v.signature);
      const components = parsed.components.map((item) => item.value.value as string);
      const base = buildSignatureBase(messageOf(v), { components, params: parsed.params });
      expect(base).toBe(v.signatureBase);
      expect(parsed.signatureParams).toBe(splitMember(v.signatureInput).value);
      for (const publicKey of [keyOf(v.key).publicKeyPem, publicJwkOf(keyOf(v.key).jwk)]) {
        expect(
          verifySignature({ base, signature: parsed.signature, algorithm: v.alg, publicKey }),
        ).toBe(true);
      }
    },
  );

  it.each(['B.2.6', 'B.2.4', 'B.3'])(
    '%s: one changed byte in the base fails verification',
    (id) => {
      const v = vector(id);
      const { signature } = parseSignatureFields(v.signatureInput, v.signature);
      const base = v.signatureBase.replace('created=1618884473', 'created=1618884474');
      const publicKey = keyOf(v.key).publicKeyPem;
      expect(verifySignature({ base, signature, algorithm: v.alg, publicKey })).toBe(false);
    },
  );

  it('B.2.4 and B.2.6: the Content-Digest in the vectors matches the body (RFC 9530 §2)', () => {
    for (const id of ['B.2.6', 'B.2.4']) {
      const v = vector(id);
      const header = v.message.headers['Content-Digest'];
      expect(header).toBeDefined();
      expect(verifyContentDigest(header!, Buffer.from(v.message.body))).toBe(true);
    }
  });

  it('B.3 ECDSA P-256: a new signature over the RFC base verifies but differs (§3.3.4 is not deterministic)', () => {
    const v = vector('B.3');
    const privateKey = keyOf(v.key).privateKeyPem;
    const first = createSignature(v.signatureBase, 'ecdsa-p256-sha256', privateKey);
    const second = createSignature(v.signatureBase, 'ecdsa-p256-sha256', privateKey);
    expect(first).toHaveLength(64); // raw r||s, not DER
    expect(first.equals(second)).toBe(false);
    const publicKey = keyOf(v.key).publicKeyPem;
    for (const signature of [first, second]) {
      expect(
        verifySignature({
          base: v.signatureBase,
          signature,
          algorithm: 'ecdsa-p256-sha256',
          publicKey,
        }),
      ).toBe(true);
    }
  });
});

describe('RFC 9421 signing and verifying round trips', () => {
  it.each(['ed25519', 'ecdsa-p256-sha256'] as const)(
    '%s: signRequest output verifies',
    (algorithm) => {
      const { privateJwk, publicJwk } = generateSenderKey(algorithm);
      const key = loadSenderKey(privateJwk);
      const body = Buffer.from('{"hello": "world"}');
      const headers = { 'Content-Type': 'application/json' };
      const signed = signRequest({
        method: 'post',
        url: 'https://kuvert.example/api/v1/letters?x=1',
        headers,
        body,
        key,
        created: 1_700_000_000,
        nonce: 'fixed-nonce',
      });
      expect(signed['Content-Digest']).toMatch(/^sha-512=:/);
      expect(signed.Date).toBe('Tue, 14 Nov 2023 22:13:20 GMT');
      expect(signed['Signature-Input']).toBe(
        'sig1=("@method" "@authority" "@path" "@query" "content-digest" "content-type" "date")' +
          `;created=1700000000;nonce="fixed-nonce";keyid="${key.keyId}";alg="${algorithm}"`,
      );

      const parsed = parseSignatureFields(signed['Signature-Input']!, signed.Signature!);
      const base = buildSignatureBase(
        {
          method: 'POST',
          authority: 'kuvert.example',
          path: '/api/v1/letters',
          query: '?x=1',
          headers: { ...headers, ...signed },
        },
        {
          components: parsed.components.map((item) => item.value.value as string),
          params: parsed.params,
        },
      );
      expect(base.split('\n')).toEqual([
        '"@method": POST',
        '"@authority": kuvert.example',
        '"@path": /api/v1/letters',
        '"@query": ?x=1',
        `"content-digest": ${signed['Content-Digest']}`,
        '"content-type": application/json',
        '"date": Tue, 14 Nov 2023 22:13:20 GMT',
        `"@signature-params": ${parsed.signatureParams}`,
      ]);
      expect(
        verifySignature({ base, signature: parsed.signature, algorithm, publicKey: publicJwk }),
      ).toBe(true);
    },
  );

  it('refuses to sign a body without a Content-Type: the server requires it covered', () => {
    const key = loadSenderKey(generateSenderKey('ed25519').privateJwk);
    expect(() =>
      signRequest({ method: 'POST', url: 'https://k.example/', body: Buffer.from('x'), key }),
    ).toThrow(/a request with a body needs a Content-Type header/);
  });

  it('without a body: no Content-Digest, no content-type, and "@query" is "?" (§2.2.7)', () => {
    const key = loadSenderKey(generateSenderKey('ed25519').privateJwk);
    const signed = signRequest({
      method: 'GET',
      url: 'https://kuvert.example/api/v1/letters/abc',
      key,
      created: 1_700_000_000,
    });
    expect(signed['Content-Digest']).toBeUndefined();
    expect(signed['Signature-Input']).toMatch(
      /^sig1=\("@method" "@authority" "@path" "@query" "date"\);/,
    );
    const { signature, params, components } = parseSignatureFields(
      signed['Signature-Input']!,
      signed.Signature!,
    );
    const base = buildSignatureBase(
      { method: 'GET', targetUri: 'https://kuvert.example/api/v1/letters/abc', headers: signed },
      { components: components.map((item) => item.value.value as string), params },
    );
    expect(base).toContain('"@query": ?\n');
    expect(
      verifySignature({ base, signature, algorithm: 'ed25519', publicKey: toPublic(key) }),
    ).toBe(true);
  });

  it('every call draws a fresh nonce (base64url of 16 bytes)', () => {
    const key = loadSenderKey(generateSenderKey('ed25519').privateJwk);
    const nonces = new Set(
      Array.from({ length: 20 }, () => {
        const input = signRequest({ method: 'GET', url: 'https://k.example/', key })[
          'Signature-Input'
        ]!;
        return /;nonce="([^"]+)"/.exec(input)?.[1];
      }),
    );
    expect(nonces.size).toBe(20);
    for (const nonce of nonces) expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('a signature by another key of the same algorithm does not verify', () => {
    const signer = loadSenderKey(generateSenderKey('ecdsa-p256-sha256').privateJwk);
    const other = generateSenderKey('ecdsa-p256-sha256').publicJwk;
    const signature = createSignature('base', signer.algorithm, signer.privateKey);
    expect(
      verifySignature({ base: 'base', signature, algorithm: signer.algorithm, publicKey: other }),
    ).toBe(false);
  });

  it('refuses a key whose type does not fit the algorithm (RFC 9421 §3.2 step 6.4)', () => {
    const ed = generateKeyPairSync('ed25519');
    expect(() => createSignature('base', 'ecdsa-p256-sha256', ed.privateKey)).toThrow(/ed25519/);
    const signature = createSignature('base', 'ed25519', ed.privateKey);
    expect(
      verifySignature({
        base: 'base',
        signature,
        algorithm: 'ecdsa-p256-sha256',
        publicKey: ed.publicKey,
      }),
    ).toBe(false);
  });

  it('rejects a DER-encoded ECDSA signature: §3.3.4 wants 64 bytes r||s', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = sign('sha256', Buffer.from('base', 'latin1'), ec.privateKey); // Node's default is DER
    expect(der.length).toBeGreaterThan(64);
    expect(
      verifySignature({
        base: 'base',
        signature: der,
        algorithm: 'ecdsa-p256-sha256',
        publicKey: ec.publicKey,
      }),
    ).toBe(false);
  });
});

describe('sender keys', () => {
  it('generateSenderKey gives JWKs whose kid is the RFC 7638 thumbprint', () => {
    const { privateJwk, publicJwk } = generateSenderKey('ed25519');
    expect(privateJwk.kid).toBe(publicJwk.kid);
    expect(privateJwk.d).toBeTypeOf('string');
    expect(publicJwk.d).toBeUndefined();
    expect(publicJwk.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateSenderKey('ed25519', 'my-key').publicJwk.kid).toBe('my-key');
  });

  it('loadSenderKey reads a JWK object, JWK text and PEM, and infers the algorithm', () => {
    const ed = keyOf('test-key-ed25519');
    const ec = keyOf('test-key-ecc-p256');
    expect(loadSenderKey(ed.jwk)).toMatchObject({
      keyId: 'test-key-ed25519',
      algorithm: 'ed25519',
    });
    expect(loadSenderKey(JSON.stringify(ec.jwk))).toMatchObject({
      keyId: 'test-key-ecc-p256',
      algorithm: 'ecdsa-p256-sha256',
    });
    expect(loadSenderKey(ec.privateKeyPem, 'pem-key')).toMatchObject({
      keyId: 'pem-key',
      algorithm: 'ecdsa-p256-sha256',
    });
  });

  it('loadSenderKey insists on a key id', () => {
    expect(() => loadSenderKey(keyOf('test-key-ed25519').privateKeyPem)).toThrow(/kid/);
  });

  it('loadSenderKey refuses unsupported key types', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    expect(() => loadSenderKey(pem, 'rsa')).toThrow(/unsupported/);
  });
});

function publicJwkOf(jwk: Record<string, string>): Record<string, string> {
  const { d: _private, ...publicJwk } = jwk;
  return publicJwk;
}

function toPublic(key: SenderKey) {
  return toPublicKeyObject(key.privateKey);
}
