// What a request on the serving listener says about its client and what it fetched: the client and
// version from the User-Agent, the artifact (and tag) from the path. Pure; no I/O.

/** Artifacts a client can fetch from the mirror; anything else on the serving listener is not counted. */
export const CLIENT_ARTIFACTS = ['trivy-db', 'trivy-java-db', 'trivy-checks', 'vex'] as const;
export type ClientArtifact = (typeof CLIENT_ARTIFACTS)[number];

export interface ClientId {
  /** 'trivy', 'trivy-mirror' (another mirror syncing from this one) or 'other'. */
  client: string;
  /** '' for 'other'. */
  version: string;
}

export const OTHER_CLIENT: ClientId = { client: 'other', version: '' };

// The first product token only: ggcr may append ` go-containerregistry/…`.
const KNOWN_AGENT = /^(trivy|trivy-mirror)\/v?([0-9A-Za-z][0-9A-Za-z.+-]{0,31})(?:\s|$)/;

/** `trivy/0.74.0` → trivy 0.74.0; anything else is 'other'. */
export function clientOf(userAgent: string | undefined): ClientId {
  const m = KNOWN_AGENT.exec(userAgent ?? '');
  return m ? { client: m[1]!, version: m[2]! } : OTHER_CLIENT;
}

const OCI_ARTIFACTS = new Set<string>(['trivy-db', 'trivy-java-db', 'trivy-checks']);
// /v2/[PREFIX/]NAME/(manifests|blobs|tags)/REST, NAME being the last segment before the kind.
const V2_PATH = /^\/v2\/(?:[^/]+\/)*?([^/]+)\/(manifests|blobs|tags)\/(.+)$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const VEX_PATH = /\/(?:\.well-known\/vex-repository\.json|archive\.zip|archive\.tar\.gz)$/;

export interface ArtifactRequest {
  artifact: ClientArtifact;
  /** The tag when a manifest is fetched by tag (not by digest). */
  tag?: string;
}

/** The artifact a path fetches, or undefined for anything else (pings, catalog, the status page). */
export function artifactOf(pathname: string): ArtifactRequest | undefined {
  const m = V2_PATH.exec(pathname);
  if (m) {
    const [, name, kind, rest] = m;
    if (!OCI_ARTIFACTS.has(name!)) return undefined;
    const artifact = name as ClientArtifact;
    return kind === 'manifests' && TAG.test(rest!) ? { artifact, tag: rest } : { artifact };
  }
  if (!pathname.startsWith('/v2/') && VEX_PATH.test(pathname)) return { artifact: 'vex' };
  return undefined;
}

/** major.minor.patch of a version, or undefined when it has none (`dev`, a commit). */
export function versionParts(version: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Whether `version` is below `than` (both x.y.z); false when `version` cannot be read. */
export function versionBelow(version: string, than: string): boolean {
  const a = versionParts(version);
  const b = versionParts(than);
  if (!a || !b) return false;
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}
