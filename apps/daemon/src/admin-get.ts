// GET of an admin endpoint for the CLI with node:http: fetch's client costs ~40 ms of CPU to load, a
// third of what `trivy-mirror status` may take to say that no daemon answers.
import type { IncomingMessage } from 'node:http';
import { http } from './node-http.js';

/** The body of `url` as text (any status); rejects on connection errors and after `timeoutMs`. */
export async function getText(url: string, timeoutMs: number): Promise<string> {
  const request = url.startsWith('https:') ? (await import('node:https')).request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs }, (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
