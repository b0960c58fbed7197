import { describe, expect, it } from 'vitest';
import { KuvertError } from '../errors.js';
import {
  generateSyntheticNationalId,
  maskNationalId,
  parseNationalId,
  requireNationalId,
} from './national-id.js';

/**
 * Independent checksum helper, written the way Skatteetaten's older description puts it
 * (k = 11 − sum mod 11; 11 becomes 0; 10 means the individual number cannot be used),
 * with `k1Remainder` for the 2032 rule, where the weighted sum including K1 may leave a
 * remainder of 0, 1, 2 or 3.
 */
function withControlDigits(nineDigits: string, k1Remainder = 0): string | undefined {
  const digits = [...nineDigits].map(Number);
  const sum1 = [3, 7, 6, 1, 8, 9, 4, 5, 2].reduce((sum, w, i) => sum + w * digits[i]!, 0);
  let k1 = 11 - (sum1 % 11) + k1Remainder;
  if (k1 >= 11) k1 -= 11;
  if (k1 === 10) return undefined;
  const sum2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2].reduce(
    (sum, w, i) => sum + w * [...digits, k1][i]!,
    0,
  );
  let k2 = 11 - (sum2 % 11);
  if (k2 === 11) k2 = 0;
  if (k2 === 10) return undefined;
  return `${nineDigits}${k1}${k2}`;
}

/** The first individual number from `start` that gives valid (pre-2032) control digits. */
function validNumber(sixDigitDate: string, start = 100): string {
  for (let individual = start; individual < 1000; individual++) {
    const full = withControlDigits(`${sixDigitDate}${individual}`);
    if (full !== undefined) return full;
  }
  throw new Error(`no valid individual number for ${sixDigitDate}`);
}

const real = { acceptSynthetic: false };
const synthetic = { acceptSynthetic: true };

describe('parseNationalId', () => {
  describe('fødselsnummer', () => {
    it('accepts fnrinfo.no’s worked example 311299567 → 31129956715', () => {
      expect(parseNationalId('31129956715', real)).toEqual({
        ok: true,
        value: '31129956715',
        kind: 'fnr',
      });
    });

    it('accepts computed valid numbers across dates', () => {
      for (const date of ['010180', '290200', '290204', '311299', '150645', '300424']) {
        const value = validNumber(date);
        expect(parseNationalId(value, real), value).toEqual({ ok: true, value, kind: 'fnr' });
      }
    });

    it('trims spaces around and between the groups', () => {
      const value = validNumber('010180');
      expect(parseNationalId(`  ${value}\t`, real)).toMatchObject({ ok: true, value });
      expect(parseNationalId(`${value.slice(0, 6)} ${value.slice(6)}`, real)).toMatchObject({
        ok: true,
        value,
      });
    });
  });

  describe('D-number (day + 40)', () => {
    it('accepts valid D-numbers', () => {
      for (const date of ['410180', '710199', '690204']) {
        const value = validNumber(date);
        expect(parseNationalId(value, real), value).toEqual({ ok: true, value, kind: 'dnr' });
      }
    });

    it('rejects a D-number with an impossible day (31 + 40 in April)', () => {
      expect(parseNationalId(validNumber('710480'), real)).toMatchObject({ ok: false });
    });
  });

  describe('length and characters', () => {
    it.each([
      '',
      '0101801234',
      '010180123456',
      '0101801234a',
      'abcdefghijk',
      '01018012-45',
      '٠١٠١٨٠١٢٣٤٥',
    ])('rejects %j', (input) => {
      expect(parseNationalId(input, synthetic)).toEqual({
        ok: false,
        reason: 'A national identity number has exactly 11 digits',
      });
    });
  });

  describe('control digits', () => {
    it('rejects every wrong second control digit', () => {
      const value = validNumber('010180');
      for (let digit = 0; digit <= 9; digit++) {
        if (String(digit) === value[10]) continue;
        const changed = `${value.slice(0, 10)}${digit}`;
        expect(parseNationalId(changed, real)).toEqual({
          ok: false,
          reason: 'The control digits do not match',
        });
      }
    });

    it('rejects a changed digit in the date or individual number', () => {
      const value = validNumber('150645');
      const changed = `${value.slice(0, 7)}${(Number(value[7]) + 1) % 10}${value.slice(8)}`;
      expect(parseNationalId(changed, real)).toMatchObject({ ok: false });
    });
  });

  describe('dates', () => {
    it.each([
      ['310280', '31 February'],
      ['300280', '30 February'],
      ['290201', '29 February in a year not divisible by 4'],
      ['310480', '31 April'],
      ['000180', 'day 0'],
      ['320180', 'day 32'],
      ['010080', 'month 0'],
      ['011380', 'month 13'],
      ['013080', 'month 30'],
      ['016080', 'month 60 (neither +40 nor +80)'],
      ['019380', 'month 93 (beyond +80)'],
    ])('rejects %s (%s) even with valid control digits', (date) => {
      const value = validNumber(date);
      expect(parseNationalId(value, synthetic)).toEqual({
        ok: false,
        reason: 'The first six digits are not a valid date',
      });
    });
  });

  describe('synthetic numbers', () => {
    it('accepts Tenor numbers (month + 80) only when synthetic numbers are accepted', () => {
      const value = validNumber('018180');
      expect(parseNationalId(value, synthetic)).toEqual({ ok: true, value, kind: 'synthetic' });
      expect(parseNationalId(value, real)).toEqual({
        ok: false,
        reason: 'Synthetic test numbers are not accepted here',
      });
    });

    it('accepts synthetic D-numbers (day + 40 and month + 80) as synthetic', () => {
      const value = validNumber('419280');
      expect(parseNationalId(value, synthetic)).toEqual({ ok: true, value, kind: 'synthetic' });
      expect(parseNationalId(value, real)).toMatchObject({ ok: false });
    });

    it('accepts NAV’s older H-numbers (month + 40) only when synthetic numbers are accepted', () => {
      const value = validNumber('015280');
      expect(parseNationalId(value, synthetic)).toEqual({ ok: true, value, kind: 'synthetic' });
      expect(parseNationalId(value, real)).toMatchObject({ ok: false });
    });

    it('checks the real date behind a synthetic month (31 + 80 → 31 February)', () => {
      expect(parseNationalId(validNumber('318280'), synthetic)).toMatchObject({
        ok: false,
        reason: 'The first six digits are not a valid date',
      });
    });
  });

  describe('the 2032 rule for K1 (Skatteetaten, "Nytt fødselsnummer fra 2032")', () => {
    /** A date and individual number whose pre-2032 K1 would be 10: unusable before 2032. */
    function baseWithoutClassicK1(): string {
      for (let individual = 100; individual < 1000; individual++) {
        const base = `010180${individual}`;
        if (withControlDigits(base) === undefined && withControlDigits(base, 1) !== undefined) {
          return base;
        }
      }
      throw new Error('no such base');
    }

    it('accepts K1 for remainders 1, 2 and 3, which numbers issued from 2032 may use', () => {
      const base = '020304567';
      let accepted = 0;
      for (const remainder of [1, 2, 3]) {
        const value = withControlDigits(base, remainder);
        if (value === undefined) continue;
        accepted++;
        expect(parseNationalId(value, real), `remainder ${remainder}`).toEqual({
          ok: true,
          value,
          kind: 'fnr',
        });
      }
      expect(accepted).toBeGreaterThanOrEqual(2);
    });

    it('makes a base usable whose classic K1 would be 10', () => {
      const base = baseWithoutClassicK1();
      const value = withControlDigits(base, 1)!;
      expect(parseNationalId(value, real)).toMatchObject({ ok: true, value });
    });

    it('accepts exactly the K1 digits whose remainder is 0–3, and no others', () => {
      for (const base of ['010180123', '311299567', '410180250', baseWithoutClassicK1()]) {
        const expected = new Set(
          [0, 1, 2, 3].map((remainder) => withControlDigits(base, remainder)).filter(Boolean),
        );
        for (let k1 = 0; k1 <= 9; k1++) {
          // Every K1/K2 pair: valid exactly when it is one of the expected numbers.
          for (let k2 = 0; k2 <= 9; k2++) {
            const value = `${base}${k1}${k2}`;
            expect(parseNationalId(value, real).ok, value).toBe(expected.has(value));
          }
        }
      }
    });

    it('leaves K2 unchanged: only remainder 0 is valid', () => {
      const value = withControlDigits('020304567', 2)!;
      const k2 = Number(value[10]);
      for (const shift of [1, 2, 3]) {
        const changed = `${value.slice(0, 10)}${(k2 + shift) % 10}`;
        expect(parseNationalId(changed, real).ok, changed).toBe(false);
      }
    });
  });

  it('never quotes the number in a reason', () => {
    const value = validNumber('010180');
    const inputs = [`${value.slice(0, 10)}${(Number(value[10]) + 1) % 10}`, validNumber('018180')];
    for (const input of inputs) {
      const result = parseNationalId(input, real);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).not.toContain(input.slice(0, 6));
    }
  });
});

describe('requireNationalId', () => {
  it('returns the canonical value and kind', () => {
    const value = validNumber('410180');
    expect(requireNationalId(` ${value} `, real)).toEqual({ value, kind: 'dnr' });
  });

  it('throws a 422 invalid_national_id problem with the reason', () => {
    const error = (() => {
      try {
        requireNationalId('12345', real);
      } catch (caught) {
        return caught;
      }
      throw new Error('expected a KuvertError');
    })();
    expect(error).toBeInstanceOf(KuvertError);
    expect(error).toMatchObject({ code: 'invalid_national_id', status: 422 });
    expect((error as KuvertError).detail).toBe('A national identity number has exactly 11 digits');
  });
});

describe('generateSyntheticNationalId', () => {
  it('produces 1000 valid synthetic numbers with month + 80', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const value = generateSyntheticNationalId();
      seen.add(value);
      expect(parseNationalId(value, synthetic), value).toEqual({
        ok: true,
        value,
        kind: 'synthetic',
      });
      expect(parseNationalId(value, real).ok, value).toBe(false);
      const month = Number(value.slice(2, 4));
      expect(month >= 81 && month <= 92, value).toBe(true);
      // pre-2032 control digit, so older validators accept it too
      expect(withControlDigits(value.slice(0, 9)), value).toBe(value);
    }
    expect(seen.size).toBeGreaterThan(990);
  });

  it('is deterministic for a given random source', () => {
    const seeded = (seed: number) => () => {
      seed = (seed * 16807) % 2147483647;
      return (seed - 1) / 2147483646;
    };
    const first = generateSyntheticNationalId(seeded(42));
    expect(generateSyntheticNationalId(seeded(42))).toBe(first);
    expect(parseNationalId(first, synthetic)).toMatchObject({ ok: true, kind: 'synthetic' });
  });

  it('retries digits that have no control digit (the source 0 gives K1 = 10 at first)', () => {
    // 018100000 has weighted sum 56 ≡ 1 (mod 11): K1 would be 10. The retry gets new digits.
    let calls = 0;
    const zeroFirst = () => (calls++ < 4 ? 0 : 0.5);
    expect(generateSyntheticNationalId(zeroFirst)).toBe(generateSyntheticNationalId(() => 0.5));
    expect(calls).toBeGreaterThan(4);
  });

  it('gives up rather than looping forever on a source that never yields valid digits', () => {
    expect(() => generateSyntheticNationalId(() => 0)).toThrow(/never gave valid digits/);
  });

  it('clamps a source that returns 1 instead of looping or overflowing', () => {
    // 1 → the last value of each range: 31 December 99 (+80), individual 999; K2 is 10
    // there, so it must give up cleanly rather than emit month 93 or day 32.
    expect(() => generateSyntheticNationalId(() => 1)).toThrow(/never gave valid digits/);
  });
});

describe('maskNationalId', () => {
  it('shows the date part only', () => {
    expect(maskNationalId('01018012345')).toBe('010180*****');
  });

  it('hides anything that is not a well-formed number entirely', () => {
    expect(maskNationalId('0101801234')).toBe('***********');
    expect(maskNationalId('01018012345 ')).toBe('***********');
    expect(maskNationalId('')).toBe('***********');
  });
});
