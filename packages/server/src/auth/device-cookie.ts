import { randomBytes, timingSafeEqual } from 'node:crypto';
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import { lookupHash } from '../documents/envelope.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { hostPrefixed, readCookie } from './sessions.js';

/**
 * Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): a browser
 * that has logged in to a mailbox before holds a signed cookie naming that mailbox and a
 * random nonce. Failed logins that come with a valid cookie for the account count in a bucket
 * of their own, so an attacker elsewhere who knows the number cannot lock the owner out: the
 * attacker's failures fill the account's bucket, the owner's device has its own.
 *
 * The cookie is signed, not stored: HMAC-SHA-256 under the lookup key (a master key, never in
 * the database) with a purpose of its own, so no one can make one without the keys, and a
 * stolen one only gives its holder the same throttled guesses the owner has.
 */

const deviceCookieBaseName = 'kuvert_device';
const formatVersion = 'v1';
const macPurpose = 'device-cookie';
/** Long-lived: a device that logged in within half a year is still "a device seen before". */
export const deviceCookieMaxAgeSeconds = 180 * 24 * 60 * 60;

export interface DeviceCookie {
  mailboxId: string;
  nonce: string;
}

export function deviceCookieNameFor(publicUrl: string): string {
  return hostPrefixed(deviceCookieBaseName, publicUrl);
}

function mac(payload: string, keys: MasterKeys): Buffer {
  return lookupHash(payload, macPurpose, keys);
}

/** A fresh cookie value for a mailbox, after a successful login. */
export function signDeviceCookie(options: {
  mailboxId: string;
  keys: MasterKeys;
  now?: number;
}): string {
  const nonce = randomBytes(16).toString('base64url');
  const issuedAt = Math.floor((options.now ?? Date.now()) / 1000);
  const payload = [formatVersion, options.mailboxId, nonce, issuedAt].join('.');
  return `${payload}.${mac(payload, options.keys).toString('base64url')}`;
}

/** The mailbox and nonce of a genuine, unexpired cookie value; undefined for anything else. */
export function verifyDeviceCookie(options: {
  value: string | undefined;
  keys: MasterKeys;
  now?: number;
}): DeviceCookie | undefined {
  const { value } = options;
  if (value === undefined || value.length > 200) return undefined;
  const parts = value.split('.');
  if (parts.length !== 5) return undefined;
  const [version, mailboxId = '', nonce = '', issuedAtText = '', signature = ''] = parts;
  if (version !== formatVersion) return undefined;
  const expected = mac(parts.slice(0, 4).join('.'), options.keys);
  const presented = Buffer.from(signature, 'base64url');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    return undefined;
  }
  const issuedAt = Number(issuedAtText);
  const ageSeconds = Math.floor((options.now ?? Date.now()) / 1000) - issuedAt;
  if (!Number.isInteger(issuedAt) || ageSeconds < 0 || ageSeconds > deviceCookieMaxAgeSeconds) {
    return undefined;
  }
  return { mailboxId, nonce };
}

export function readDeviceCookie(options: {
  request: FastifyRequest;
  publicUrl: string;
  keys: MasterKeys;
}): DeviceCookie | undefined {
  return verifyDeviceCookie({
    value: readCookie(options.request, deviceCookieNameFor(options.publicUrl)),
    keys: options.keys,
  });
}

/**
 * The Set-Cookie value: HttpOnly (scripts never need it), Secure, SameSite=Strict (a foreign
 * site's request does not carry it), Path=/ and no Domain (`__Host-` on https), and a
 * Max-Age, because unlike the session it must outlive the browser session.
 */
export function deviceCookie(value: string, publicUrl: string): string {
  return fastifyCookie.serialize(deviceCookieNameFor(publicUrl), value, {
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    path: '/',
    maxAge: deviceCookieMaxAgeSeconds,
  });
}
