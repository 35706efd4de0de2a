// Where a configured repository's manifest and archive come from, following Trivy's own rules:
// github.com repositories read vex-repository.json from the repository root (Trivy uses the contents API),
// every other URL serves it at /.well-known/vex-repository.json (vex-repo-spec 0.1).
import { MirrorError } from '@trivy-mirror/plugin-api';
import type { RepositoryConfig, VexhubMirrorConfig } from '../config.js';
import type { ArchiveLocation } from './location-url.js';

export interface ResolvedSource {
  kind: 'github' | 'spec';
  manifestUrl: string;
  /** GitHub: the branch archive. Spec repositories: undefined, the manifest's locations decide. */
  archive?: ArchiveLocation;
}

export function repositoryKind(repo: Pick<RepositoryConfig, 'url' | 'kind'>): 'github' | 'spec' {
  if (repo.kind) return repo.kind;
  return repo.url !== undefined && new URL(repo.url).host === 'github.com' ? 'github' : 'spec';
}

/** The configured URL; a repository with `source: import` has none and is never fetched. */
export function upstreamUrl(repo: Pick<RepositoryConfig, 'name' | 'url'>): string {
  if (repo.url === undefined) {
    throw new MirrorError(
      'VEX_SOURCE_INVALID',
      `vex repository ${repo.name} has no url (source: import): it is filled only by \`trivy-mirror import\``,
    );
  }
  return repo.url;
}

export function resolveSource(
  repo: RepositoryConfig,
  config: Pick<VexhubMirrorConfig, 'githubBaseUrl' | 'githubRawBaseUrl'>,
): ResolvedSource {
  const url = new URL(upstreamUrl(repo));
  const kind = repositoryKind(repo);
  if (kind === 'spec') {
    const base = url.pathname.replace(/\/+$/, '');
    url.pathname = `${base}/.well-known/vex-repository.json`;
    return { kind, manifestUrl: url.toString() };
  }
  const [owner, name] = url.pathname.split('/').filter((s) => s !== '');
  if (!owner || !name) {
    throw new MirrorError(
      'VEX_SOURCE_INVALID',
      `vex repository ${repo.name}: ${repo.url} is not a GitHub repository URL (https://github.com/OWNER/REPO)`,
    );
  }
  const repoName = name.replace(/\.git$/, '');
  const branch = encodeURIComponent(repo.branch).replace(/%2F/gi, '/');
  const ext = repo.archive === 'zip' ? 'zip' : 'tar.gz';
  return {
    kind,
    manifestUrl: `${config.githubRawBaseUrl}/${owner}/${repoName}/${branch}/vex-repository.json`,
    // GitHub archives hold one top folder (REPO-BRANCH); the reader takes the single top folder.
    archive: {
      url: `${config.githubBaseUrl}/${owner}/${repoName}/archive/refs/heads/${branch}.${ext}`,
      type: repo.archive,
    },
  };
}
