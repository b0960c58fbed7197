import { notifyLetterJob } from '../notifications/notify-letter.job.js';

/** The one list of background jobs: the queue creates a queue and a worker for each. */
export const jobs = [notifyLetterJob] as const;
