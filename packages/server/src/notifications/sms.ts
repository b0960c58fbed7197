import { randomUUID } from 'node:crypto';

/**
 * Text messages. Only the adapter and a development sink live here; a real gateway is still to
 * come. Outside production the sink keeps what was "sent" in memory, shown on `/dev/sms` like
 * `/dev/mail`; in production, until a gateway exists, sending refuses.
 */
export interface OutgoingSms {
  /** E.164, e.g. +4791234567. */
  to: string;
  text: string;
}

export interface SmsSender {
  send(message: OutgoingSms): Promise<void>;
}

export interface SinkSms extends OutgoingSms {
  id: string;
  receivedAt: string;
}

export interface SmsSink extends SmsSender {
  /** Newest last. */
  messages(): SinkSms[];
}

const KEPT_MESSAGES = 200;

export function createSmsSink(): SmsSink {
  const kept: SinkSms[] = [];
  return {
    async send(message) {
      kept.push({ id: randomUUID(), receivedAt: new Date().toISOString(), ...message });
      if (kept.length > KEPT_MESSAGES) kept.splice(0, kept.length - KEPT_MESSAGES);
    },
    messages: () => [...kept],
  };
}

/** Production without a gateway: nothing can be sent, and nothing pretends it was. */
export const noSmsGateway: SmsSender = {
  async send() {
    throw new Error('No SMS gateway is configured');
  },
};
