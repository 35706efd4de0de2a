// Transport for `oci-layout:DIR[:TAG|@DIGEST]` references: reads and writes OCI image layouts,
// creating a layout on the first write. Blob reads are verified like registry downloads.
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createVerifyStream } from '../digest.js';
import { OciError, OciErrorCode } from '../errors.js';
import { OciLayout } from './layout.js';
import { formatReference } from '../reference.js';
import type {
  BlobGetOptions,
  BlobPutOptions,
  BlobPutResult,
  Descriptor,
  ManifestBytes,
  Reference,
  Transport,
} from '../types.js';

type LayoutRef = Extract<Reference, { kind: 'layout' }>;

function layoutRef(ref: Reference): LayoutRef {
  if (ref.kind !== 'layout') {
    throw new OciError(OciErrorCode.UNSUPPORTED, `LayoutTransport cannot handle ${formatReference(ref)}`, {
      target: ref.registry,
    });
  }
  return ref;
}

/** Tag or digest to look up; '' means "the only manifest" (skopeo's rule for oci:DIR without a tag). */
function target(ref: LayoutRef): string {
  return ref.digest ?? ref.tag ?? '';
}

export class LayoutTransport implements Transport {
  private readonly layouts = new Map<string, Promise<OciLayout>>();

  /** The layout for a reference; created on demand for writes. */
  async layout(ref: Reference, create = false): Promise<OciLayout> {
    const r = layoutRef(ref);
    const cached = this.layouts.get(r.path);
    if (cached) return cached;
    const opening = OciLayout.open(r.path, { create });
    this.layouts.set(r.path, opening);
    try {
      return await opening;
    } catch (err) {
      this.layouts.delete(r.path);
      throw err;
    }
  }

  /** Like layout(), but undefined when the directory holds no layout yet (reads of a missing layout). */
  private async existing(ref: Reference): Promise<OciLayout | undefined> {
    const r = layoutRef(ref);
    if (!this.layouts.has(r.path)) {
      const st = await stat(r.path).catch(() => undefined);
      if (!st) return undefined;
    }
    return this.layout(ref);
  }

  async manifestHead(ref: Reference): Promise<Descriptor | undefined> {
    const layout = await this.existing(ref);
    return layout?.resolve(target(layoutRef(ref)));
  }

  async manifestGet(ref: Reference): Promise<ManifestBytes> {
    const layout = await this.existing(ref);
    const found = await layout?.manifestGet(target(layoutRef(ref)));
    if (!found) {
      throw new OciError(OciErrorCode.MANIFEST_UNKNOWN, `manifest ${formatReference(ref)} not found`, {
        target: layoutRef(ref).path,
      });
    }
    return found;
  }

  async manifestPut(ref: Reference, bytes: Buffer, mediaType: string): Promise<string> {
    const r = layoutRef(ref);
    const layout = await this.layout(ref, true);
    const desc = await layout.manifestPut(bytes, mediaType, { tag: r.tag });
    if (r.digest && r.digest !== desc.digest) {
      throw new OciError(
        OciErrorCode.DIGEST_MISMATCH,
        `manifest for ${formatReference(ref)} hashes to ${desc.digest}`,
        {
          target: r.path,
        },
      );
    }
    return desc.digest;
  }

  async blobHead(ref: Reference, digest: string): Promise<Descriptor | undefined> {
    const layout = await this.existing(ref);
    if (!layout) return undefined;
    const st = await stat(layout.blobPath(digest)).catch(() => undefined);
    return st ? { mediaType: 'application/octet-stream', digest, size: st.size } : undefined;
  }

  async blobGet(ref: Reference, descriptor: Descriptor, options: BlobGetOptions = {}): Promise<Readable> {
    const layout = await this.existing(ref);
    if (!layout || !(await layout.blobHas(descriptor.digest))) {
      throw new OciError(
        OciErrorCode.BLOB_UNKNOWN,
        `blob ${descriptor.digest} not in ${layoutRef(ref).path}`,
        {
          target: layoutRef(ref).path,
        },
      );
    }
    const raw = layout.blobOpen(descriptor.digest);
    if (options.onProgress) {
      let bytes = 0;
      raw.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        options.onProgress?.({ bytes, total: descriptor.size, digest: descriptor.digest });
      });
    }
    if (options.signal) {
      const signal = options.signal;
      const onAbort = () =>
        raw.destroy(
          new OciError(OciErrorCode.ABORTED, `reading ${descriptor.digest} aborted`, {
            cause: signal.reason,
          }),
        );
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      raw.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return pipeline(raw, createVerifyStream(descriptor), () => {});
  }

  async blobPut(
    ref: Reference,
    descriptor: Descriptor,
    open: () => Readable | Promise<Readable>,
    options: BlobPutOptions = {},
  ): Promise<BlobPutResult> {
    const layout = await this.layout(ref, true);
    if (await layout.blobHas(descriptor.digest)) return { mounted: false };
    await layout.blobWrite(descriptor, await open(), {
      signal: options.signal,
      sourceVerified: options.sourceVerified,
    });
    return { mounted: false };
  }

  async tagList(ref: Reference): Promise<string[]> {
    const layout = await this.existing(ref);
    if (!layout) {
      throw new OciError(OciErrorCode.NAME_UNKNOWN, `no OCI layout at ${layoutRef(ref).path}`, {
        target: layoutRef(ref).path,
      });
    }
    return layout.tags();
  }
}
