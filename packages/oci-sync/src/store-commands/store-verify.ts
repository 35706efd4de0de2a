// `trivy-mirror store verify`: re-hashes every blob of every layout (streamed) and checks that every
// manifest index.json reaches parses and that what it references is present with the right size.
// Each fault names the file it is about, so an operator knows what to delete or re-sync. The root is
// a store (one layout per repository) or one layout (what `copy … oci-layout:DIR:TAG` writes); a root
// with neither is a fault, not "0 layouts, all sound".
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Descriptor, MANIFEST_MAX_BYTES, OciLayout } from '@trivy-mirror/oci';
import { hashFile } from '../store/file-digest.js';
import { findLayouts } from './store-transfer.js';

export interface StoreFault {
  /** The file the fault is about (a blob, index.json, oci-layout). */
  file: string;
  problem: string;
}

export interface StoreVerifyReport {
  layouts: number;
  blobs: number;
  bytes: number;
  manifests: number;
  faults: StoreFault[];
}

const BLOB_NAME = /^[a-f0-9]{64}$/;

export async function verifyStore(
  root: string,
  options: { onBlob?: (file: string, size: number) => void } = {},
): Promise<StoreVerifyReport> {
  // Absolute, like OciLayout.blobPath: the blob scan and the reference check must name a bad blob
  // alike, or it is reported twice (once as corrupt, once as missing).
  const dir = resolve(root);
  const report: StoreVerifyReport = { layouts: 0, blobs: 0, bytes: 0, manifests: 0, faults: [] };
  const single = await stat(join(dir, 'oci-layout')).then(
    (s) => s.isFile(),
    () => false,
  );
  for (const repository of single ? [''] : await findLayouts(dir)) {
    report.layouts++;
    await verifyLayout(join(dir, repository), report, options.onBlob);
  }
  if (report.layouts === 0)
    report.faults.push({
      file: dir,
      problem: 'holds no OCI layout (no oci-layout file in it or in the folders below it)',
    });
  return report;
}

async function verifyLayout(
  dir: string,
  report: StoreVerifyReport,
  onBlob?: (file: string, size: number) => void,
): Promise<void> {
  const fault = (file: string, problem: string) => report.faults.push({ file, problem });
  let layout: OciLayout;
  try {
    layout = await OciLayout.open(dir);
  } catch (err) {
    fault(join(dir, 'oci-layout'), (err as Error).message);
    return;
  }
  // Every blob file, referenced or not: its name is its digest.
  const blobDir = join(dir, 'blobs', 'sha256');
  const sizes = new Map<string, number>();
  const names = await readdir(blobDir).catch((err: NodeJS.ErrnoException) => {
    // no blobs folder: every reference below is reported missing
    if (err.code !== 'ENOENT') fault(blobDir, `cannot be read: ${err.message}`);
    return [] as string[];
  });
  for (const name of names.sort()) {
    const file = join(blobDir, name);
    if (!BLOB_NAME.test(name)) continue; // temp files of other tools; not content
    try {
      const { digest, size } = await hashFile(file);
      report.blobs++;
      report.bytes += size;
      onBlob?.(file, size);
      if (digest !== `sha256:${name}`) fault(file, `content hashes to ${digest}`);
      else sizes.set(digest, size);
    } catch (err) {
      fault(file, `cannot be read: ${(err as Error).message}`);
    }
  }
  let manifests: Descriptor[];
  try {
    manifests = (await layout.index()).manifests;
  } catch (err) {
    const cause = (err as Error).cause;
    fault(
      join(dir, 'index.json'),
      `${(err as Error).message}${cause ? `: ${(cause as Error).message}` : ''}`,
    );
    return;
  }
  const seen = new Set<string>();
  const check = async (d: Descriptor, from: string, isManifest: boolean, depth: number) => {
    if (!/^sha256:[a-f0-9]{64}$/.test(d?.digest ?? '')) {
      fault(from, `references an invalid digest ${String(d?.digest)}`);
      return;
    }
    const file = layout.blobPath(d.digest);
    const size = sizes.get(d.digest);
    if (size === undefined) {
      // a corrupt blob is reported above already
      if (!report.faults.some((f) => f.file === file)) fault(file, `missing (referenced by ${from})`);
      return;
    }
    if (size !== d.size) fault(file, `${size} bytes, ${from} says ${d.size}`);
    if (!isManifest || seen.has(d.digest)) return;
    seen.add(d.digest);
    report.manifests++;
    await checkManifest(file, size, depth);
  };
  const checkManifest = async (file: string, size: number, depth: number) => {
    if (size > MANIFEST_MAX_BYTES) {
      fault(file, `manifest larger than ${MANIFEST_MAX_BYTES} bytes`);
      return;
    }
    let json: { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] };
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
      if (!json || typeof json !== 'object') throw new Error('not a JSON object');
    } catch (err) {
      fault(file, `manifest does not parse: ${(err as Error).message}`);
      return;
    }
    if (!json.manifests && !json.config) fault(file, 'manifest has neither config nor manifests');
    if (json.config) await check(json.config, file, false, depth + 1);
    for (const l of json.layers ?? []) await check(l, file, false, depth + 1);
    for (const m of json.manifests ?? []) await check(m, file, depth < 3, depth + 1);
  };
  for (const m of manifests) await check(m, join(dir, 'index.json'), true, 0);
}
