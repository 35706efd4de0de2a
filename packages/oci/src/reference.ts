// Reference parsing (pure, no I/O): registry references with Docker Hub normalisation, and
// `oci-layout:DIR[:TAG|@DIGEST]` for OCI image layouts on disk.
import { OciError, OciErrorCode } from './errors.js';
import type { Reference } from './types.js';

export const DOCKER_HUB = 'docker.io';
const LAYOUT_PREFIX = 'oci-layout:';

// Distribution spec grammar (path components, tags); digests we handle are sha256 only.
const COMPONENT_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

function invalid(input: string, why: string): OciError {
  return new OciError(OciErrorCode.REFERENCE_INVALID, `invalid reference "${input}": ${why}`, {
    target: input,
  });
}

function checkDigest(input: string, digest: string): string {
  if (!DIGEST_RE.test(digest)) throw invalid(input, `digest "${digest}" is not sha256:<64 lowercase hex>`);
  return digest;
}

function checkTag(input: string, tag: string): string {
  if (!TAG_RE.test(tag)) throw invalid(input, `tag "${tag}" is not a valid tag`);
  return tag;
}

/** True when the first path component names a registry rather than a Docker Hub namespace. */
function looksLikeHost(component: string): boolean {
  return (
    component.includes('.') ||
    component.includes(':') ||
    component === 'localhost' ||
    component.startsWith('[')
  );
}

/** Parses 'HOST/REPO:TAG', 'HOST/REPO@sha256:…', 'alpine' (Docker Hub) or 'oci-layout:DIR[:TAG|@DIGEST]'. */
export function parseReference(input: string): Reference {
  if (typeof input !== 'string' || input.trim() === '') throw invalid(String(input), 'empty');
  if (input !== input.trim() || /\s/.test(input)) throw invalid(input, 'contains whitespace');
  if (input.startsWith(LAYOUT_PREFIX)) return parseLayout(input);

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = checkDigest(input, rest.slice(at + 1));
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = checkTag(input, rest.slice(colon + 1));
    rest = rest.slice(0, colon);
  }
  if (rest === '') throw invalid(input, 'missing repository');

  const slash = rest.indexOf('/');
  let registry = DOCKER_HUB;
  let repository = rest;
  if (slash >= 0 && looksLikeHost(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    repository = rest.slice(slash + 1);
  }
  if (!HOST_RE.test(registry)) throw invalid(input, `registry host "${registry}" is not valid`);
  const port = /:(\d+)$/.exec(registry)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw invalid(input, `port ${port} out of range`);
  }
  registry = registry.toLowerCase();
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (repository === '') throw invalid(input, 'missing repository');
  for (const part of repository.split('/')) {
    if (!COMPONENT_RE.test(part)) {
      throw invalid(input, `repository component "${part}" must be lowercase letters, digits and separators`);
    }
  }
  if (repository.length > 255) throw invalid(input, 'repository name longer than 255 characters');
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  return { kind: 'registry', registry, repository, tag, digest };
}

function parseLayout(input: string): Reference {
  let rest = input.slice(LAYOUT_PREFIX.length);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0 && rest.slice(at + 1).includes(':')) {
    digest = checkDigest(input, rest.slice(at + 1));
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      const candidate = rest.slice(colon + 1);
      if (candidate.includes('/')) {
        // a ':' inside the directory path, not a tag
      } else {
        tag = checkTag(input, candidate);
        rest = rest.slice(0, colon);
      }
    }
  }
  if (rest === '') throw invalid(input, 'missing layout directory');
  return { kind: 'layout', path: rest, tag, digest };
}

/** The canonical string of a reference; parseReference(formatReference(r)) gives r back. */
export function formatReference(ref: Reference): string {
  const base = ref.kind === 'layout' ? `${LAYOUT_PREFIX}${ref.path}` : `${ref.registry}/${ref.repository}`;
  if (ref.kind === 'layout') {
    if (ref.digest) return `${base}@${ref.digest}`;
    return ref.tag ? `${base}:${ref.tag}` : base;
  }
  return `${base}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Same repository, this tag, no digest. */
export function withTag(ref: Reference, tag: string): Reference {
  checkTag(tag, tag);
  return { ...ref, tag, digest: undefined };
}

/** Same repository, this digest (the tag is dropped: a digest names exactly one manifest). */
export function withDigest(ref: Reference, digest: string): Reference {
  checkDigest(digest, digest);
  return { ...ref, tag: undefined, digest };
}

/** What to ask a registry or layout for: the digest when pinned, else the tag (default 'latest'). */
export function referenceTarget(ref: Reference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** The host part without the port, brackets removed for IPv6. */
export function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

/** 127.0.0.0/8, localhost and ::1 (with or without a port): plain http is allowed there. */
export function isLoopbackHost(host: string): boolean {
  const name = hostName(host).toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return m?.slice(1).every((o) => Number(o) <= 255) ?? false;
}
