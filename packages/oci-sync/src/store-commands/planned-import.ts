// What `import` found in an export before it changes anything: a file of its own, so the checks that
// read a plan (rollback, trust) and the import that applies it do not import each other.
import type { Descriptor, OciLayout } from '@trivy-mirror/oci';

export interface LayoutPlan {
  repository: string;
  manifests: Descriptor[];
  /** Every blob reachable from index.json, by digest. */
  blobs: Map<string, Descriptor>;
  problems: string[];
}

export interface PlannedImport {
  inDir: string;
  layouts: { repository: string; src: OciLayout; plan: LayoutPlan }[];
}
