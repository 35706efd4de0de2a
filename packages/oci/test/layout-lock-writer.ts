// Child process of layout-lock.test.ts: adds COUNT tagged entries to the layout's index.json, one
// read-modify-write each, as a one-shot `sync` beside a daemon would.
import { Annotation, MediaType, OciLayout, sha256Digest } from '@trivy-mirror/oci';

const [dir, name, count] = process.argv.slice(2);
const layout = await OciLayout.open(dir!);
for (let i = 0; i < Number(count); i++) {
  const tag = `${name}-${i}`;
  await layout.indexUpdate((manifests) => [
    ...manifests,
    {
      mediaType: MediaType.OciManifest,
      digest: sha256Digest(Buffer.from(tag)),
      size: 100,
      annotations: { [Annotation.RefName]: tag },
    },
  ]);
}
