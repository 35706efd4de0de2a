// Small registry probes the benchmarks use to check that a copy really landed (manifest digest at the
// destination) and to read a blob once, so every contender starts with the same warm page cache; and
// the transfer floor, `curl GET | curl PUT` of the blob.
import { type Measurement, runMeasured } from './measure.js';
import { figuresOf, type RunFigures } from './rounds.js';

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

/** The floor contender: `curl GET | curl PUT` of the blob into `dst`, which must answer 201. */
export async function curlFloor(
  srcBlobUrl: string,
  dst: { url: string },
  digest: string,
  timeoutMs: number,
): Promise<RunFigures> {
  const m = await curlPipeCopy(srcBlobUrl, dst.url, 'floor/blob', digest, timeoutMs);
  const f = figuresOf(m);
  if (m.stdout.trim() !== '201') throw new Error(`curl PUT answered ${m.stdout.trim() || 'nothing'}`);
  return f;
}
