// Email notifications over SMTP with nodemailer (README, Notifications). Node only: a Worker has no
// SMTP client, so worker.ts passes no mail sender and the API refuses email channels there.
import { createTransport } from 'nodemailer';
import type { EmailConfig } from './db/schema.ts';
import type { MailMessage, MailSender } from './services/notifications.ts';

const TIMEOUT_MS = 10_000; // like a webhook request: a server that does not answer is a failed attempt

/** The transport options for one channel: the security mode is enforced, never downgraded. */
export function transportOptions(settings: EmailConfig, password: string | null) {
  return {
    host: settings.host,
    port: settings.port,
    // tls: TLS from the first byte; starttls: refuse to go on without STARTTLS; none: never try it
    secure: settings.security === 'tls',
    requireTLS: settings.security === 'starttls',
    ignoreTLS: settings.security === 'none',
    auth: settings.username === null ? undefined : { user: settings.username, pass: password ?? '' },
    tls: { ...(settings.caPem === null ? {} : { ca: [settings.caPem] }), minVersion: 'TLSv1.2' as const },
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
    // one connection per delivery: nothing stays open between the 30 s rounds
    pool: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/** Sends one mail; throws with the server's answer or the connection error. */
export const sendMail: MailSender = async (settings: EmailConfig, password: string | null, message: MailMessage) => {
  const transport = createTransport(transportOptions(settings, password));
  try {
    await transport.sendMail({
      from: settings.from,
      to: settings.to,
      subject: message.subject,
      text: message.text,
      headers: message.headers,
    });
  } finally {
    transport.close();
  }
};
