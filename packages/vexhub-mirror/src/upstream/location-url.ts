// Parses a VEX repository location URL the way Trivy's go-getter does: `//SUBDIR`, `?archive=`, suffix.
import { MirrorError } from '@trivy-mirror/plugin-api';

export type ArchiveType = 'zip' | 'tar.gz';

export interface ArchiveLocation {
  /** The URL to download (subdir and the `archive` query parameter removed, as go-getter does). */
  url: string;
  type: ArchiveType;
  /** The folder inside the archive that holds index.json ('' = the archive root, undefined = not given). */
  subdir?: string;
}

/** go-getter's SourceDirSubdir: the first `//` after the scheme (and before any query) starts the subdir. */
export function splitSubdir(src: string): { src: string; subdir: string } {
  let stop = src.length;
  const q = src.indexOf('?');
  if (q > -1) stop = q;
  let offset = 0;
  const scheme = src.slice(0, stop).indexOf('://');
  if (scheme > -1) offset = scheme + 3;
  let idx = src.slice(offset, stop).indexOf('//');
  if (idx === -1) return { src, subdir: '' };
  idx += offset;
  let subdir = src.slice(idx + 2);
  let base = src.slice(0, idx);
  const sq = subdir.indexOf('?');
  if (sq > -1) {
    base += subdir.slice(sq);
    subdir = subdir.slice(0, sq);
  }
  return { src: base, subdir };
}

// go-getter's decompressors we can read; the others are named in the error.
const SUFFIXES: { suffix: string; type: ArchiveType | undefined }[] = [
  { suffix: '.tar.gz', type: 'tar.gz' },
  { suffix: '.tgz', type: 'tar.gz' },
  { suffix: '.zip', type: 'zip' },
  { suffix: '.tar.bz2', type: undefined },
  { suffix: '.tbz2', type: undefined },
  { suffix: '.tar.xz', type: undefined },
  { suffix: '.txz', type: undefined },
  { suffix: '.tar.zst', type: undefined },
  { suffix: '.tzst', type: undefined },
  { suffix: '.tar', type: undefined },
  { suffix: '.gz', type: undefined },
  { suffix: '.bz2', type: undefined },
  { suffix: '.xz', type: undefined },
  { suffix: '.zst', type: undefined },
];

function typeOf(name: string, where: string): ArchiveType {
  const key = name.startsWith('.') ? name : `.${name}`;
  const hit = SUFFIXES.find((s) => key.toLowerCase() === s.suffix);
  if (!hit) throw new MirrorError('VEX_LOCATION_INVALID', `${where}: unknown archive type "${name}"`);
  if (!hit.type) {
    throw new MirrorError(
      'VEX_LOCATION_INVALID',
      `${where}: archive type "${name}" is not supported by the mirror (zip and tar.gz are)`,
    );
  }
  return hit.type;
}

/** Reads a location URL from a repository manifest. Throws MirrorError VEX_LOCATION_INVALID. */
export function parseLocation(location: string): ArchiveLocation {
  const where = `location ${location}`;
  const { src, subdir } = splitSubdir(location);
  let url: URL;
  try {
    url = new URL(src);
  } catch (err) {
    throw new MirrorError('VEX_LOCATION_INVALID', `${where}: not an absolute URL`, { cause: err });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new MirrorError('VEX_LOCATION_INVALID', `${where}: only http(s) locations can be mirrored`);
  }
  let type: ArchiveType | undefined;
  const archive = url.searchParams.get('archive');
  if (archive !== null) {
    if (archive === '' || archive === 'false') {
      throw new MirrorError('VEX_LOCATION_INVALID', `${where}: archive=${archive} is not an archive`);
    }
    type = typeOf(archive, where);
    url.searchParams.delete('archive');
  } else {
    const path = url.pathname.toLowerCase();
    const hit = SUFFIXES.find((s) => path.endsWith(s.suffix));
    if (!hit) {
      throw new MirrorError(
        'VEX_LOCATION_INVALID',
        `${where}: neither an archive suffix (.zip, .tar.gz, …) nor ?archive=zip`,
      );
    }
    type = typeOf(hit.suffix, where);
  }
  const cleanSubdir = subdir.replace(/^\/+|\/+$/g, '');
  if (cleanSubdir.split('/').some((s) => s === '..' || s === '.') || cleanSubdir.includes('\\')) {
    throw new MirrorError('VEX_LOCATION_INVALID', `${where}: subdir "${subdir}" leaves the archive`);
  }
  return { url: url.toString(), type, subdir: subdir === '' ? undefined : cleanSubdir };
}

/** The location written into the rewritten manifest: `<base>/archive.<ext>//<subdir>`. */
export function formatLocation(archiveUrl: string, subdir: string): string {
  return subdir === '' ? archiveUrl : `${archiveUrl}//${subdir}`;
}
