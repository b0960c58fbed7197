import { readFileSync } from 'node:fs';
import {
  createContentDigest,
  generateSenderKey,
  loadSenderKey,
  parseSignatureFields,
  type SenderKey,
  type SignatureAlgorithm,
  signMessage,
  signRequest,
} from '@kuvert/sdk';
import { describe, expect, it } from 'vitest';
import { KuvertError } from '../errors.js';
import {
  refuseUnlessBodyMatches,
  type SenderKeyRecord,
  type SignatureNonce,
  signatureVerifies,
  type VerifyOptions,
  verifySignedRequest,
} from './http-signatures.js';

/** Time is frozen: every request is verified at this instant. */
const NOW = new Date('2026-11-25T12:00:00Z');
const NOW_SECONDS = NOW.getTime() / 1000;
const AUTHORITY = 'kuvert.example';

function registeredSender(senderId: string, algorithm: SignatureAlgorithm, keyId: string) {
  const { privateJwk, publicJwk } = generateSenderKey(algorithm, keyId);
  const record: SenderKeyRecord = { keyId, senderId, algorithm, publicKey: publicJwk };
  return { key: loadSenderKey(privateJwk), record };
}

const edSender = registeredSender('sender-ed', 'ed25519', 'key-ed');
const ecSender = registeredSender('sender-ec', 'ecdsa-p256-sha256', 'key-ec');
const otherSender = registeredSender('sender-other', 'ed25519', 'key-other');
const revokedSender = registeredSender('sender-revoked', 'ed25519', 'key-revoked');

/** The key store: revoked keys are not found, as the real findKey promises. */
const activeKeys = new Map(
  [edSender, ecSender, otherSender].map(({ record }) => [record.keyId, record]),
);

interface RequestSpec {
  key?: SenderKey;
  /** The authority signed for and sent as Host; this server's is AUTHORITY. */
  authority?: string;
  method?: string;
  path?: string;
  query?: string;
  body?: Buffer;
  created?: number;
  nonce?: string;
  extraHeaders?: Record<string, string>;
  components?: string[];
}

/** A request signed by the SDK, as the server would see it (lower-case header names). */
function signedRequest(spec: RequestSpec = {}) {
  const method = spec.method ?? 'POST';
  const path = spec.path ?? '/api/v1/letters';
  const query = spec.query ?? '';
  const body =
    spec.body ?? (method === 'POST' ? Buffer.from('--b\r\nletter bytes\r\n--b--\r\n') : undefined);
  const given: Record<string, string> = { ...spec.extraHeaders };
  if (body) given['content-type'] = 'multipart/form-data; boundary=b';
  const added = signRequest({
    method,
    url: `https://${spec.authority ?? AUTHORITY}${path}${query}`,
    headers: given,
    key: spec.key ?? edSender.key,
    created: spec.created ?? NOW_SECONDS,
    ...(body ? { body } : {}),
    ...(spec.nonce ? { nonce: spec.nonce } : {}),
    ...(spec.components ? { components: spec.components } : {}),
  });
  const headers: Record<string, string> = { host: spec.authority ?? AUTHORITY };
  for (const [name, value] of Object.entries({ ...given, ...added }))
    headers[name.toLowerCase()] = value;
  return { method, authority: AUTHORITY, path, query, headers, body };
}

type RequestUnderTest = Pick<
  VerifyOptions,
  'method' | 'authority' | 'path' | 'query' | 'headers'
> & {
  receivedAuthority?: string;
  body: Buffer | undefined;
};

/** The nonces recorded so far, as the route would record them after a verified request. */
function nonceStore() {
  const seen = new Set<string>();
  return {
    nonceUsed: async (keyId: string, nonce: string) => seen.has(`${keyId} ${nonce}`),
    record: (nonce: SignatureNonce) => seen.add(`${nonce.keyId} ${nonce.nonce}`),
  };
}

/**
 * Verifies as the server does: the signature from the headers, then the body (in two pieces,
 * as it would stream in) against the signed digest, then records the nonce.
 */
async function verifyInFull(
  request: RequestUnderTest,
  overrides: Partial<VerifyOptions> = {},
  nonces = nonceStore(),
) {
  const { body, ...rest } = request;
  const verified = await verifySignedRequest({
    ...rest,
    hasBody: body !== undefined && body.length > 0,
    now: NOW,
    findKey: async (keyId) => activeKeys.get(keyId),
    nonceUsed: nonces.nonceUsed,
    ...overrides,
  });
  if (verified.body) {
    const bytes = body ?? Buffer.alloc(0);
    verified.body.update(bytes.subarray(0, 7));
    verified.body.update(bytes.subarray(7));
    refuseUnlessBodyMatches(verified.body);
  }
  nonces.record(verified.nonce);
  return verified;
}

async function verify(
  request: RequestUnderTest,
  overrides: Partial<VerifyOptions> = {},
  nonces = nonceStore(),
): Promise<{ senderId: string; keyId: string }> {
  const { senderId, keyId } = await verifyInFull(request, overrides, nonces);
  return { senderId, keyId };
}

/** Expects signature_invalid and returns the log reason, which the client never sees. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => {
      throw new Error('the request was accepted');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(KuvertError);
  const kuvertError = error as KuvertError;
  expect(kuvertError.code).toBe('signature_invalid');
  expect(kuvertError.status).toBe(401);
  expect(kuvertError.detail).toBeUndefined(); // nothing about which check failed
  expect(kuvertError.message).toBe('The request signature could not be verified');
  const reason = kuvertError.extra.logReason;
  expect(reason).toBeTypeOf('string');
  reasons.set(expect.getState().currentTestName ?? '', reason!);
  return reason!;
}

const reasons = new Map<string, string>();

function withHeader(
  request: RequestUnderTest,
  name: string,
  value: string | undefined,
): RequestUnderTest {
  return { ...request, headers: { ...request.headers, [name]: value } };
}

describe('RFC 9421 verification', () => {
  it('accepts a valid Ed25519 request signed by the SDK', async () => {
    await expect(verify(signedRequest())).resolves.toEqual({
      senderId: 'sender-ed',
      keyId: 'key-ed',
    });
  });

  it('accepts a valid ECDSA P-256 request signed by the SDK (§3.3.4)', async () => {
    await expect(verify(signedRequest({ key: ecSender.key }))).resolves.toEqual({
      senderId: 'sender-ec',
      keyId: 'key-ec',
    });
  });

  it('accepts a signed GET without a body and without content-digest', async () => {
    const request = signedRequest({ method: 'GET', path: '/api/v1/letters/123', query: '?x=1' });
    expect(request.headers['content-digest']).toBeUndefined();
    await expect(verify(request)).resolves.toMatchObject({ senderId: 'sender-ed' });
  });

  it('accepts created exactly 300 s in the past and in the future (the edges of the window)', async () => {
    for (const created of [NOW_SECONDS - 300, NOW_SECONDS + 300]) {
      const request = signedRequest({ created, extraHeaders: { date: NOW.toUTCString() } });
      await expect(verify(request)).resolves.toMatchObject({ senderId: 'sender-ed' });
    }
  });

  it('uses the first Signature-Input member that has a Signature member (§3.2 step 1)', async () => {
    const request = signedRequest();
    const headers = {
      ...request.headers,
      'signature-input': `unsigned=("@method");created=1, ${request.headers['signature-input']}`,
    };
    await expect(verify({ ...request, headers })).resolves.toMatchObject({ senderId: 'sender-ed' });
  });

  it('refuses a request without a Signature header', async () => {
    const reason = await refusal(verify(withHeader(signedRequest(), 'signature', undefined)));
    expect(reason).toMatch(/Signature header is missing/);
  });

  it('refuses a request without a Signature-Input header', async () => {
    const reason = await refusal(verify(withHeader(signedRequest(), 'signature-input', undefined)));
    expect(reason).toMatch(/Signature-Input header is missing/);
  });

  it('refuses Signature and Signature-Input with no label in common (§4)', async () => {
    const request = signedRequest();
    const signature = request.headers.signature!.replace(/^sig1=/, 'other=');
    const reason = await refusal(verify(withHeader(request, 'signature', signature)));
    expect(reason).toMatch(/no Signature-Input member has a matching Signature member/);
  });

  it('refuses an unknown keyid', async () => {
    const stranger = loadSenderKey(generateSenderKey('ed25519', 'key-unknown').privateJwk);
    const reason = await refusal(verify(signedRequest({ key: stranger })));
    expect(reason).toMatch(/keyid "key-unknown" is unknown or revoked/);
  });

  it('refuses a revoked key (findKey does not return it)', async () => {
    const reason = await refusal(verify(signedRequest({ key: revokedSender.key })));
    expect(reason).toMatch(/keyid "key-revoked" is unknown or revoked/);
  });

  it("refuses another sender's key id on this sender's signature (wrong key)", async () => {
    const impostor: SenderKey = { ...edSender.key, keyId: otherSender.record.keyId };
    const reason = await refusal(verify(signedRequest({ key: impostor })));
    expect(reason).toMatch(/does not verify with key key-other/);
  });

  it('refuses a tampered body: Content-Digest mismatch (RFC 9530 §2)', async () => {
    const request = signedRequest();
    // The last byte: the body is hashed as it streams in (two pieces here), to its very end.
    const tampered = Buffer.from(request.body!);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    const reason = await refusal(verify({ ...request, body: tampered }));
    expect(reason).toMatch(/Content-Digest mismatch/);
  });

  it('refuses a body whose content-digest is not among the covered components', async () => {
    const request = signedRequest({
      components: ['@method', '@authority', '@path', '@query', 'content-type', 'date'],
    });
    const reason = await refusal(verify(request));
    expect(reason).toMatch(/has a body but required components are not covered: content-digest$/);
  });

  it('refuses a body whose content-type is not among the covered components', async () => {
    const request = signedRequest({
      components: ['@method', '@authority', '@path', '@query', 'content-digest', 'date'],
    });
    const reason = await refusal(verify(request));
    expect(reason).toMatch(/has a body but required components are not covered: content-type$/);
  });

  it('refuses a request that announces a body but sends no Content-Digest', async () => {
    const request = signedRequest({
      components: [
        '@method',
        '@authority',
        '@path',
        '@query',
        'content-digest',
        'content-type',
        'date',
      ],
    });
    const reason = await refusal(verify(withHeader(request, 'content-digest', undefined)));
    expect(reason).toMatch(/has a body but no Content-Digest header/);
  });

  it('checks a Content-Digest sent without a body against empty content', async () => {
    const request = signedRequest({ method: 'GET', path: '/api/v1/letters/1' });
    const withDigest = withHeader(request, 'content-digest', createContentDigest(Buffer.from('x')));
    const reason = await refusal(verify(withDigest));
    expect(reason).toMatch(/no body, but its Content-Digest mismatch/);
  });

  it('refuses a request that does not cover a required component (date)', async () => {
    const request = signedRequest({
      components: ['@method', '@authority', '@path', '@query', 'content-digest', 'content-type'],
    });
    const reason = await refusal(verify(request));
    expect(reason).toMatch(/required components are not covered: date/);
  });

  it('refuses a Content-Digest with only unsupported algorithms', async () => {
    const request = signedRequest();
    const reason = await refusal(
      verify(withHeader(request, 'content-digest', 'md5=:HUXZLQLMuI/KZ5KDcJPcOA==:')),
    );
    expect(reason).toMatch(/Content-Digest no-supported-algorithm/);
  });

  it('refuses a changed method (signature covers @method)', async () => {
    const reason = await refusal(verify({ ...signedRequest(), method: 'PUT' }));
    expect(reason).toBe(
      'signature sig1 does not verify with key key-ed over PUT kuvert.example/api/v1/letters',
    );
  });

  it('refuses a changed path (signature covers @path)', async () => {
    const reason = await refusal(verify({ ...signedRequest(), path: '/api/v1/letters/other' }));
    expect(reason).toMatch(
      /does not verify with key key-ed over POST kuvert.example\/api\/v1\/letters\/other$/,
    );
  });

  it('refuses a changed query (signature covers @query)', async () => {
    const reason = await refusal(verify({ ...signedRequest(), query: '?dryRun=false' }));
    expect(reason).toMatch(
      /does not verify with key key-ed over POST kuvert.example\/api\/v1\/letters\?dryRun=false$/,
    );
  });

  it('refuses a changed authority (signature covers @authority)', async () => {
    const reason = await refusal(verify({ ...signedRequest(), authority: 'evil.example' }));
    expect(reason).toMatch(
      /does not verify with key key-ed over POST evil.example\/api\/v1\/letters$/,
    );
  });

  it('refuses a request signed for another instance sharing the key, whatever its Host header', async () => {
    const staging = signedRequest({ authority: 'staging.kuvert.example' });
    // Sent here with its own Host header (the attacker controls it): still refused, because
    // the server checks @authority against its KUVERT_PUBLIC_URL, not against Host.
    const reason = await refusal(
      verify({ ...staging, authority: AUTHORITY, receivedAuthority: 'staging.kuvert.example' }),
    );
    expect(reason).toBe(
      'signature sig1 does not verify with key key-ed over POST kuvert.example/api/v1/letters: it was made for @authority staging.kuvert.example (the Host header), but this server is kuvert.example (KUVERT_PUBLIC_URL)',
    );
  });

  it('refuses a stale created (−301 s)', async () => {
    const request = signedRequest({
      created: NOW_SECONDS - 301,
      extraHeaders: { date: NOW.toUTCString() },
    });
    const reason = await refusal(verify(request));
    expect(reason).toMatch(/created is 301 s in the past/);
  });

  it('refuses a created in the future (+301 s)', async () => {
    const request = signedRequest({
      created: NOW_SECONDS + 301,
      extraHeaders: { date: NOW.toUTCString() },
    });
    const reason = await refusal(verify(request));
    expect(reason).toMatch(/created is 301 s in the future/);
  });

  it('refuses a stale Date header even when created is fresh', async () => {
    const stale = new Date(NOW.getTime() - 301_000).toUTCString();
    const reason = await refusal(verify(signedRequest({ extraHeaders: { date: stale } })));
    expect(reason).toMatch(/Date header is -301 s off/);
  });

  it('refuses a Date header that is not an HTTP-date', async () => {
    const reason = await refusal(verify(signedRequest({ extraHeaders: { date: 'yesterday' } })));
    expect(reason).toMatch(/Date header is missing or not an HTTP-date/);
  });

  it('refuses an expired signature (expires in the past, §2.3)', async () => {
    const body = Buffer.from('x');
    const headers = {
      date: NOW.toUTCString(),
      'content-digest': createContentDigest(body),
      'content-type': 'text/plain',
    };
    const signed = signMessage({
      message: {
        method: 'POST',
        authority: AUTHORITY,
        path: '/api/v1/letters',
        query: '',
        headers,
      },
      components: [
        '@method',
        '@authority',
        '@path',
        '@query',
        'content-digest',
        'content-type',
        'date',
      ],
      params: {
        created: NOW_SECONDS - 10,
        expires: NOW_SECONDS - 1,
        nonce: 'n-expired',
        keyid: 'key-ed',
      },
      key: edSender.key,
    });
    const request = {
      method: 'POST',
      authority: AUTHORITY,
      path: '/api/v1/letters',
      query: '',
      body,
      headers: {
        ...headers,
        'signature-input': signed.headers['Signature-Input'],
        signature: signed.headers.Signature,
      },
    };
    const reason = await refusal(verify(request));
    expect(reason).toMatch(/the signature expired 1 s ago/);
  });

  it('refuses a replayed nonce', async () => {
    const nonces = nonceStore();
    const request = signedRequest();
    await expect(verify(request, {}, nonces)).resolves.toMatchObject({ senderId: 'sender-ed' });
    const reason = await refusal(verify(request, {}, nonces));
    expect(reason).toMatch(/nonce was already used with key key-ed \(replay\)/);
  });

  it('looks the nonce up only for otherwise valid requests, and returns it with the end of the window as expiry', async () => {
    const lookups: [string, string][] = [];
    const nonceUsed = async (keyId: string, nonce: string) => {
      lookups.push([keyId, nonce]);
      return false;
    };
    const request = signedRequest({ nonce: 'nonce-1' });
    await refusal(verify({ ...request, query: '?tampered=1' }, { nonceUsed }));
    expect(lookups).toEqual([]);
    const verified = await verifyInFull(request, { nonceUsed });
    expect(lookups).toEqual([['key-ed', 'nonce-1']]);
    expect(verified.nonce).toEqual({
      keyId: 'key-ed',
      nonce: 'nonce-1',
      expiresAt: new Date((NOW_SECONDS + 300) * 1000),
    });
  });

  it('refuses a malformed Signature-Input structured field (RFC 8941)', async () => {
    const request = signedRequest();
    const broken = request.headers['signature-input']!.replace(/\)/, '');
    const reason = await refusal(verify(withHeader(request, 'signature-input', broken)));
    expect(reason).toMatch(/Signature-Input or Signature is malformed: .*inner list/);
  });

  it('refuses a malformed Signature value (not a byte sequence)', async () => {
    const request = signedRequest();
    const reason = await refusal(verify(withHeader(request, 'signature', 'sig1="not bytes"')));
    expect(reason).toMatch(/Signature member sig1 is not a byte sequence/);
  });

  it("refuses an alg that does not match the key's algorithm (§3.2 step 6.4)", async () => {
    const request = signedRequest();
    const input = request.headers['signature-input']!.replace(
      'alg="ed25519"',
      'alg="ecdsa-p256-sha256"',
    );
    const reason = await refusal(verify(withHeader(request, 'signature-input', input)));
    expect(reason).toMatch(/alg "ecdsa-p256-sha256" does not match the key's ed25519/);
  });

  it('refuses a signature without a nonce', async () => {
    const request = signedRequest();
    const input = request.headers['signature-input']!.replace(/;nonce="[^"]*"/, '');
    const reason = await refusal(verify(withHeader(request, 'signature-input', input)));
    expect(reason).toMatch(/the nonce parameter is missing/);
  });

  it('refuses a created that is not an integer', async () => {
    const request = signedRequest();
    const input = request.headers['signature-input']!.replace(/created=\d+/, 'created="1"');
    const reason = await refusal(verify(withHeader(request, 'signature-input', input)));
    expect(reason).toMatch(/the created parameter is not an integer/);
  });

  it('refuses a covered component with parameters', async () => {
    const request = signedRequest();
    const input = request.headers['signature-input']!.replace('"date"', '"date";sf');
    const reason = await refusal(verify(withHeader(request, 'signature-input', input)));
    expect(reason).toMatch(/component date has parameters/);
  });

  it('gives every refused case above its own log reason', () => {
    expect(reasons.size).toBeGreaterThanOrEqual(25);
    expect(new Set(reasons.values()).size).toBe(reasons.size);
  });
});

describe('RFC 9421 Appendix B vectors through the verifier', () => {
  const vectors = JSON.parse(
    readFileSync(new URL('../../../sdk/test-vectors/rfc9421.json', import.meta.url), 'utf8'),
  ) as {
    keys: Record<string, { jwk: Record<string, string> }>;
    vectors: {
      id: string;
      kind: string;
      alg: SignatureAlgorithm;
      key: string;
      message: { method?: string; targetUri?: string; headers: Record<string, string> };
      signatureInput: string;
      signature: string;
    }[];
  };

  const requestVectors = vectors.vectors.filter((vector) => vector.kind === 'request');

  it('has the RFC request vectors B.2.6 (Ed25519) and B.3 (ECDSA P-256)', () => {
    expect(requestVectors.map((vector) => vector.id).sort()).toEqual(['B.2.6', 'B.3']);
  });

  it.each(requestVectors)(
    '$id: the signature check accepts the RFC signature (§3.2 steps 7–9)',
    (vector) => {
      const url = new URL(vector.message.targetUri!);
      const { d: _private, ...publicJwk } = vectors.keys[vector.key]!.jwk;
      const request = {
        method: vector.message.method!,
        authority: url.host,
        path: url.pathname,
        query: url.search,
        headers: vector.message.headers,
      };
      const signature = parseSignatureFields(vector.signatureInput, vector.signature);
      expect(
        signatureVerifies(request, signature, { algorithm: vector.alg, publicKey: publicJwk }),
      ).toBe(true);
      expect(
        signatureVerifies({ ...request, method: 'PUT' }, signature, {
          algorithm: vector.alg,
          publicKey: publicJwk,
        }),
      ).toBe(false);
    },
  );

  it('B.2.6: Kuvert policy still refuses it (no @query, no nonce, created in 2021)', async () => {
    const vector = requestVectors.find((candidate) => candidate.id === 'B.2.6')!;
    const url = new URL(vector.message.targetUri!);
    const headers = Object.fromEntries(
      Object.entries({
        ...vector.message.headers,
        'Signature-Input': vector.signatureInput,
        Signature: vector.signature,
      }).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const reason = await refusal(
      verify({
        method: 'POST',
        authority: url.host,
        path: url.pathname,
        query: url.search,
        headers,
        body: Buffer.from('{"hello": "world"}'),
      }),
    );
    expect(reason).toMatch(/required components are not covered: @query/);
  });
});
