// Taking an export apart for the trust tests: its layouts' index.json and blobs read and written by
// hand (a test changes one byte, drops a signature, renames one), a P-256 key pair, and the files of a
// tree by content (to prove an import admitted nothing).
import { generateKeyPairSync } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from './oci-e2e.js';

export type Index = {
  manifests: { digest: string; size: number; mediaType: string; annotations?: Record<string, string> }[];
};
export const REF = 'org.opencontainers.image.ref.name';

/** A P-256 key (0600) and its public key, as openssl makes them; keyIdShort as the mirror prints it. */
export async function keyPair(dir: string, name: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const key = join(dir, `${name}.key`);
  const pub = join(dir, `${name}.pub`);
  await writeFile(key, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  return { key, pub, keyIdShort: sha256(publicKey.export({ type: 'spki', format: 'der' })).slice(7, 23) };
}

export const readIndex = async (layout: string) =>
  JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as Index;
export const writeIndex = (layout: string, index: Index) =>
  writeFile(join(layout, 'index.json'), JSON.stringify(index));
export const blobPath = (layout: string, digest: string) => join(layout, 'blobs', 'sha256', digest.slice(7));

/** Writes `bytes` as a blob; returns its digest. */
export async function putBlob(layout: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  await writeFile(blobPath(layout, digest), bytes);
  return digest;
}

/** The index entry of the signature artifact of `digest` (its `sha256-<hex>.sig` tag). */
export const sigEntry = (index: Index, digest: string) =>
  index.manifests.find((m) => m.annotations?.[REF] === `${digest.replace(':', '-')}.sig`)!;
/** The entry tagged 2 (trivy-db:2). */
export const dbEntry = (index: Index) => index.manifests.find((m) => m.annotations?.[REF] === '2')!;

/** Every file under `dirs` (dot files aside) with its sha256, sorted. */
export async function filesByContent(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && !p.includes('/.')) out.push(`${p} ${sha256(await readFile(p))}`);
    }
  };
  for (const d of dirs) await walk(d);
  return out.sort();
}
