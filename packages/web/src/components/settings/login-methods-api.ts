/**
 * The recipient's login methods, over the routes under /api/me and the
 * passwordless passkey login. The WebAuthn ceremonies run in the browser with
 * @simplewebauthn/browser; the server checks everything again.
 */
import {
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  startAuthentication,
  startRegistration,
} from '@simplewebauthn/browser';
import { api, type Session } from '../../api';

/**
 * Where "forgot your passphrase?" leads: a new passphrase is set only after an eID login, never
 * through an emailed link. The eID login returns to the settings' passphrase section.
 */
export const eidPassphraseResetUrl = '/api/eid/login?returnTo=/settings';

export interface Passkey {
  id: string;
  name: string;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface LoginMethods {
  passphrase: { set: boolean };
  totp: { active: boolean; pending: boolean };
  recoveryCodes: { unused: number };
  passkeys: Passkey[];
  canSetPassphraseWithoutCurrent: boolean;
}

export interface TotpEnrolment {
  secret: string;
  otpauthUri: string;
  qrSvg: string;
  expiresInSeconds: number;
}

async function required<T>(promise: Promise<T | null>): Promise<T> {
  const value = await promise;
  if (value === null) throw new Error('The server sent no body');
  return value;
}

export const loginMethodsApi = {
  get: () => required(api.call<LoginMethods>('GET', '/api/me/login-methods')),

  setPassphrase: (input: { passphrase: string; current?: string }) =>
    required(api.call<{ otherSessionsEnded: number }>('PUT', '/api/me/passphrase', input)),

  startTotp: () => required(api.call<TotpEnrolment>('POST', '/api/me/totp')),

  confirmTotp: (code: string) =>
    required(
      api.call<{ recoveryCodes: string[] | null }>('POST', '/api/me/totp/confirm', { code }),
    ),

  regenerateRecoveryCodes: async () =>
    (await required(api.call<{ recoveryCodes: string[] }>('POST', '/api/me/recovery-codes')))
      .recoveryCodes,

  /** Ask the server for options, let the browser make the passkey, and register it. */
  async registerPasskey(name: string): Promise<Passkey> {
    const options = await required(
      api.call<PublicKeyCredentialCreationOptionsJSON>(
        'POST',
        '/api/me/passkeys/registration-options',
      ),
    );
    const credential = await startRegistration({ optionsJSON: options });
    return required(
      api.call<Passkey>('POST', '/api/me/passkeys', {
        credential,
        ...(name.trim() ? { name: name.trim() } : {}),
      }),
    );
  },

  removePasskey: async (id: string) => {
    await api.call('DELETE', `/api/me/passkeys/${encodeURIComponent(id)}`);
  },

  /** Passwordless: the authenticator offers its passkeys for this site; nothing is typed. */
  async logInWithPasskey(): Promise<Session> {
    const options = await required(
      api.call<PublicKeyCredentialRequestOptionsJSON>(
        'POST',
        '/api/session/passkey-options',
        undefined,
        {
          protected: false,
        },
      ),
    );
    const credential = await startAuthentication({ optionsJSON: options });
    return api.loginWithPasskey(credential);
  },
};

/** The browser cancelled or refused the ceremony (the person closed the dialog, or no passkey). */
export function isCeremonyCancelled(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'NotAllowedError' ||
      error.name === 'AbortError' ||
      (error as { code?: string }).code === 'ERROR_CEREMONY_ABORTED')
  );
}
