import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../../api';
import { queryKeys } from '../../queries';
import { ErrorMessage } from '../ErrorMessage';

/** As the server counts: characters (code points) after trimming. */
export const antiPhishingMaxLength = 64;

/**
 * The personal anti-phishing phrase: words the person chooses, shown in every notification
 * email, so that an email without them can be recognised as fake.
 */
export function AntiPhishingSection() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState('');
  const [problem, setProblem] = useState<'empty' | 'tooLong' | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const phrase = useQuery({
    queryKey: queryKeys.antiPhishing,
    queryFn: ({ signal }) => api.getAntiPhishingPhrase(signal),
  });

  const save = useMutation({
    mutationFn: (value: string) => api.setAntiPhishingPhrase(value),
    onSuccess: (saved) => {
      queryClient.setQueryData(queryKeys.antiPhishing, saved);
      setDraft('');
      setAnnouncement(t('antiPhishing.saved'));
    },
    onError: () => setAnnouncement(''),
  });
  const remove = useMutation({
    mutationFn: () => api.removeAntiPhishingPhrase(),
    onSuccess: () => {
      queryClient.setQueryData(queryKeys.antiPhishing, null);
      setAnnouncement(t('antiPhishing.removed'));
    },
  });

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const value = draft.trim().replace(/\s+/gu, ' ');
    if (value === '') return setProblem('empty');
    if ([...value].length > antiPhishingMaxLength) return setProblem('tooLong');
    setProblem(null);
    save.mutate(value);
  }

  return (
    <section
      className="settings-section"
      aria-labelledby="anti-phishing-title"
      aria-busy={phrase.isPending}
    >
      <h2 id="anti-phishing-title">{t('antiPhishing.title')}</h2>
      <p>{t('antiPhishing.intro')}</p>
      {phrase.isError ? (
        <ErrorMessage error={phrase.error} onRetry={() => void phrase.refetch()} />
      ) : null}
      {phrase.isSuccess ? (
        phrase.data === null ? (
          <p>{t('antiPhishing.none')}</p>
        ) : (
          <p>
            {t('antiPhishing.current')}{' '}
            <strong className="anti-phishing-phrase" data-testid="anti-phishing-phrase">
              {phrase.data}
            </strong>
          </p>
        )
      ) : null}
      <form className="form" onSubmit={onSubmit} noValidate>
        <div className="field">
          <label htmlFor="anti-phishing-phrase">{t('antiPhishing.label')}</label>
          <p id="anti-phishing-hint" className="hint">
            {t('antiPhishing.hint')}
          </p>
          <input
            id="anti-phishing-phrase"
            name="phrase"
            type="text"
            autoComplete="off"
            value={draft}
            maxLength={antiPhishingMaxLength * 2}
            aria-invalid={problem !== null}
            aria-describedby={`anti-phishing-hint${problem ? ' anti-phishing-error' : ''}`}
            onChange={(event) => setDraft(event.target.value)}
          />
          {problem ? (
            <p id="anti-phishing-error" className="field-error">
              {problem === 'empty' ? t('antiPhishing.empty') : t('antiPhishing.tooLong')}
            </p>
          ) : null}
          {save.isError ? (
            <p className="field-error" role="alert">
              {t('antiPhishing.failed')}
            </p>
          ) : null}
        </div>
        <div className="button-row">
          <button type="submit" className="button button-primary" aria-disabled={save.isPending}>
            {save.isPending ? t('antiPhishing.saving') : t('antiPhishing.save')}
          </button>
          {phrase.data ? (
            <button
              type="button"
              className="button button-secondary"
              disabled={remove.isPending}
              onClick={() => remove.mutate()}
            >
              {t('antiPhishing.remove')}
            </button>
          ) : null}
        </div>
      </form>
      <p className="status" aria-live="polite" data-testid="anti-phishing-status">
        {announcement}
      </p>
    </section>
  );
}
