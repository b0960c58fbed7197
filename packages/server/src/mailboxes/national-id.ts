import { KuvertError } from '../errors.js';

/**
 * Norwegian national identity numbers (fødselsnummer, D-nummer) and synthetic test numbers.
 * Security invariant 3: validated here, then stored sealed (`sealValue`) and found by a
 * keyed hash (`lookupHash`); never logged. Reasons below never quote the number.
 *
 * Layout: DDMMYY III K1 K2 (birth date, individual number, two mod-11 control digits).
 * - D-number: day + 40 (first digit 4–7).
 * - Synthetic (Skatteetaten's Tenor test population): month + 80.
 *   https://skatteetaten.github.io/folkeregisteret-api-dokumentasjon/test-for-konsumenter/
 * - NAV's older synthetic "H-number" (Dolly test data, also used as health-sector help
 *   numbers): month + 40, accepted only together with synthetic numbers.
 *
 * Control digits, per Skatteetaten's "Nytt fødselsnummer fra 2032"
 * (https://skatteetaten.github.io/folkeregisteret-api-dokumentasjon/nytt-fodselsnummer-fra-2032/
 * and https://www.skatteetaten.no/deling/opplysninger/folkeregisteropplysninger/pid/):
 * - K1: (3,7,6,1,8,9,4,5,2 · the first nine digits + K1) mod 11 must be 0, 1, 2 or 3.
 *   Before 2032 only 0 was issued; numbers issued from 1 January 2032 may use all four,
 *   and systems must accept both now, so K1 can take up to four values.
 * - K2: (5,4,3,2,7,6,5,4,3,2 · the first ten digits + K2) mod 11 must be 0 (unchanged).
 * From 2032 the individual number no longer tells the century (nor the sex), so the
 * individual number ranges are not checked and 29 February is accepted in every year
 * divisible by four (Skatteetaten's reference code treats 00 as a leap year too).
 */

export type NationalIdKind = 'fnr' | 'dnr' | 'synthetic';

export type NationalIdResult =
  | { ok: true; value: string; kind: NationalIdKind }
  | { ok: false; reason: string };

const K1_WEIGHTS = [3, 7, 6, 1, 8, 9, 4, 5, 2] as const;
const K2_WEIGHTS = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2] as const;
const K1_VALID_REMAINDERS: ReadonlySet<number> = new Set([0, 1, 2, 3]);

const D_NUMBER_DAY_OFFSET = 40;
const SYNTHETIC_MONTH_OFFSET = 80;
const H_NUMBER_MONTH_OFFSET = 40;

export function parseNationalId(
  input: string,
  options: { acceptSynthetic: boolean },
): NationalIdResult {
  // People type "010180 12345" or paste with stray spaces; the stored form is 11 digits.
  const value = typeof input === 'string' ? input.replace(/\s+/g, '') : '';
  if (!/^[0-9]{11}$/.test(value)) {
    return { ok: false, reason: 'A national identity number has exactly 11 digits' };
  }
  const digits = [...value].map(Number);
  const encodedDay = Number(value.slice(0, 2));
  const encodedMonth = Number(value.slice(2, 4));
  const year = Number(value.slice(4, 6));

  const isDNumber = encodedDay > D_NUMBER_DAY_OFFSET;
  const day = isDNumber ? encodedDay - D_NUMBER_DAY_OFFSET : encodedDay;
  const monthOffset = syntheticMonthOffset(encodedMonth);
  const month = encodedMonth - monthOffset;

  if (monthOffset !== 0 && !options.acceptSynthetic) {
    return { ok: false, reason: 'Synthetic test numbers are not accepted here' };
  }
  if (!isCalendarDate(day, month, year)) {
    return { ok: false, reason: 'The first six digits are not a valid date' };
  }
  if (!controlDigitsMatch(digits)) {
    return { ok: false, reason: 'The control digits do not match' };
  }
  const kind: NationalIdKind = monthOffset !== 0 ? 'synthetic' : isDNumber ? 'dnr' : 'fnr';
  return { ok: true, value, kind };
}

/** parseNationalId for request handlers: the value, or a 422 `invalid_national_id` problem. */
export function requireNationalId(
  input: string,
  options: { acceptSynthetic: boolean },
): { value: string; kind: NationalIdKind } {
  const result = parseNationalId(input, options);
  if (!result.ok) throw new KuvertError('invalid_national_id', result.reason);
  return { value: result.value, kind: result.kind };
}

/**
 * A valid synthetic number (month + 80) for the demo recipient and tests. Uses the
 * pre-2032 control digit (remainder 0), so every validator, old or new, accepts it.
 * `random` returns a float in [0, 1), like Math.random; synthetic numbers are not secrets.
 */
export function generateSyntheticNationalId(random: () => number = Math.random): string {
  const pick = (size: number) => Math.min(size - 1, Math.floor(random() * size));
  // About one individual number in five has no valid control digits; retry those.
  for (let attempt = 0; attempt < 1000; attempt++) {
    const year = pick(100);
    const month = pick(12) + 1;
    const day = pick(daysInMonth(month, year)) + 1;
    const base =
      twoDigits(day) +
      twoDigits(month + SYNTHETIC_MONTH_OFFSET) +
      twoDigits(year) +
      String(pick(1000)).padStart(3, '0');
    const k1 = controlDigit(base, K1_WEIGHTS);
    if (k1 === undefined) continue;
    const k2 = controlDigit(base + k1, K2_WEIGHTS);
    if (k2 === undefined) continue;
    return `${base}${k1}${k2}`;
  }
  throw new Error('generateSyntheticNationalId: the random source never gave valid digits');
}

/** For hints on screen ("the letter is for 010180*****"): the date part only. */
export function maskNationalId(value: string): string {
  // Anything that is not a well-formed number is hidden entirely: it may be a typo of one.
  if (!/^[0-9]{11}$/.test(value)) return '*'.repeat(11);
  return `${value.slice(0, 6)}*****`;
}

// ---------------------------------------------------------------------------------------

/** 80 for Tenor (month 81–92), 40 for NAV's H-numbers (month 41–52), else 0. */
function syntheticMonthOffset(encodedMonth: number): number {
  if (encodedMonth > SYNTHETIC_MONTH_OFFSET) return SYNTHETIC_MONTH_OFFSET;
  if (encodedMonth > H_NUMBER_MONTH_OFFSET) return H_NUMBER_MONTH_OFFSET;
  return 0;
}

function controlDigitsMatch(digits: number[]): boolean {
  const k1Remainder = (weightedSum(digits, K1_WEIGHTS) + digits[9]!) % 11;
  const k2Remainder = (weightedSum(digits, K2_WEIGHTS) + digits[10]!) % 11;
  return K1_VALID_REMAINDERS.has(k1Remainder) && k2Remainder === 0;
}

function weightedSum(digits: readonly number[], weights: readonly number[]): number {
  return weights.reduce((sum, weight, index) => sum + weight * digits[index]!, 0);
}

/** The digit that makes (weighted sum + digit) divisible by 11; undefined when that is 10. */
function controlDigit(base: string, weights: readonly number[]): number | undefined {
  const digit = (11 - (weightedSum([...base].map(Number), weights) % 11)) % 11;
  return digit === 10 ? undefined : digit;
}

function isCalendarDate(day: number, month: number, twoDigitYear: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(month, twoDigitYear);
}

function daysInMonth(month: number, twoDigitYear: number): number {
  if (month === 2) return twoDigitYear % 4 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function twoDigits(value: number): string {
  return String(value).padStart(2, '0');
}
