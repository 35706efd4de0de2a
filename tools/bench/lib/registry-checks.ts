// Small registry probes the benchmarks use to check that a copy really landed (manifest digest at the
// destination) and to read a blob once, so every contender starts with the same warm page cache.
import { describeFailure, type Measurement, runMeasured } from './measure.js';
import { flushDisks } from './system.js';

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** The digest the registry answers for REPO:TAG (HEAD, Docker-Content-Digest), or undefined if absent. */
export async function manifestDigest(
  registryUrl: string,
  repository: string,
  tag: string,
): Promise<string | undefined> {
  const res = await fetch(`${registryUrl}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: MANIFEST_ACCEPT },
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 200) return undefined;
  return res.headers.get('docker-content-digest') ?? undefined;
}

/** Throws unless REPO:TAG at `registryUrl` has manifest digest `expected`. */
export async function assertManifest(
  registryUrl: string,
  repository: string,
  tag: string,
  expected: string,
): Promise<void> {
  const got = await manifestDigest(registryUrl, repository, tag);
  if (got !== expected) {
    throw new Error(
      `${registryUrl}/${repository}:${tag} has manifest ${got ?? '(none)'}, expected ${expected}`,
    );
  }
}

/** GET `url` into /dev/null with curl; returns the measurement (stdout: "<http code> <bytes>"). */
export function curlGet(url: string, timeoutMs: number): Promise<Measurement> {
  return runMeasured('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', url], {
    timeoutMs,
  });
}

/**
 * The transfer floor: `curl GET | curl PUT` of one blob into a fresh upload session at `dstRegistryUrl`
 * (distribution wants POST, then PUT on the Location with &digest=).
 */
export async function curlPipeCopy(
  srcBlobUrl: string,
  dstRegistryUrl: string,
  dstRepository: string,
  digest: string,
  timeoutMs: number,
): Promise<Measurement> {
  const start = await fetch(`${dstRegistryUrl}/v2/${dstRepository}/blobs/uploads/`, {
    method: 'POST',
    headers: { 'content-length': '0' },
    signal: AbortSignal.timeout(10_000),
  });
  await start.arrayBuffer();
  const location = start.headers.get('location');
  if (start.status !== 202 || !location) throw new Error(`upload POST answered ${start.status}`);
  const abs = new URL(location, dstRegistryUrl).toString();
  const put = `${abs}${abs.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
  // `-T -` streams stdin (chunked); --data-binary @- would buffer the whole blob in memory.
  const script =
    'curl -sS --fail "$1" | curl -sS --fail -o /dev/null -w "%{http_code}" -T - ' +
    '-H "Content-Type: application/octet-stream" "$2"';
  return runMeasured('sh', ['-c', script, 'curl-pipe', srcBlobUrl, put], { timeoutMs });
}

/**
 * The transfer floor for context: the upstream blob piped by `curl GET | curl PUT` into a fresh
 * registry. Undefined (and logged) when curl fails: the floor is context, not a goal.
 */
export async function measureCurlFloor(
  ctx: { startRegistry(): Promise<{ url: string; stop(): Promise<void> }>; log(line: string): void },
  blobUrl: string,
  digest: string,
  timeoutMs: number,
): Promise<number | undefined> {
  const dst = await ctx.startRegistry();
  try {
    await flushDisks();
    const m = await curlPipeCopy(blobUrl, dst.url, 'floor/blob', digest, timeoutMs);
    if (m.exitCode === 0 && m.stdout.trim() === '201') return m.wallMs;
    ctx.log(`curl floor failed (ignored): ${describeFailure(m)} ${m.stdout}`);
    return undefined;
  } finally {
    await dst.stop();
  }
}
