// Version history per tag inside a layout's index.json: the current version carries the tag
// (org.opencontainers.image.ref.name); older ones stay untagged, marked with our annotations,
// up to keepVersions in total. Pure functions over descriptors.
import { Annotation, type Descriptor, isSignatureTag, signedDigestOfTag } from '@trivy-mirror/oci';

export const TAG_ANNOTATION = 'io.github.trivy-mirror.tag';
export const STORED_AT_ANNOTATION = 'io.github.trivy-mirror.stored-at';
/** Set on versions that came by `trivy-mirror import`: when, and from which export directory. */
export const IMPORTED_AT_ANNOTATION = 'io.github.trivy-mirror.imported-at';
export const IMPORTED_FROM_ANNOTATION = 'io.github.trivy-mirror.imported-from';

/** The tag an index entry belongs to: its ref.name, or our history annotation. */
export function entryTag(entry: Descriptor): string | undefined {
  return entry.annotations?.[Annotation.RefName] ?? entry.annotations?.[TAG_ANNOTATION];
}

/** The index entry that carries `tag` right now. */
export function currentEntry(manifests: Descriptor[], tag: string): Descriptor | undefined {
  return manifests.find((m) => m.annotations?.[Annotation.RefName] === tag);
}

/** Versions of `tag`, newest first (the tagged one, then history by stored-at). */
export function versionsOf(manifests: Descriptor[], tag: string): Descriptor[] {
  const current = currentEntry(manifests, tag);
  const history = manifests
    .filter(
      (m) =>
        m !== current &&
        m.annotations?.[Annotation.RefName] === undefined &&
        m.annotations?.[TAG_ANNOTATION] === tag,
    )
    .sort(byStoredAtDesc);
  return current ? [current, ...history] : history;
}

function byStoredAtDesc(a: Descriptor, b: Descriptor): number {
  const x = a.annotations?.[STORED_AT_ANNOTATION] ?? '';
  const y = b.annotations?.[STORED_AT_ANNOTATION] ?? '';
  return x < y ? 1 : x > y ? -1 : 0;
}

/**
 * The index after `added` becomes the current version of `tag`: the previous current version and
 * older history stay untagged, newest first, so that at most `keepVersions` versions remain.
 * Entries of other tags are untouched. Returns the new list and the entries dropped.
 */
export function planTagUpdate(
  manifests: Descriptor[],
  added: Pick<Descriptor, 'mediaType' | 'digest' | 'size' | 'artifactType'>,
  tag: string,
  storedAt: string,
  keepVersions: number,
  /** Further annotations of the new entry (import records). */
  extra: Record<string, string> = {},
): { manifests: Descriptor[]; dropped: Descriptor[] } {
  const versions = versionsOf(manifests, tag);
  const others = manifests.filter((m) => !versions.includes(m));
  // a signature artifact is replaced, not kept as history: the current one holds every signature
  const keep = isSignatureTag(tag) ? 1 : keepVersions;
  const entry: Descriptor = {
    mediaType: added.mediaType,
    digest: added.digest,
    size: added.size,
    ...(added.artifactType ? { artifactType: added.artifactType } : {}),
    annotations: {
      ...extra,
      [Annotation.RefName]: tag,
      [TAG_ANNOTATION]: tag,
      [STORED_AT_ANNOTATION]: storedAt,
    },
  };
  const history: Descriptor[] = [];
  const dropped: Descriptor[] = [];
  for (const old of versions) {
    if (old.digest === added.digest) continue; // re-stored: the new entry replaces it
    if (history.length < keep - 1) {
      const annotations: Record<string, string> = { ...old.annotations, [TAG_ANNOTATION]: tag };
      delete annotations[Annotation.RefName];
      if (!annotations[STORED_AT_ANNOTATION]) annotations[STORED_AT_ANNOTATION] = storedAt;
      history.push({ ...old, annotations });
    } else {
      dropped.push(old);
    }
  }
  const next = [...others, entry, ...history];
  const signatures = signaturesOfDropped(next, dropped);
  return { manifests: next.filter((m) => !signatures.includes(m)), dropped: [...dropped, ...signatures] };
}

/** The signature entries (`sha256-<hex>.sig`) of versions `dropped` takes out of `manifests`. */
export function signaturesOfDropped(manifests: Descriptor[], dropped: Descriptor[]): Descriptor[] {
  const remaining = new Set(manifests.map((m) => m.digest));
  const gone = new Set(dropped.map((d) => d.digest).filter((d) => !remaining.has(d)));
  if (gone.size === 0) return [];
  return manifests.filter((m) => {
    const signed = signedDigestOfTag(entryTag(m) ?? '');
    return signed !== undefined && gone.has(signed);
  });
}
