// A webhook receiver on 127.0.0.1 for the notification tests: it records every request's event
// header, whether its HMAC signature (README, Notifications) held under `key`, and its JSON body.
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Teardown } from './world.ts';

export interface Hook {
  event: string;
  sigOk: boolean;
  body: { subject: { key: string }; state: string };
}

export async function startWebhookReceiver(teardown: Teardown, key: string) {
  const hooks: Hook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const sig = `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
      hooks.push({
        event: String(req.headers['x-lifeboat-event']),
        sigOk: req.headers['x-lifeboat-signature'] === sig,
        body: JSON.parse(body),
      });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  teardown.defer(() => new Promise<void>((r) => server.close(() => r())));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    hooks,
    /** Waits (up to a minute) until a request for `event` about `subject` has come. */
    async hooked(event: string, subject: string): Promise<Hook> {
      for (let i = 0; i < 600; i++) {
        const h = hooks.find((x) => x.event === event && x.body.subject.key === subject);
        if (h) return h;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no ${event} for ${subject} within a minute; got ${JSON.stringify(hooks.map((x) => x.event))}`);
    },
  };
}
