import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

/**
 * A software authenticator for server tests: it makes WebAuthn registration ("none"
 * attestation) and authentication responses with node:crypto, as a browser would hand them to
 * the server as JSON (WebAuthn Level 3 §5.1.8). The e2e tests use Chromium's virtual
 * authenticator instead.
 */

// ---------------------------------------------------------------------------------------
// Just enough CBOR (RFC 8949) for an attestation object and a COSE key.

type Cbor = number | string | Uint8Array | Map<Cbor, Cbor>;

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  if (length < 0x10000) {
    const out = Buffer.alloc(3);
    out[0] = (major << 5) | 25;
    out.writeUInt16BE(length, 1);
    return out;
  }
  const out = Buffer.alloc(5);
  out[0] = (major << 5) | 26;
  out.writeUInt32BE(length, 1);
  return out;
}

export function encodeCbor(value: Cbor): Buffer {
  if (typeof value === 'number') {
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  const parts = [head(5, value.size)];
  for (const [key, entry] of value) parts.push(encodeCbor(key), encodeCbor(entry));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------

const flags = {
  userPresent: 0x01,
  userVerified: 0x04,
  backupEligible: 0x08,
  backedUp: 0x10,
  attested: 0x40,
};

function b64u(bytes: Uint8Array | string): string {
  return Buffer.from(bytes).toString('base64url');
}

export interface SoftwarePasskey {
  credentialId: string;
  privateKey: KeyObject;
  userHandle: string;
  counter: number;
}

export interface CeremonyOptions {
  origin: string;
  rpId: string;
  /** Leave out the UV flag, as an authenticator without a PIN or biometrics would. */
  withoutUserVerification?: boolean;
  /** A signature counter to send instead of the next one. */
  counter?: number;
}

function authenticatorData(options: CeremonyOptions, flagBits: number, counter: number): Buffer {
  const counterBytes = Buffer.alloc(4);
  counterBytes.writeUInt32BE(counter);
  const uv = options.withoutUserVerification ? 0 : flags.userVerified;
  return Buffer.concat([
    createHash('sha256').update(options.rpId).digest(),
    Buffer.from([flags.userPresent | uv | flagBits]),
    counterBytes,
  ]);
}

function clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin: string) {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8');
}

/** navigator.credentials.create() against registration options from the server. */
export function createPasskey(
  creationOptions: { challenge: string; user: { id: string } },
  options: CeremonyOptions,
): { passkey: SoftwarePasskey; response: Record<string, unknown> } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  // RFC 9053 §7.1.1: an EC2 key, ES256, curve P-256, its x and y coordinates.
  const coseKey = encodeCbor(
    new Map<Cbor, Cbor>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x ?? '', 'base64url')],
      [-3, Buffer.from(jwk.y ?? '', 'base64url')],
    ]),
  );
  const credentialId = randomBytes(32);
  const idLength = Buffer.alloc(2);
  idLength.writeUInt16BE(credentialId.length);
  const authData = Buffer.concat([
    authenticatorData(options, flags.attested | flags.backupEligible | flags.backedUp, 0),
    Buffer.alloc(16), // AAGUID: none
    idLength,
    credentialId,
    coseKey,
  ]);
  const attestationObject = encodeCbor(
    new Map<Cbor, Cbor>([
      ['fmt', 'none'],
      ['attStmt', new Map()],
      ['authData', authData],
    ]),
  );
  const passkey = {
    credentialId: b64u(credentialId),
    privateKey,
    userHandle: creationOptions.user.id,
    counter: 0,
  };
  return {
    passkey,
    response: {
      id: passkey.credentialId,
      rawId: passkey.credentialId,
      type: 'public-key',
      response: {
        clientDataJSON: b64u(
          clientData('webauthn.create', creationOptions.challenge, options.origin),
        ),
        attestationObject: b64u(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    },
  };
}

/** navigator.credentials.get() with a discoverable credential: it names its user handle. */
export function assertPasskey(
  passkey: SoftwarePasskey,
  requestOptions: { challenge: string },
  options: CeremonyOptions,
): Record<string, unknown> {
  passkey.counter += 1;
  const authData = authenticatorData(
    options,
    flags.backupEligible | flags.backedUp,
    options.counter ?? passkey.counter,
  );
  const clientDataJSON = clientData('webauthn.get', requestOptions.challenge, options.origin);
  const signature = sign(
    'sha256',
    Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]),
    passkey.privateKey,
  );
  return {
    id: passkey.credentialId,
    rawId: passkey.credentialId,
    type: 'public-key',
    response: {
      clientDataJSON: b64u(clientDataJSON),
      authenticatorData: b64u(authData),
      signature: b64u(signature),
      userHandle: passkey.userHandle,
    },
    clientExtensionResults: {},
    authenticatorAttachment: 'platform',
  };
}

/** The test app's relying party: the host and origin of its public URL. */
export const testRelyingParty = { origin: 'https://kuvert.test', rpId: 'kuvert.test' } as const;

interface Injector {
  inject(options: {
    method: 'POST';
    url: string;
    headers: Record<string, string>;
    payload?: unknown;
  }): Promise<{ statusCode: number; body: string; json<T>(): T }>;
}

/** Register a software passkey for a logged-in session, through the real routes. */
export async function registerTestPasskey(
  app: Injector,
  session: { cookie: string; csrfToken: string },
  name = 'Test key',
): Promise<{ passkey: SoftwarePasskey; id: string }> {
  const headers = {
    cookie: session.cookie,
    'x-csrf-token': session.csrfToken,
    origin: testRelyingParty.origin,
  };
  const started = await app.inject({
    method: 'POST',
    url: '/api/me/passkeys/registration-options',
    headers,
  });
  if (started.statusCode !== 200) throw new Error(`options: ${started.statusCode} ${started.body}`);
  const { passkey, response } = createPasskey(
    started.json<{ challenge: string; user: { id: string } }>(),
    testRelyingParty,
  );
  const finished = await app.inject({
    method: 'POST',
    url: '/api/me/passkeys',
    headers,
    payload: { credential: response, name },
  });
  if (finished.statusCode !== 201)
    throw new Error(`register: ${finished.statusCode} ${finished.body}`);
  return { passkey, id: finished.json<{ id: string }>().id };
}
