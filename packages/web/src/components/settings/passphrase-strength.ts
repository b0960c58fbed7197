/**
 * The passphrase strength estimate in the browser, as the person types (zxcvbn-ts with its
 * common and English dictionaries and our Norwegian word list). The server runs the same
 * policy again and has the last word; keep these numbers equal to
 * packages/server/src/mailboxes/passphrase-policy.ts.
 */
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

export const passphraseMinLength = 12;
export const passphraseMaxLength = 256;
/** zxcvbn's score 4: about 10^10 guesses or more. */
export const passphraseMinScore = 4;

export type PassphraseProblem = 'too_short' | 'too_long' | 'common' | 'personal' | 'guessable';

export interface PassphraseEstimate {
  /** 0 (trivial) to 4 (very strong). */
  score: number;
  problem: PassphraseProblem | null;
}

interface Estimator {
  zxcvbn: ZxcvbnFactory;
  common: Set<string>;
}

let estimator: Promise<Estimator> | undefined;

/**
 * The dictionaries are large (about a megabyte): loaded on first use, in chunks of their own,
 * so the login page and the inbox never download them.
 */
function loadEstimator(): Promise<Estimator> {
  estimator ??= Promise.all([
    import('@zxcvbn-ts/core'),
    import('@zxcvbn-ts/language-common'),
    import('@zxcvbn-ts/language-en'),
    import('./norwegian-words.json'),
  ]).then(([core, common, english, norwegian]) => ({
    zxcvbn: new core.ZxcvbnFactory({
      dictionary: {
        ...common.dictionary,
        ...english.dictionary,
        norwegian: norwegian.default,
      },
      graphs: common.adjacencyGraphs,
      translations: english.translations,
    }),
    common: new Set(common.dictionary['passwords-common'].map(simplified)),
  }));
  return estimator;
}

function simplified(text: string): string {
  return text.toLowerCase().replace(/\s+/g, '');
}

export async function estimatePassphrase(
  passphrase: string,
  userInputs: string[] = [],
): Promise<PassphraseEstimate> {
  const normalised = passphrase.normalize('NFKC');
  const length = [...normalised].length;
  if (length < passphraseMinLength) return { score: 0, problem: 'too_short' };
  if (length > passphraseMaxLength) return { score: 0, problem: 'too_long' };
  const { zxcvbn, common } = await loadEstimator();
  const simple = simplified(normalised);
  if (common.has(simple) || /^(.)\1*$/u.test(simple)) return { score: 0, problem: 'common' };
  const result = zxcvbn.check(normalised, [...userInputs, 'kuvert']);
  return {
    score: result.score,
    problem: result.score < passphraseMinScore ? 'guessable' : null,
  };
}
