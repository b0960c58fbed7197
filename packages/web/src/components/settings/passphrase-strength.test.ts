import { describe, expect, it } from 'vitest';
import { estimatePassphrase } from './passphrase-strength';

/** The estimate the person sees while typing; the server checks the same policy again. */
describe('passphrase strength in the browser', () => {
  it.each([
    ['too short', 'blue whale!', 'too_short'],
    ['a common password', 'password1234', 'common'],
    ['one character repeated', 'aaaaaaaaaaaaaaa', 'common'],
    ['Norwegian words and a year', 'sommerhytta2023', 'guessable'],
    ['a run of the alphabet', 'abcdefghijkm', 'guessable'],
  ])('flags %s', async (_name, passphrase, problem) => {
    expect((await estimatePassphrase(passphrase)).problem).toBe(problem);
  });

  it('accepts a few random words, without digits, capitals or symbols', async () => {
    expect(await estimatePassphrase('blåbær fløyte regnvær sykkel')).toEqual({
      score: 4,
      problem: null,
    });
  });
});
