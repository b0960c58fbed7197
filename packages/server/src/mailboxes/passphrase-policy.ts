import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as zxcvbnCommon from '@zxcvbn-ts/language-common';
import * as zxcvbnEnglish from '@zxcvbn-ts/language-en';
import norwegianWords from './norwegian-words.json' with { type: 'json' };

/**
 * The passphrase policy, following NIST SP 800-63B §3.1.1.2: a minimum
 * length, a check against values attackers try first, a strength estimate, and no composition
 * rules. The web app runs the same estimate as the person types; this is the check that counts.
 */

/**
 * 12 characters: with no composition rules, length is what makes a passphrase expensive to
 * guess, and three or four short words reach it without effort. NIST asks for at least 8 (15
 * where a password is the only factor); 12 is what the person meets while the estimate below
 * does the rest.
 */
export const passphraseMinLength = 12;
/** An upper bound so a megabyte "password" cannot make every hash expensive. */
export const passphraseMaxLength = 256;
/**
 * zxcvbn's score 4: an estimated 10^10 guesses or more ("very unguessable: strong protection
 * from an offline slow-hash scenario"). Score 3 (10^8) let through "Sommer2023sommer" and
 * "oslobergen2020", which sit right on its boundary; three or four words that do not belong
 * together, the guidance we give, reach 10^12 and more without capitals, digits or symbols.
 */
export const passphraseMinScore = 4;

export type PassphraseProblem = 'too_short' | 'too_long' | 'common' | 'personal' | 'guessable';

export interface PassphraseAssessment {
  /** zxcvbn's score, 0 (trivial) to 4 (very strong). */
  score: number;
  /** log10 of the estimated number of guesses. */
  guessesLog10: number;
  problem?: PassphraseProblem;
  /** Why it is refused, as a sentence for the person choosing it. */
  message?: string;
}

/** A few passwords attackers try first that the packaged list lacks, many of them Norwegian. */
const extraCommonPassphrases = [
  '123456789012',
  '1234567890123',
  '12345678901234',
  '123456789abc',
  'abcdefghijkl',
  'abc123abc123',
  'qwertyuiopas',
  'qwerty123456',
  'qwertyqwerty',
  'password1234',
  'password12345',
  'password123!',
  'passwordpassword',
  'passord12345',
  'passord123456',
  'passordpassord',
  'iloveyou1234',
  'jegelskerdeg',
  'hemmelighemmelig',
  'kuvertkuvert',
  'kuvert123456',
  'letmeinletmein',
  'welcome12345',
  'velkommen123',
  'sommer2024!!',
];

/**
 * The block list: zxcvbn-ts's common-password list (tens of thousands of leaked passwords)
 * and the few above. Compared case- and space-insensitively.
 */
let blockList: Set<string> | undefined;
function blocked(): Set<string> {
  blockList ??= new Set([
    ...zxcvbnCommon.dictionary['passwords-common'].map(simplified),
    ...extraCommonPassphrases,
  ]);
  return blockList;
}

/** Built once per process: loading the dictionaries takes a noticeable fraction of a second. */
let estimator: ZxcvbnFactory | undefined;
function zxcvbn(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    dictionary: {
      ...zxcvbnCommon.dictionary,
      ...zxcvbnEnglish.dictionary,
      // No Norwegian pack exists for zxcvbn-ts: our own list of words people put in passwords.
      norwegian: norwegianWords,
    },
    graphs: zxcvbnCommon.adjacencyGraphs,
    translations: zxcvbnEnglish.translations,
  });
  return estimator;
}

/**
 * Passphrases are compared and hashed in NFKC form, so the same words typed on another
 * keyboard or OS (composed or decomposed å, full-width digits) still match
 * (NIST SP 800-63B §5.1.1.2 recommends normalising before hashing).
 */
export function normalisePassphrase(password: string): string {
  return password.normalize('NFKC');
}

/** How a passphrase compares with the lists: case and spaces do not make it different. */
function simplified(password: string): string {
  return password.toLowerCase().replace(/\s+/g, '');
}

/**
 * Check a passphrase against the policy. Length first (cheap, and the estimate of a
 * megabyte is not wanted), then the block list, personal data, and the strength estimate,
 * which also knows the person's own number and address as words an attacker would try.
 */
export function assessPassphrase(
  password: string,
  personal: { nationalId?: string | undefined; email?: string | null | undefined } = {},
): PassphraseAssessment {
  const normalised = normalisePassphrase(password);
  // Code points, not UTF-16 units: "æøå" is three characters to the person typing it.
  const length = [...normalised].length;
  if (length < passphraseMinLength) {
    return refuse(
      'too_short',
      `Choose a passphrase of at least ${passphraseMinLength} characters. A few unrelated words you can remember, such as a short sentence only you would make up, are long and easy to type.`,
    );
  }
  if (length > passphraseMaxLength) {
    return refuse('too_long', `A passphrase can have at most ${passphraseMaxLength} characters.`);
  }
  const simple = simplified(normalised);
  if (blocked().has(simple) || /^(.)\1*$/u.test(simple)) {
    return refuse(
      'common',
      'This passphrase is one of the first that attackers try. Choose a few words that only you would put together.',
    );
  }
  const digitsOnly = normalised.replace(/\D/g, '');
  if (personal.nationalId && digitsOnly.includes(personal.nationalId)) {
    return refuse(
      'personal',
      'The passphrase must not contain your national identity number: it is written on many documents.',
    );
  }
  if (personal.email && simple.includes(simplified(personal.email))) {
    return refuse('personal', 'The passphrase must not contain your email address.');
  }
  const userInputs = [
    personal.nationalId,
    personal.email,
    personal.email?.split('@')[0],
    'kuvert',
  ].filter((input): input is string => typeof input === 'string' && input !== '');
  const estimate = zxcvbn().check(normalised, userInputs);
  const assessment = { score: estimate.score, guessesLog10: estimate.guessesLog10 };
  if (estimate.score < passphraseMinScore) {
    const hint = estimate.feedback.warning ? ` ${estimate.feedback.warning}` : '';
    return {
      ...assessment,
      problem: 'guessable',
      message: `This passphrase would be guessed too easily.${hint} Add another word or two that do not belong together.`,
    };
  }
  return assessment;
}

function refuse(problem: PassphraseProblem, message: string): PassphraseAssessment {
  return { score: 0, guessesLog10: 0, problem, message };
}
