// GET of an admin endpoint for the CLI with node:http: fetch's client costs ~40 ms of CPU to load, a
// third of what `trivy-mirror status` may take to say that no daemon answers.
import type { IncomingMessage } from 'node:http';
import { MirrorError } from '@trivy-mirror/plugin-api/errors';
import { nodeHttp } from './node-http.js';

/** Status and body of `url` as text; rejects on connection errors and (TIMEOUT) after `timeoutMs`. */
export async function adminGet(url: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const request = url.startsWith('https:') ? (await import('node:https')).request : nodeHttp().request;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { timeout: timeoutMs, headers: { accept: 'application/json' } },
      (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new MirrorError('TIMEOUT', `no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
