import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry } from '@trivy-mirror/fixtures';
import { RegistryClient, parseReference, artifactCopy, LayoutTransport } from '@trivy-mirror/oci';
import { buildArtifact, writeToLayout, skopeoPush, skopeoRawDigest } from '/work/main/packages/oci/test/test-artifacts.ts';

const reg = await startRegistry();
const dir = await mkdtemp(join(tmpdir(), 'smoke-'));
try {
  const a = await buildArtifact({ dir, shape: 'oci-1.1', layerBytes: 3_000_000, seed: 'x' });
  await writeToLayout(join(dir, 'layout'), '2', a);
  console.time('skopeo push');
  await skopeoPush(join(dir, 'layout'), '2', `${reg.host}/src/trivy-db:2`);
  console.timeEnd('skopeo push');
  console.log(a.manifestDigest, await skopeoRawDigest(`${reg.host}/src/trivy-db:2`));
  const client = new RegistryClient({ logger: console as any });
  const r = await artifactCopy({ src: client, srcRef: parseReference(`${reg.host}/src/trivy-db:2`), dst: client, dstRef: parseReference(`${reg.host}/dst/trivy-db:2`) });
  console.log(r);
  const r2 = await artifactCopy({ src: client, srcRef: parseReference(`${reg.host}/src/trivy-db:2`), dst: new LayoutTransport(), dstRef: parseReference(`oci-layout:${dir}/l2:2`) });
  console.log(r2);
  console.log(await client.tagList(parseReference(`${reg.host}/dst/trivy-db`)));
  await client.close();
} finally {
  await reg.stop();
  await rm(dir, { recursive: true, force: true });
}
