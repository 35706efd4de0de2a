// The store as a static OCI registry tree (nginx, a CDN, any file server answers Trivy from it):
//   v2/index.json                            the ping's body ({})
//   v2/NAME/blobs/sha256:HEX                 hard links into the store (copies across filesystems)
//   v2/NAME/_manifests/sha256:HEX.KIND       manifest bytes; KIND names the media type for nginx
//   v2/NAME/manifests/sha256:HEX, …/TAG      symlinks to those files
//   v2/NAME/tags/list                        the tag list ({"name","tags"})
// Order makes every state a reader can see consistent: blobs, then manifests, then tags (one
// rename each). A blob or manifest leaves the tree only once the store has dropped it, i.e. after
// the store's GC grace, so a download that resolved an old tag can still finish.
import { readdir, readFile, realpath, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Annotation, type Descriptor, isDigest, MediaType, OciLayout, sha256Digest } from '@trivy-mirror/oci';
import { mkdirp } from '@trivy-mirror/oci/fs';
import { MirrorError } from '@trivy-mirror/plugin-api';
import { dropBadTreeBlob, placeBlob, placeBytes, pointLink, sizeOf, TreeTemp } from './tree-files.js';

/** File-name suffix per manifest media type: nginx's `types` map it back (deploy/nginx). */
export const MANIFEST_KINDS: Record<string, string> = {
  [MediaType.OciManifest]: 'oci-manifest',
  [MediaType.OciIndex]: 'oci-index',
  [MediaType.DockerManifest]: 'docker-manifest',
  [MediaType.DockerManifestList]: 'docker-list',
};

const NAME_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const MAX_DEPTH = 3;

export interface PublishLayout {
  repository: string;
  dir: string;
}

export interface PublishRepositoryReport {
  repository: string;
  tags: string[];
  manifests: number;
  blobs: number;
  /** Blobs copied (not hard-linked): the tree is on another filesystem than the store. */
  blobsCopied: number;
  bytesCopied: number;
  /** Tags that moved in this run. */
  tagsMoved: string[];
  /** Blobs and manifests removed because the store no longer has them. */
  removed: number;
}

export interface PublishReport {
  outDir: string;
  repositories: PublishRepositoryReport[];
}

/** Publishes every layout into `outDir` (created); idempotent, and cheap when nothing changed. */
export async function publishRegistryTree(options: {
  layouts: PublishLayout[];
  outDir: string;
}): Promise<PublishReport> {
  const temp = new TreeTemp(join(options.outDir, '.tmp'));
  await mkdirp(join(options.outDir, 'v2'));
  await temp.clean();
  const report: PublishReport = { outDir: options.outDir, repositories: [] };
  const problems: unknown[] = [];
  for (const { repository, dir } of options.layouts) {
    if (!NAME_RE.test(repository)) {
      throw new MirrorError('PUBLISH_FAILED', `${dir}: "${repository}" is not a repository name`);
    }
    const layout = await OciLayout.open(dir);
    report.repositories.push(await publishRepository(temp, layout, repository, options.outDir, problems));
  }
  await placeBytes(temp, join(options.outDir, 'v2', 'index.json'), Buffer.from('{}'));
  if (problems.length > 0) {
    const text = problems.map((p) => (p instanceof Error ? p.message : String(p))).join('; ');
    throw new MirrorError('PUBLISH_INCOMPLETE', `published ${options.outDir} without: ${text}`, {
      cause: problems[0],
    });
  }
  return report;
}

interface Published {
  digest: string;
  file: string;
}

async function publishRepository(
  temp: TreeTemp,
  layout: OciLayout,
  repository: string,
  outDir: string,
  problems: unknown[],
): Promise<PublishRepositoryReport> {
  const root = join(outDir, 'v2', ...repository.split('/'));
  const dirs = {
    blobs: join(root, 'blobs'),
    files: join(root, '_manifests'),
    links: join(root, 'manifests'),
  };
  for (const d of Object.values(dirs)) await mkdirp(d);
  const report: PublishRepositoryReport = {
    repository,
    tags: [],
    manifests: 0,
    blobs: 0,
    blobsCopied: 0,
    bytesCopied: 0,
    tagsMoved: [],
    removed: 0,
  };
  const live = new Set<string>();
  const keepTags = new Set<string>();
  const done = new Map<string, Published>();

  const publishManifest = async (desc: Descriptor, depth: number): Promise<Published> => {
    const seen = done.get(desc.digest);
    if (seen) return seen;
    const where = `${repository}@${desc.digest}`;
    const kind = MANIFEST_KINDS[desc.mediaType];
    if (!kind)
      throw new MirrorError('PUBLISH_FAILED', `${where}: media type ${desc.mediaType} not publishable`);
    if (!isDigest(desc.digest)) throw new MirrorError('PUBLISH_FAILED', `${where}: not a sha256 digest`);
    let bytes: Buffer;
    try {
      bytes = await readFile(layout.blobPath(desc.digest));
    } catch (err) {
      throw new MirrorError('STORE_INCONSISTENT', `${where}: manifest missing in the store`, { cause: err });
    }
    if (sha256Digest(bytes) !== desc.digest) {
      throw new MirrorError('STORE_INCONSISTENT', `${where}: the stored manifest does not match its digest`);
    }
    const json = JSON.parse(bytes.toString('utf8')) as {
      config?: Descriptor;
      layers?: Descriptor[];
      manifests?: Descriptor[];
    };
    // children and blobs first: the manifest appears only once all it names can be fetched
    if (json.manifests) {
      if (depth >= MAX_DEPTH) throw new MirrorError('PUBLISH_FAILED', `${where}: index nesting too deep`);
      for (const child of json.manifests) await publishManifest(child, depth + 1);
    }
    for (const blob of [...(json.config ? [json.config] : []), ...(json.layers ?? [])]) {
      if (!isDigest(blob.digest)) throw new MirrorError('PUBLISH_FAILED', `${where}: bad blob digest`);
      live.add(blob.digest);
      const src = layout.blobPath(blob.digest);
      const dst = join(dirs.blobs, blob.digest);
      if ((await sizeOf(src)) !== blob.size) {
        const dropped = await dropBadTreeBlob(dst, blob);
        throw new MirrorError(
          'STORE_INCONSISTENT',
          `${where}: blob ${blob.digest} missing or short in the store` +
            (dropped ? ' (the tree held a damaged copy: removed until it is fetched again)' : ''),
        );
      }
      const copied = await placeBlob(temp, src, dst, blob);
      report.blobs++;
      if (copied > 0) {
        report.blobsCopied++;
        report.bytesCopied += copied;
      }
    }
    const name = `${desc.digest}.${kind}`;
    await placeBytes(temp, join(dirs.files, name), bytes);
    await pointLink(temp, join(dirs.links, desc.digest), `../_manifests/${name}`);
    live.add(desc.digest);
    report.manifests++;
    const out = { digest: desc.digest, file: name };
    done.set(desc.digest, out);
    return out;
  };

  const index = await layout.index();
  const tags = new Map<string, Published>();
  for (const entry of index.manifests) {
    const tag = entry.annotations?.[Annotation.RefName];
    try {
      const published = await publishManifest(entry, 0);
      if (tag !== undefined && TAG_RE.test(tag)) tags.set(tag, published);
    } catch (err) {
      // a damaged version is left out (its tag stays where it was); the others are published
      problems.push(err);
      if (tag !== undefined) keepTags.add(tag);
    }
  }
  // tags last: each moves in one rename, after everything it points at is in place
  for (const [tag, published] of tags) {
    if (await pointLink(temp, join(dirs.links, tag), `../_manifests/${published.file}`))
      report.tagsMoved.push(tag);
  }
  report.tags = [...tags.keys()].sort();
  // `crane ls`, `skopeo list-tags`: the tags of this publication
  await mkdirp(join(root, 'tags'));
  const list = Buffer.from(
    JSON.stringify({ name: repository, tags: [...new Set([...report.tags, ...keepTags])].sort() }),
  );
  await placeBytes(temp, join(root, 'tags', 'list'), list, { compare: true });
  // a tag left where it was (its new version failed) keeps what it points at, store or no store
  for (const tag of keepTags) await protectTagged(join(dirs.links, tag), live);
  report.removed = await removeDropped(layout, dirs, live, new Set([...tags.keys(), ...keepTags]));
  return report;
}

async function protectTagged(link: string, live: Set<string>): Promise<void> {
  try {
    const json = JSON.parse(await readFile(link, 'utf8')) as { config?: Descriptor; layers?: Descriptor[] };
    live.add(basename(await realpath(link)).replace(/\.[a-z-]+$/, ''));
    for (const d of [...(json.config ? [json.config] : []), ...(json.layers ?? [])]) live.add(d.digest);
  } catch {
    // no such tag in the tree yet: nothing to keep
  }
}

/**
 * Removes what the store no longer holds (its GC honoured the grace time), links before files;
 * tags the store no longer has go too. Unreferenced entries the store still keeps stay.
 */
async function removeDropped(
  layout: OciLayout,
  dirs: { blobs: string; files: string; links: string },
  live: Set<string>,
  tags: Set<string>,
): Promise<number> {
  let removed = 0;
  const gone = async (digest: string) =>
    !live.has(digest) && (await sizeOf(layout.blobPath(digest))) === undefined;
  for (const name of await readdir(dirs.links)) {
    if (isDigest(name) ? await gone(name) : TAG_RE.test(name) && !tags.has(name)) {
      await rm(join(dirs.links, name), { force: true });
    }
  }
  for (const name of await readdir(dirs.files)) {
    const digest = name.replace(/\.[a-z-]+$/, '');
    if (isDigest(digest) && (await gone(digest))) {
      await rm(join(dirs.files, name), { force: true });
      removed++;
    }
  }
  for (const name of await readdir(dirs.blobs)) {
    if (isDigest(name) && (await gone(name))) {
      await rm(join(dirs.blobs, name), { force: true });
      removed++;
    }
  }
  return removed;
}
