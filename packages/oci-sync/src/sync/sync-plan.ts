// `trivy-mirror sync --dry-run`: what a sync pass would move, asked of the registries with HEADs and
// manifest GETs only. Nothing is written: no layout is created, no blob downloaded or pushed.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Descriptor,
  formatReference,
  type ManifestBytes,
  OciLayout,
  OciError,
  OciErrorCode,
  parseReference,
  type Transport,
  withDigest,
} from '@trivy-mirror/oci';
import { describeError } from '@trivy-mirror/plugin-api';
import { validateTrivyArtifact } from './artifact-rules.js';
import type { OciSyncConfig } from '../config.js';
import { SourceCooldowns, trySources } from './source-fallback.js';

export interface PlannedPush {
  reference: string;
  upToDate: boolean;
  /** Blobs the destination lacks, and their bytes (the manifest comes on top). */
  blobs: number;
  bytes: number;
  error?: string;
}

export interface PlannedArtifact {
  artifact: string;
  tag: string;
  /** The source that would be used; undefined when every source failed. */
  source?: string;
  storedDigest?: string;
  upstreamDigest?: string;
  /** The store would get a new version. */
  changed: boolean;
  /** Blobs the store lacks, and their bytes. */
  downloadBlobs: number;
  downloadBytes: number;
  destinations: PlannedPush[];
  error?: string;
}

export async function planSync(options: {
  config: OciSyncConfig;
  /** The store tree (stateDir/oci). */
  storeRoot: string;
  registry: Transport;
  signal?: AbortSignal;
}): Promise<PlannedArtifact[]> {
  const out: PlannedArtifact[] = [];
  const cooldowns = new SourceCooldowns();
  // blobs an earlier tag of the pass would already have moved (tags share a layout and a repository)
  const planned = new Set<string>();
  for (const artifact of options.config.artifacts) {
    for (const tag of artifact.tags) {
      const plan: PlannedArtifact = {
        artifact: artifact.name,
        tag,
        changed: false,
        downloadBlobs: 0,
        downloadBytes: 0,
        destinations: [],
      };
      out.push(plan);
      try {
        await planTag(options, artifact.sources ?? options.config.sources, plan, cooldowns, planned);
      } catch (err) {
        plan.error = describeError(err);
      }
    }
  }
  return out;
}

async function planTag(
  options: { config: OciSyncConfig; storeRoot: string; registry: Transport; signal?: AbortSignal },
  prefixes: string[],
  plan: PlannedArtifact,
  cooldowns: SourceCooldowns,
  planned: Set<string>,
): Promise<void> {
  /** True the first time a blob is planned for a layout or repository. */
  const first = (where: string, digest: string): boolean => {
    const key = `${where}\0${digest}`;
    if (planned.has(key)) return false;
    planned.add(key);
    return true;
  };
  const { registry, signal } = options;
  const dir = join(options.storeRoot, plan.artifact);
  // opened only when it exists: OciLayout.open({create}) would write one
  const layout = existsSync(join(dir, 'oci-layout')) ? await OciLayout.open(dir) : undefined;
  const stored = layout ? await layout.manifestGet(plan.tag).catch(() => undefined) : undefined;
  plan.storedDigest = stored?.descriptor.digest;
  const sources = prefixes.map((prefix) => {
    const ref = parseReference(`${prefix}/${plan.artifact}:${plan.tag}`);
    return { source: formatReference(ref), host: ref.kind === 'registry' ? ref.registry : prefix, ref };
  });
  const { source, value } = await trySources(
    `${plan.artifact}:${plan.tag}`,
    sources,
    cooldowns,
    async ({ source: refText, ref }, { last }): Promise<ManifestBytes | undefined> => {
      const head = await registry.manifestHead(ref, { signal, retry: last });
      if (!head)
        throw new OciError(OciErrorCode.MANIFEST_UNKNOWN, `${refText}: manifest not found`, { status: 404 });
      if (head.digest === stored?.descriptor.digest) return stored;
      return registry.manifestGet(withDigest(ref, head.digest), { signal });
    },
  );
  plan.source = source.source;
  plan.upstreamDigest = value?.descriptor.digest;
  let target = value ?? stored;
  if (value && value !== stored) {
    const layer = validateTrivyArtifact(
      plan.artifact,
      value.manifest,
      `${source.source}@${value.descriptor.digest}`,
    );
    // the same layer under another manifest digest is not a new version (see artifact-sync.ts)
    if (stored && stored.manifest.layers?.[0]?.digest === layer.digest) target = stored;
    else {
      plan.changed = true;
      for (const blob of blobsOf(value)) {
        if ((layout && (await layout.blobHas(blob.digest))) || !first(dir, blob.digest)) continue;
        plan.downloadBlobs++;
        plan.downloadBytes += blob.size;
      }
    }
  }
  if (!target) return;
  for (const destination of options.config.destinations) {
    const reference = `${destination}/${plan.artifact}:${plan.tag}`;
    const push: PlannedPush = { reference, upToDate: false, blobs: 0, bytes: 0 };
    plan.destinations.push(push);
    try {
      const ref = parseReference(reference);
      const head = await registry.manifestHead(ref, { signal });
      if (head?.digest === target.descriptor.digest) {
        push.upToDate = true;
        continue;
      }
      for (const blob of blobsOf(target)) {
        if (
          (await registry.blobHead(ref, blob.digest, { signal })) ||
          !first(reference.replace(/:[^:/]+$/, ''), blob.digest)
        )
          continue;
        push.blobs++;
        push.bytes += blob.size;
      }
    } catch (err) {
      push.error = describeError(err);
    }
  }
}

function blobsOf(m: ManifestBytes): Descriptor[] {
  return [m.manifest.config, ...(m.manifest.layers ?? [])].filter((d): d is Descriptor => Boolean(d));
}
