// Helpers for the OCI end-to-end suites (copy, sync): skopeo as the independent reader, digests of
// raw manifests, plain HTTP probes of the distribution API, and temp dirs.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export async function fileDigest(path: string): Promise<string> {
  return sha256(await readFile(path));
}

export async function tempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `trivy-mirror-e2e-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs skopeo; rejects with its stderr on failure. */
export async function skopeo(
  args: string[],
  timeoutMs = 60_000,
): Promise<{ stdout: Buffer; stderr: string }> {
  try {
    const r = await execFileP('skopeo', args, {
      encoding: 'buffer',
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout: r.stdout, stderr: r.stderr.toString() };
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`skopeo ${args.join(' ')} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}

/**
 * The raw manifest bytes and their digest as skopeo reads them. `ref` is a skopeo transport
 * reference: `docker://HOST/REPO:TAG` or `oci:DIR:TAG`.
 */
export async function skopeoRaw(ref: string): Promise<{ bytes: Buffer; digest: string }> {
  const args = ['inspect', '--raw'];
  if (ref.startsWith('docker://')) args.push('--tls-verify=false');
  const { stdout } = await skopeo([...args, ref]);
  return { bytes: stdout, digest: sha256(stdout) };
}

/** `skopeo copy SRC DST` with plain-HTTP for docker:// on either side. */
export async function skopeoCopy(src: string, dst: string, timeoutMs = 60_000): Promise<void> {
  const args = ['copy', '--quiet'];
  if (src.startsWith('docker://')) args.push('--src-tls-verify=false');
  if (dst.startsWith('docker://')) args.push('--dest-tls-verify=false');
  await skopeo([...args, src, dst], timeoutMs);
}

/** Status of a HEAD on a registry path (e.g. `/v2/REPO/blobs/DIGEST`). */
export async function headStatus(url: string): Promise<number> {
  const res = await fetch(url, {
    method: 'HEAD',
    headers: { accept: MANIFEST_ACCEPT },
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}

/** The Docker-Content-Digest of a manifest HEAD (full Accept list), undefined unless 200. */
export async function manifestHeadDigest(url: string): Promise<string | undefined> {
  const res = await fetch(url, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } });
  await res.arrayBuffer();
  return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
}

/** GET a manifest by tag or digest with the full Accept list. */
export async function getManifest(
  baseUrl: string,
  repository: string,
  reference: string,
): Promise<{ status: number; bytes: Buffer; digestHeader: string | null; mediaType: string | null }> {
  const res = await fetch(`${baseUrl}/v2/${repository}/manifests/${reference}`, {
    headers: { accept: MANIFEST_ACCEPT },
    signal: AbortSignal.timeout(10_000),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    bytes,
    digestHeader: res.headers.get('docker-content-digest'),
    mediaType: res.headers.get('content-type'),
  };
}

/** GET a blob; returns its bytes' digest. */
export async function getBlobDigest(
  baseUrl: string,
  repository: string,
  digest: string,
): Promise<{ status: number; digest: string; size: number }> {
  const res = await fetch(`${baseUrl}/v2/${repository}/blobs/${digest}`, {
    signal: AbortSignal.timeout(60_000),
  });
  const hash = createHash('sha256');
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.length;
    }
  }
  return { status: res.status, digest: `sha256:${hash.digest('hex')}`, size };
}

/** Digests of the files skopeo wrote with `dir:OUT` (manifest.json plus one file per blob). */
export async function dirTransportManifest(dir: string): Promise<Buffer> {
  return readFile(join(dir, 'manifest.json'));
}
