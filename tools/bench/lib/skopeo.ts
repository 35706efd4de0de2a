// The skopeo peer: `skopeo copy` registry → registry over plain http, with its blob-info cache cleared
// before every run (with the cache, skopeo may skip or mount blobs it saw before and time nothing).
import { rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Measurement, runMeasured } from './measure.js';

const BLOB_INFO_CACHES = [
  '/var/lib/containers/cache/blob-info-cache-v1.boltdb',
  join(homedir(), '.local/share/containers/cache/blob-info-cache-v1.boltdb'),
];

export async function clearSkopeoCache(): Promise<void> {
  for (const file of BLOB_INFO_CACHES) await rm(file, { force: true });
}

/**
 * `skopeo copy SRC DST` after clearing its cache. SRC/DST are skopeo transport references; a bare
 * HOST/REPO:TAG means `docker://HOST/REPO:TAG`. TLS verification is off (the registries are plain http).
 */
export async function skopeoCopy(src: string, dst: string, timeoutMs: number): Promise<Measurement> {
  await clearSkopeoCache();
  return runMeasured(
    'skopeo',
    [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      withTransport(src),
      withTransport(dst),
    ],
    { timeoutMs },
  );
}

function withTransport(ref: string): string {
  return /^(docker|oci|dir|docker-archive|oci-archive):/.test(ref) ? ref : `docker://${ref}`;
}
