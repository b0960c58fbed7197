import { describe, expect, it } from 'vitest';
import { isRecoveryCodeShaped, normaliseLogin, validateLogin } from './login-form';

describe('login form', () => {
  it('removes the spaces people type in numbers, never in the password', () => {
    expect(
      normaliseLogin({ nationalId: ' 010101 12345 ', password: ' to ord ', totp: '123 456' }),
    ).toEqual({ nationalId: '01010112345', password: ' to ord ', totp: '123456' });
  });

  it('accepts 11 digits, any non-empty password and 6 digits', () => {
    expect(validateLogin({ nationalId: '01010112345', password: 'x', totp: '123456' })).toEqual([]);
  });

  it('names every field that cannot be right, in form order', () => {
    expect(validateLogin({ nationalId: '0101', password: '', totp: '12345a' })).toEqual([
      'nationalId',
      'password',
      'totp',
    ]);
  });

  it('takes a recovery code as shown or as typed, dash and spaces aside', () => {
    for (const typed of ['abcde-12345', 'ABCDE 12345', 'abcde12345', ' abcde-12345 ']) {
      expect(isRecoveryCodeShaped(typed), typed).toBe(true);
    }
    for (const typed of ['abcde-1234', '123456', 'abcde-12345-x', 'æbcde-12345']) {
      expect(isRecoveryCodeShaped(typed), typed).toBe(false);
    }
  });
});
