import { createCleartextMessage, type PrivateKey, sign } from 'openpgp';
import { securityUrls } from './urls.js';

const day = 24 * 3600 * 1000;

/**
 * The body of /.well-known/security.txt (RFC 9116). Expires is required (§2.5.5) and should
 * be less than a year ahead; we always publish one that is 180 days ahead of today (midnight
 * UTC) so the file never goes stale on a long-running server.
 */
export function renderSecurityTxt(options: {
  publicUrl: string;
  contact: string;
  now: Date;
}): string {
  const urls = securityUrls(options.publicUrl);
  const expires = new Date(options.now.getTime() + 180 * day);
  expires.setUTCHours(0, 0, 0, 0);
  return [
    `Contact: ${options.contact}`,
    `Contact: ${urls.reportForm}`,
    `Expires: ${expires.toISOString().replace('.000Z', 'Z')}`,
    `Encryption: ${urls.publicKey}`,
    `Acknowledgments: ${urls.hallOfFame}`,
    `Policy: ${urls.policy}`,
    'Preferred-Languages: nb, nn, en',
    `Canonical: ${urls.securityTxt}`,
    '',
  ].join('\n');
}

/**
 * security.txt as an OpenPGP cleartext-signed message (RFC 9116 §2.3, RFC 9580 §7). The body
 * changes once a day (its Expires), so the signature is made once a day and kept.
 */
export function signedSecurityTxt(options: {
  publicUrl: string;
  contact: string;
  signingKey: PrivateKey;
}): (now: Date) => Promise<string> {
  let cached: { day: string; signed: Promise<string> } | undefined;
  return (now) => {
    const today = now.toISOString().slice(0, 10);
    if (cached?.day !== today) {
      const text = renderSecurityTxt({ ...options, now });
      const signed = createCleartextMessage({ text }).then((message) =>
        sign({ message, signingKeys: options.signingKey, date: now }),
      );
      // A failed signature is not kept: the next request tries again.
      signed.catch(() => {
        if (cached?.signed === signed) cached = undefined;
      });
      cached = { day: today, signed };
    }
    return cached.signed;
  };
}
