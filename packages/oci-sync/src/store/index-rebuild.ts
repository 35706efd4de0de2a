// A torn index.json of one artifact's layout, rebuilt from what its blobs hold. Each configured tag
// gets the version the last run recorded for it (state.json) when that manifest is still there, else
// the newest complete manifest that fits the tag (trivy-checks: its version annotation's major; one
// without an annotation only when nothing fits better); other complete manifests that fit become its
// history, up to keepVersions. With an upstream, the next sync then moves a tag to what upstream
// serves if the rebuilt one differs; "newest" is the manifest's created annotation, else the file's mtime.
import type { Descriptor, OciLayout, ScannedManifest } from '@trivy-mirror/oci';
import { scanManifests } from '@trivy-mirror/oci';
import { checksMajorVersion, ruleFor, validateTrivyArtifact } from '../sync/artifact-rules.js';
import { withRebuiltSignatures } from './rebuilt-signatures.js';
import { planTagUpdate } from './store-versions.js';

export interface RebuildCandidate extends ScannedManifest {
  /** Every blob it names is on disk. */
  complete: boolean;
}

export interface RebuildInput {
  artifact: string;
  tags: string[];
  keepVersions: number;
  /** The manifest digest each tag had at the last run (state.json), if known. */
  known: Record<string, string | undefined>;
  candidates: RebuildCandidate[];
}

export interface RebuiltIndex {
  manifests: Descriptor[];
  /** The digest each tag got (tags without a version are left out). */
  tags: Record<string, string>;
}

function createdAt(m: ScannedManifest): number {
  const created = Date.parse(m.manifest.annotations?.['org.opencontainers.image.created'] ?? '');
  return Number.isNaN(created) ? m.mtimeMs : created;
}

/** The index entries for the rebuilt index.json (pure). */
export function planRebuiltIndex(input: RebuildInput): RebuiltIndex {
  const versioned = ruleFor(input.artifact)?.versioned ?? false;
  const valid = input.candidates
    .filter((m) => {
      try {
        validateTrivyArtifact(input.artifact, m.manifest);
        return true;
      } catch {
        return false;
      }
    })
    .sort((a, b) => createdAt(a) - createdAt(b));
  const major = (m: ScannedManifest) => (versioned ? checksMajorVersion(m.manifest) : undefined);
  /** Fits the tag for sure (any version of an unversioned artifact; checks by their major). */
  const fits = (m: ScannedManifest, tag: string) => !versioned || String(major(m)) === tag;
  const used = new Set<string>();
  const chosen = new Map<string, RebuildCandidate>();
  for (const tag of input.tags) {
    const known = valid.find((m) => m.descriptor.digest === input.known[tag]);
    const pick =
      known ??
      valid.filter((m) => m.complete && fits(m, tag)).at(-1) ??
      valid.filter((m) => m.complete && major(m) === undefined && !used.has(m.descriptor.digest)).at(-1);
    if (!pick) continue;
    chosen.set(tag, pick);
    used.add(pick.descriptor.digest);
  }
  let manifests: Descriptor[] = [];
  const tags: Record<string, string> = {};
  for (const [tag, current] of chosen) {
    // oldest first: each planTagUpdate moves the tag on and keeps what it held as history
    const history = valid.filter(
      (m) => m.complete && fits(m, tag) && !used.has(m.descriptor.digest) && m !== current,
    );
    for (const m of [...history, current]) {
      used.add(m.descriptor.digest);
      manifests = planTagUpdate(
        manifests,
        { ...m.descriptor, artifactType: m.manifest.artifactType },
        tag,
        new Date(createdAt(m)).toISOString(),
        input.keepVersions,
      ).manifests;
    }
    tags[tag] = current.descriptor.digest;
  }
  return { manifests, tags };
}

/** Scans the layout's blobs and plans its index (see planRebuiltIndex), signatures included. */
export async function rebuildIndex(
  layout: OciLayout,
  input: Omit<RebuildInput, 'candidates'>,
): Promise<RebuiltIndex> {
  const candidates: RebuildCandidate[] = [];
  for (const m of await scanManifests(layout.dir)) {
    const blobs = [m.manifest.config, ...(m.manifest.layers ?? [])];
    let complete = true;
    for (const d of blobs) {
      try {
        if (!(await layout.blobHas(d.digest))) complete = false;
      } catch {
        complete = false; // a manifest of another tool may name a digest that is no file name
      }
    }
    candidates.push({ ...m, complete });
  }
  const plan = planRebuiltIndex({ ...input, candidates });
  return { ...plan, manifests: await withRebuiltSignatures(layout, plan.manifests, candidates) };
}
