// Checks index.json of an extracted VEX repository the way Trivy will read it, and that every listed document parses.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ArchiveInvalidError } from '@trivy-mirror/plugin-api';
import type { ArchiveTree } from '../archives/archive-tree.js';

export interface IndexSummary {
  updatedAt: string;
  packages: number;
}

// Go's time.Time JSON decoding accepts RFC 3339 only.
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const FORMATS = new Set(['openvex', 'csaf']);

/**
 * `contentDir` is the extracted folder that holds index.json; `subdir` is its path inside the archive (for messages
 * and lookups in `tree`). Package ids are not matched against the spec's PURL pattern: VEX Hub's own ids fail it.
 */
export async function checkIndex(
  contentDir: string,
  tree: ArchiveTree,
  subdir: string,
): Promise<IndexSummary> {
  const inArchive = (p: string) => (subdir === '' ? p : `${subdir}/${p}`);
  const indexEntry = inArchive('index.json');
  const fail = (msg: string, cause?: unknown) =>
    new ArchiveInvalidError(`entry ${indexEntry}: ${msg}`, cause);
  if (!tree.files.has(indexEntry)) throw fail('missing (the repository folder must hold index.json)');
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path.join(contentDir, 'index.json'), 'utf8'));
  } catch (err) {
    throw fail('is not valid JSON', err);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw fail('is not a JSON object');
  const index = doc as { updated_at?: unknown; packages?: unknown };
  if (typeof index.updated_at !== 'string' || !RFC3339_RE.test(index.updated_at)) {
    throw fail(`"updated_at" ${JSON.stringify(index.updated_at)} is not an RFC 3339 time`);
  }
  if (!Array.isArray(index.packages)) throw fail('has no "packages" array');
  const checked = new Set<string>();
  for (const [i, pkg] of index.packages.entries()) {
    const at = `packages[${i}]`;
    if (!pkg || typeof pkg !== 'object') throw fail(`${at} is not an object`);
    const { id, location, format } = pkg as { id?: unknown; location?: unknown; format?: unknown };
    if (typeof id !== 'string' || id === '') throw fail(`${at}.id is not a non-empty string`);
    if (typeof location !== 'string' || location === '')
      throw fail(`${at}.location is not a non-empty string`);
    if (format !== undefined && (typeof format !== 'string' || !FORMATS.has(format))) {
      throw fail(`${at}.format ${JSON.stringify(format)} is not "openvex" or "csaf"`);
    }
    const segments = location.split('/');
    if (
      location.startsWith('/') ||
      location.includes('\\') ||
      /^[A-Za-z]:/.test(location) ||
      segments.includes('..')
    ) {
      throw fail(`${at}.location ${JSON.stringify(location)} leaves the repository folder`);
    }
    const rel = path.posix.normalize(location);
    const entry = inArchive(rel);
    if (!tree.files.has(entry))
      throw fail(`${at}.location ${JSON.stringify(location)}: ${entry} is not in the archive`);
    if (checked.has(rel)) continue;
    checked.add(rel);
    try {
      JSON.parse(await readFile(path.join(contentDir, rel), 'utf8'));
    } catch (err) {
      throw new ArchiveInvalidError(`entry ${entry} (listed as ${at} in ${indexEntry}): not valid JSON`, err);
    }
  }
  return { updatedAt: index.updated_at, packages: index.packages.length };
}
