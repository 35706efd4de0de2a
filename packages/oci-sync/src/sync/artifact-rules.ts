// What Trivy accepts for its three artifacts; checked before anything is stored or pushed.
import { Annotation, type Descriptor, type ImageManifest, MediaType } from '@trivy-mirror/oci';
import { ArtifactInvalidError } from '@trivy-mirror/plugin-api';

export interface ArtifactRule {
  layerMediaType: string;
  /**
   * Whether Trivy reads the major version from `org.opencontainers.image.version` (checks). Not
   * required: Trivy v0.74 (pkg/policy) takes a bundle without one, or with one that is not semver, as a
   * custom build, and trivy-checks:1 carries none.
   */
  versioned: boolean;
  /** The layer's tarball has a metadata.json with UpdatedAt/NextUpdate. */
  hasMetadata: boolean;
  /** metadata.json `Version` Trivy accepts (pkg/db SchemaVersion 2, pkg/javadb SchemaVersion 1). */
  schemaVersion?: number;
}

export const ARTIFACT_RULES: Record<string, ArtifactRule> = {
  'trivy-db': {
    layerMediaType: MediaType.TrivyDbLayer,
    versioned: false,
    hasMetadata: true,
    schemaVersion: 2,
  },
  'trivy-java-db': {
    layerMediaType: MediaType.TrivyJavaDbLayer,
    versioned: false,
    hasMetadata: true,
    schemaVersion: 1,
  },
  'trivy-checks': { layerMediaType: MediaType.OpaLayer, versioned: true, hasMetadata: false },
};

/** The rule for a repository name: by its last path component ('aquasec/trivy-db' → trivy-db). */
export function ruleFor(name: string): ArtifactRule | undefined {
  return ARTIFACT_RULES[name.split('/').pop() ?? name];
}

const MANIFEST_MEDIA_TYPES = new Set<string>([MediaType.OciManifest, MediaType.DockerManifest]);

/**
 * Checks a manifest the way Trivy would use it: exactly one layer with the artifact's media type,
 * a plain file name in the title annotation. Both upstream
 * shapes pass (OCI 1.1 with artifactType and the empty config, and the older config-typed one).
 * `reference` only names the artifact in the error. Returns the single layer.
 */
export function validateTrivyArtifact(
  name: string,
  manifest: ImageManifest,
  reference: string = name,
): Descriptor & { title: string } {
  const fail = (rule: string): never => {
    throw new ArtifactInvalidError(`${reference}: not a valid ${name} artifact: ${rule}`);
  };
  const rule = ruleFor(name);
  if (!rule) fail(`unknown artifact name (expected one of ${Object.keys(ARTIFACT_RULES).join(', ')})`);
  if (!manifest || typeof manifest !== 'object') fail('manifest is not a JSON object');
  if (manifest.schemaVersion !== 2) fail('schemaVersion must be 2');
  if (manifest.mediaType !== undefined && !MANIFEST_MEDIA_TYPES.has(manifest.mediaType)) {
    fail(`manifest media type ${manifest.mediaType} is not an image manifest`);
  }
  if (
    !manifest.config ||
    typeof manifest.config.digest !== 'string' ||
    typeof manifest.config.mediaType !== 'string'
  ) {
    fail('config descriptor missing');
  }
  if (!Array.isArray(manifest.layers)) fail('layers missing');
  if (manifest.layers.length !== 1) fail(`exactly one layer required, found ${manifest.layers.length}`);
  const layer = manifest.layers[0];
  if (!layer || typeof layer.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(layer.digest)) {
    fail('layer digest missing or not sha256');
  }
  if (!Number.isSafeInteger(layer.size) || layer.size <= 0) fail('layer size missing');
  if (layer.mediaType !== rule?.layerMediaType) {
    fail(`layer media type must be ${rule?.layerMediaType}, found ${layer.mediaType}`);
  }
  const title = layer.annotations?.[Annotation.Title];
  if (typeof title !== 'string' || title === '') fail(`layer annotation ${Annotation.Title} missing`);
  if (
    typeof title === 'string' &&
    (title.includes('/') ||
      title.includes('\\') ||
      title === '.' ||
      title === '..' ||
      title.includes('..') ||
      title.includes('\0'))
  ) {
    fail(`layer annotation ${Annotation.Title} must be a plain file name, found ${JSON.stringify(title)}`);
  }
  return { ...layer, title: title as string };
}

/** The major version Trivy reads from a checks bundle's version annotation. */
export function checksMajorVersion(manifest: ImageManifest): number | undefined {
  const version = manifest.annotations?.[Annotation.Version];
  const major = version ? Number.parseInt(version, 10) : Number.NaN;
  return Number.isNaN(major) ? undefined : major;
}
