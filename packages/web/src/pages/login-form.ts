import type { LoginInput } from '../api';

export type LoginField = keyof LoginInput;

/**
 * What the user typed, as the API wants it: digits without the spaces people put in
 * ("010101 12345", "123 456"). The password is left exactly as typed: a passphrase may begin
 * or end with a space (promise 4: no composition rules, nothing silently changed).
 */
export function normaliseLogin(input: LoginInput): LoginInput {
  return {
    nationalId: input.nationalId.replace(/\s+/g, ''),
    password: input.password,
    totp: input.totp.replace(/\s+/g, ''),
  };
}

/**
 * Fields that cannot be right, in form order. Only the shape is checked here; whether the
 * number, password and code are correct is for the server to say, in one message.
 */
export function validateLogin(input: LoginInput): LoginField[] {
  const invalid: LoginField[] = [];
  if (!/^\d{11}$/.test(input.nationalId)) invalid.push('nationalId');
  if (input.password.length === 0) invalid.push('password');
  if (!/^\d{6}$/.test(input.totp)) invalid.push('totp');
  return invalid;
}

/**
 * Whether a typed recovery code has the shape of one: ten letters and digits, in any case,
 * with or without the dash and spaces people copy along.
 */
export function isRecoveryCodeShaped(typed: string): boolean {
  return /^[0-9A-Za-z]{10}$/.test(typed.replace(/[\s-]+/g, ''));
}
