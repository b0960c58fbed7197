import { describe, expect, it } from 'vitest';
import { initialLanguage, languageFromTag } from './languages';

describe('initialLanguage', () => {
  it('keeps the language the user chose', () => {
    expect(initialLanguage('nn', ['en-GB'])).toBe('nn');
  });

  it('ignores a stored value that is not one of ours', () => {
    expect(initialLanguage('de', ['en-US'])).toBe('en');
  });

  it('takes the first preferred browser language we have', () => {
    expect(initialLanguage(null, ['de-DE', 'nn-NO', 'en'])).toBe('nn');
  });

  it('reads plain Norwegian as Bokmål', () => {
    expect(initialLanguage(null, ['no'])).toBe('nb');
    expect(languageFromTag('no-NO')).toBe('nb');
    expect(languageFromTag('nb_NO')).toBe('nb');
  });

  it('falls back to Bokmål', () => {
    expect(initialLanguage(null, ['sv-SE', 'da'])).toBe('nb');
    expect(initialLanguage(null, [])).toBe('nb');
  });
});
