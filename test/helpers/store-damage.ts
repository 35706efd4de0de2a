// Damaging a running daemon's store the ways disks and people do (a flipped byte, a deleted blob, a
// cut index.json), and reading what a client then gets: node:http tells a body cut short from one that
// ended, and the digest of what arrived.
import { createHash } from 'node:crypto';
import { readFile, truncate } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';

export { flipByte } from '@trivy-mirror/fixtures';

/** Cuts a file to half its size, as a crash in the middle of a non-atomic write would. */
export async function tearFile(path: string): Promise<void> {
  const size = (await readFile(path)).length;
  await truncate(path, Math.floor(size / 2));
}

export function blobFile(stateDir: string, repository: string, digest: string): string {
  return join(stateDir, 'oci', repository, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

export interface ClientAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
  digest: string;
  /** The body ended normally (not cut). */
  complete: boolean;
  body: Buffer;
}

/** GET the way a digest-verifying client reads: the whole body, hashed, and whether it ended. */
export function clientGet(url: string, headers: Record<string, string> = {}): Promise<ClientAnswer> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers, agent: false, timeout: 60_000 }, (res) => {
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      let bytes = 0;
      let complete = false;
      res.on('data', (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
        if (chunks.length < 64) chunks.push(c);
      });
      res.on('end', () => (complete = true));
      res.on('error', () => undefined);
      res.on('close', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          bytes,
          digest: `sha256:${hash.digest('hex')}`,
          complete,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

export async function readyz(adminUrl: string): Promise<{ status: number; reasons: string[] }> {
  const res = await fetch(`${adminUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { reasons?: string[] };
  return { status: res.status, reasons: body.reasons ?? [] };
}
