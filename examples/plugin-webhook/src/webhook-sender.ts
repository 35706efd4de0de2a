// Posts one JSON document to the configured URL, with a timeout; failures are logged, never thrown,
// so a slow webhook cannot hold up a sync.
import type { Logger } from '@trivy-mirror/plugin-api';

export interface WebhookOptions {
  url: string;
  timeoutMs: number;
  headers: Record<string, string>;
}

export class WebhookSender {
  sent = 0;
  failed = 0;

  constructor(
    private readonly options: WebhookOptions,
    private readonly log: Logger,
  ) {}

  async send(event: string, payload: Record<string, unknown>): Promise<void> {
    const started = Date.now();
    try {
      const res = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.options.headers },
        body: JSON.stringify({ event, at: new Date().toISOString(), ...payload }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
      this.sent++;
      this.log.info({ event, status: res.status, ms: Date.now() - started }, 'webhook sent');
    } catch (err) {
      this.failed++;
      this.log.warn({ err, event }, 'webhook failed');
    }
  }
}
