// index.json of a layout: reading it, its serialized form, and the untagged entries that keep older
// versions referenced (one per digest, none beside a tagged entry of the same digest).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OciError, OciErrorCode } from '../errors.js';
import { Annotation, type Descriptor, MediaType } from '../types.js';

export interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** Reads `dir/index.json`; LAYOUT_INVALID when it cannot be read or is not an image index. */
export async function readIndex(dir: string): Promise<LayoutIndex> {
  let text: string;
  try {
    text = await readFile(join(dir, 'index.json'), 'utf8');
  } catch (err) {
    throw new OciError(OciErrorCode.LAYOUT_INVALID, `${dir}/index.json cannot be read`, {
      target: dir,
      cause: err,
    });
  }
  try {
    const parsed = JSON.parse(text) as LayoutIndex;
    if (parsed?.schemaVersion !== 2 || !Array.isArray(parsed.manifests))
      throw new Error('not an image index');
    return parsed;
  } catch (err) {
    throw new OciError(OciErrorCode.LAYOUT_INVALID, `${dir}/index.json is not a valid image index`, {
      target: dir,
      cause: err,
    });
  }
}

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
