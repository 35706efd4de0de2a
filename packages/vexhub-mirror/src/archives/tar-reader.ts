// Validates and extracts a tar.gz archive in one streaming pass (tar-stream): files and folders only, bombs refused.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ArchiveInvalidError } from '@trivy-mirror/plugin-api';
import * as tarStream from 'tar-stream';
import { type ArchiveLimits, ArchiveTree, checkEntryName } from './archive-tree.js';

const MiB = 1024 * 1024;

/** Extracts under `destDir`; the caller removes `destDir` when this throws. */
export async function extractTarGz(
  file: string,
  destDir: string,
  limits: ArchiveLimits,
  signal?: AbortSignal,
): Promise<ArchiveTree> {
  const tree = new ArchiveTree(limits);
  const root = path.resolve(destDir);
  let gunzipped = 0;
  // Counts decompressed bytes before tar parsing: a gzip bomb stops at maxUnpackedBytes, whatever headers say.
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      gunzipped += chunk.length;
      // tar adds headers, pax records and padding (≤ 2 KiB per entry seen) on top of the files' own bytes.
      if (gunzipped > limits.maxUnpackedBytes + 2048 * tree.entryCount + MiB) {
        done(
          new ArchiveInvalidError(
            `gzip stream unpacks to more than ${limits.maxUnpackedBytes} bytes (maxUnpackedBytes); refusing a possible gzip bomb`,
          ),
        );
        return;
      }
      done(null, chunk);
    },
  });
  const extract = tarStream.extract();
  const gunzip = createGunzip();
  const feed = pipeline(createReadStream(file), gunzip, meter, extract, { signal }).then(
    () => undefined,
    (err: unknown) => err,
  );
  let failure: unknown;
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const raw = h.name.startsWith('./') ? h.name.slice(2) : h.name;
      if (raw === '' || raw === '.' || raw === './') {
        entry.resume();
        continue;
      }
      const at = `entry ${JSON.stringify(h.name)}`;
      if (h.type !== 'file' && h.type !== 'directory' && h.type !== 'contiguous-file') {
        throw new ArchiveInvalidError(
          `${at}: ${h.type ?? 'unknown'} entries are refused (only files and folders)`,
        );
      }
      const name = checkEntryName(raw);
      const dir = h.type === 'directory';
      tree.add(name, dir ? 'dir' : 'file', h.size ?? 0, h.name);
      const target = path.resolve(root, name);
      if (!target.startsWith(root + path.sep)) throw new ArchiveInvalidError(`${at}: leaves the archive`);
      if (dir) {
        await mkdir(target, { recursive: true });
        entry.resume();
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true });
      await pipeline(entry, createWriteStream(target, { flags: 'wx' }));
    }
  } catch (err) {
    failure = err;
    extract.destroy();
    gunzip.destroy();
  }
  const feedErr = await feed;
  for (const e of [failure, feedErr]) if (e instanceof ArchiveInvalidError) throw e;
  const err = failure ?? feedErr;
  if (err === undefined) return tree;
  if (signal?.aborted) throw err;
  throw new ArchiveInvalidError(`corrupt tar.gz: ${(err as Error).message}`, err);
}
