// What each OCI-backed cache part is: its store repository, layer media type, and where Trivy reads it.
import { MediaType } from '@trivy-mirror/oci';
import type { CachePart } from '../config-schema.js';

export type ArtifactPart = Exclude<CachePart, 'vex'>;

export interface PartSpec {
  part: ArtifactPart;
  /** Repository name in the store (and under `--from-registry PREFIX`). */
  repository: 'trivy-db' | 'trivy-java-db' | 'trivy-checks';
  /** Default tag; checks default to the newest numeric tag held. */
  defaultTag: string;
  layerMediaType: string;
  /** Directory under the cache dir (a symlink managed by us). */
  linkName: 'db' | 'java-db' | 'policy';
  /** For the databases: the tarball's db file name (the only other accepted entry is metadata.json). */
  dbFile?: string;
  /** Schema version Trivy expects in metadata.json (`Version`) or in `MajorVersion` for checks. */
  schemaVersion: number;
}

export const PART_SPECS: Record<ArtifactPart, PartSpec> = {
  db: {
    part: 'db',
    repository: 'trivy-db',
    defaultTag: '2',
    layerMediaType: MediaType.TrivyDbLayer,
    linkName: 'db',
    dbFile: 'trivy.db',
    schemaVersion: 2,
  },
  'java-db': {
    part: 'java-db',
    repository: 'trivy-java-db',
    defaultTag: '1',
    layerMediaType: MediaType.TrivyJavaDbLayer,
    linkName: 'java-db',
    dbFile: 'trivy-java.db',
    schemaVersion: 1,
  },
  checks: {
    part: 'checks',
    repository: 'trivy-checks',
    defaultTag: '2',
    layerMediaType: MediaType.OpaLayer,
    linkName: 'policy',
    schemaVersion: 2,
  },
};

export function partForRepository(repository: string): ArtifactPart | undefined {
  for (const spec of Object.values(PART_SPECS)) if (spec.repository === repository) return spec.part;
  return undefined;
}
