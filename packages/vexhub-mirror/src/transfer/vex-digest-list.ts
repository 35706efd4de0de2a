// The signed list of an export's VEX files: OUT/vex/SHA256SUMS (sha256sum's format, paths relative
// to OUT/vex) and, with a signing key, OUT/vex/SHA256SUMS.sig, what `cosign sign-blob --key` writes
// for it. So the inside (or anyone) checks who exported the VEX versions and that no file changed:
//   cosign verify-blob --key pub.pem --signature vex/SHA256SUMS.sig vex/SHA256SUMS
//   (cd vex && sha256sum -c SHA256SUMS)
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  SignatureError,
  SignatureErrorCode,
  type SigningKey,
  signBlob,
  type TrustedKey,
  verifyBlob,
} from '@trivy-mirror/oci';
import { writeFileAtomic } from '../versions/atomic-file.js';
import { EXPORT_DIR, sha256File } from './vex-export.js';

export const VEX_DIGEST_LIST = 'SHA256SUMS';
export const VEX_DIGEST_LIST_SIGNATURE = 'SHA256SUMS.sig';

/** Files under `dir`, relative to it with '/', sorted; the list and its signature left out. */
async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (!prefix && (e.name === VEX_DIGEST_LIST || e.name === VEX_DIGEST_LIST_SIGNATURE)) continue;
    if (e.name.startsWith('.')) continue; // temp files of atomic writes
    if (e.isDirectory()) out.push(...(await filesUnder(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}

/** `<hex>  <path>` lines for every file under OUT/vex. */
export async function vexDigestList(vexDir: string): Promise<string> {
  const lines: string[] = [];
  for (const rel of await filesUnder(vexDir)) {
    const { sha256 } = await sha256File(path.join(vexDir, rel));
    lines.push(`${sha256}  ${rel}\n`);
  }
  return lines.join('');
}

export interface VexDigestListReport {
  files: number;
  /** The key id that signed it; undefined when written unsigned (signing is off). */
  signedBy?: string;
}

/**
 * Writes OUT/vex/SHA256SUMS and, with `key`, its signature; without a key a signature left from an
 * earlier export is removed (it would not match). Nothing is written when OUT/vex does not exist.
 */
export async function writeVexDigestList(
  outDir: string,
  key: SigningKey | undefined,
): Promise<VexDigestListReport | undefined> {
  const vexDir = path.join(outDir, EXPORT_DIR);
  const list = await vexDigestList(vexDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (list === undefined) return undefined;
  const bytes = Buffer.from(list);
  await writeFileAtomic(path.join(vexDir, VEX_DIGEST_LIST), bytes);
  const sigFile = path.join(vexDir, VEX_DIGEST_LIST_SIGNATURE);
  if (!key) {
    await rm(sigFile, { force: true });
    return { files: list.split('\n').length - 1 };
  }
  await writeFileAtomic(sigFile, Buffer.from(signBlob(key, bytes)));
  return { files: list.split('\n').length - 1, signedBy: key.keyId };
}

export interface VerifiedVexDigestList {
  key: TrustedKey;
  /** Path (relative to OUT/vex) → sha256 hex, as listed. */
  files: Map<string, string>;
}

/**
 * Checks OUT/vex (`vexDir`): the list is signed by a trusted key (UNSIGNED without list or
 * signature; BAD_SIGNATURE / UNKNOWN_KEY from verifyBlob) and every file is listed with its digest
 * (DIGEST_MISMATCH naming the file otherwise, or one listed but missing, or one not listed).
 */
export async function verifyVexDigestList(
  vexDir: string,
  trusted: readonly TrustedKey[],
): Promise<VerifiedVexDigestList> {
  const listFile = path.join(vexDir, VEX_DIGEST_LIST);
  const sigFile = path.join(vexDir, VEX_DIGEST_LIST_SIGNATURE);
  const read = (file: string) =>
    readFile(file).catch((cause: NodeJS.ErrnoException) => {
      if (cause.code !== 'ENOENT') throw cause;
      throw new SignatureError(
        SignatureErrorCode.UNSIGNED,
        `${file} is missing: the VEX versions are unsigned`,
        {
          cause,
          target: file,
        },
      );
    });
  const list = await read(listFile);
  const signature = (await read(sigFile)).toString('utf8');
  const key = verifyBlob(list, signature, trusted, listFile);
  const files = new Map<string, string>();
  for (const line of list.toString('utf8').split('\n')) {
    if (line === '') continue;
    const m = /^([a-f0-9]{64}) {2}(.+)$/.exec(line);
    if (!m || m[2]!.split('/').includes('..')) {
      throw new SignatureError(
        SignatureErrorCode.SIGNATURE_INVALID,
        `${listFile}: malformed line ${JSON.stringify(line)}`,
        {
          target: listFile,
        },
      );
    }
    files.set(m[2]!, m[1]!);
  }
  const present = await filesUnder(vexDir);
  for (const rel of present) {
    const want = files.get(rel);
    const file = path.join(vexDir, rel);
    if (!want) {
      throw new SignatureError(
        SignatureErrorCode.DIGEST_MISMATCH,
        `${file} is not in the signed ${VEX_DIGEST_LIST}`,
        {
          target: file,
        },
      );
    }
    const { sha256 } = await sha256File(file);
    if (sha256 !== want) {
      throw new SignatureError(
        SignatureErrorCode.DIGEST_MISMATCH,
        `${file} hashes to sha256:${sha256}, the signed ${VEX_DIGEST_LIST} says sha256:${want} (changed)`,
        { target: file },
      );
    }
  }
  for (const rel of files.keys()) {
    if (!present.includes(rel)) {
      const file = path.join(vexDir, rel);
      throw new SignatureError(
        SignatureErrorCode.DIGEST_MISMATCH,
        `${file} is in the signed ${VEX_DIGEST_LIST} but missing`,
        {
          target: file,
        },
      );
    }
  }
  return { key, files };
}
