import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import {
  estimatePassphrase,
  type PassphraseEstimate,
  passphraseMaxLength,
  passphraseMinLength,
} from './passphrase-strength';

/**
 * The strength estimate as the person types: a bar for those who see it and, always, the
 * same verdict in words (WCAG 1.4.1: never colour alone), announced politely once typing
 * pauses.
 */
export function PassphraseStrength({
  id,
  passphrase,
  userInputs,
  onEstimate,
}: {
  id: string;
  passphrase: string;
  userInputs: string[];
  onEstimate?: (estimate: PassphraseEstimate | null) => void;
}) {
  const { t } = useTranslation();
  const [estimate, setEstimate] = useState<PassphraseEstimate | null>(null);
  const inputsKey = userInputs.join('\u0000');

  useEffect(() => {
    if (passphrase === '') {
      setEstimate(null);
      onEstimate?.(null);
      return;
    }
    let current = true;
    // A short pause first: no estimate (and no announcement) for every keystroke.
    const timer = setTimeout(() => {
      void estimatePassphrase(passphrase, inputsKey ? inputsKey.split('\u0000') : []).then(
        (result) => {
          if (!current) return;
          setEstimate(result);
          onEstimate?.(result);
        },
      );
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [passphrase, inputsKey, onEstimate]);

  const verdict = (() => {
    if (passphrase === '') return t('passphrase.strength.empty');
    if (!estimate) return t('passphrase.strength.checking');
    switch (estimate.problem) {
      case 'too_short':
        return t('passphrase.strength.too_short', { count: passphraseMinLength });
      case 'too_long':
        return t('passphrase.strength.too_long', { count: passphraseMaxLength });
      case 'common':
        return t('passphrase.strength.common');
      case 'personal':
        return t('passphrase.strength.personal');
      case 'guessable':
        return t('passphrase.strength.guessable');
      default:
        return t('passphrase.strength.ok');
    }
  })();
  const score = estimate?.score ?? 0;
  const scoreText = (() => {
    if (!estimate) return '';
    switch (score) {
      case 0:
        return t('passphrase.strength.score0');
      case 1:
        return t('passphrase.strength.score1');
      case 2:
        return t('passphrase.strength.score2');
      case 3:
        return t('passphrase.strength.score3');
      default:
        return t('passphrase.strength.score4');
    }
  })();

  return (
    <div id={id} className="strength">
      <div className="strength-bar" aria-hidden="true" data-score={estimate ? score : 'none'}>
        <span style={{ width: `${estimate ? (score + 1) * 20 : 0}%` }} />
      </div>
      <p className="strength-text" aria-live="polite" aria-atomic="true">
        {scoreText ? (
          <strong>
            {t('passphrase.strength.label')}: {scoreText}.{' '}
          </strong>
        ) : null}
        {verdict}
      </p>
    </div>
  );
}
