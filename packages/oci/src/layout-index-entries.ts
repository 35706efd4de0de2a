// index.json entries of a layout: its serialized form, and the untagged entries that keep older
// versions referenced (one per digest, none beside a tagged entry of the same digest).
import { Annotation, type Descriptor, MediaType } from './types.js';

export function serializeIndex(manifests: Descriptor[]): string {
  return `${JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }, null, 2)}\n`;
}

export function untagged(m: Descriptor): Descriptor {
  const { [Annotation.RefName]: _tag, ...rest } = m.annotations ?? {};
  const out: Descriptor = { ...m };
  if (Object.keys(rest).length > 0) out.annotations = rest;
  else delete out.annotations;
  return out;
}

/** One untagged entry per digest, and none for a digest that also has a tagged entry. */
export function dedupeUntagged(manifests: Descriptor[]): Descriptor[] {
  const tagged = new Set(manifests.filter((m) => m.annotations?.[Annotation.RefName]).map((m) => m.digest));
  const seen = new Set<string>();
  return manifests.filter((m) => {
    if (m.annotations?.[Annotation.RefName]) return true;
    if (tagged.has(m.digest) || seen.has(m.digest)) return false;
    seen.add(m.digest);
    return true;
  });
}
