// Registry host names as credential keys: lowercase host[:port], Docker Hub aliases folded into one.

const DOCKER_HUB_ALIASES = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);

export const DOCKER_HUB = 'docker.io';
/** The key Docker uses for Docker Hub in config.json and towards credential helpers. */
export const DOCKER_HUB_SERVER_URL = 'https://index.docker.io/v1/';

/** 'Index.Docker.io' → 'docker.io'; 'Registry.Internal:5000' → 'registry.internal:5000'. */
export function normalizeRegistryHost(host: string): string {
  const h = host.trim().toLowerCase();
  return DOCKER_HUB_ALIASES.has(h) ? DOCKER_HUB : h;
}

/**
 * The host of a docker config `auths` key: 'https://index.docker.io/v1/' → 'docker.io',
 * 'http://registry.internal:5000/v2/' → 'registry.internal:5000', 'ghcr.io' → 'ghcr.io'.
 */
export function hostOfAuthKey(key: string): string {
  let rest = key.trim();
  const scheme = rest.indexOf('://');
  if (scheme >= 0) rest = rest.slice(scheme + 3);
  const slash = rest.indexOf('/');
  if (slash >= 0) rest = rest.slice(0, slash);
  return normalizeRegistryHost(rest);
}

/** What to hand a credential helper for `host` (Docker Hub is known to helpers by its old URL). */
export function helperServerUrl(host: string): string {
  return normalizeRegistryHost(host) === DOCKER_HUB ? DOCKER_HUB_SERVER_URL : host;
}
