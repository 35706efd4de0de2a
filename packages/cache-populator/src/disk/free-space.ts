// Refuses to start an extraction that cannot fit, with a message an operator can act on.
import fs from 'node:fs/promises';
import { MirrorError } from '@trivy-mirror/plugin-api';

/** Databases compress about 10:1; 12x the layer (capped by maxUnpackedBytes) leaves some margin. */
export function unpackedEstimate(layerSize: number, maxUnpackedBytes: number): number {
  return Math.min(maxUnpackedBytes, layerSize * 12);
}

export async function assertFreeSpace(dir: string, needBytes: number, what: string): Promise<void> {
  const st = await fs.statfs(dir);
  const available = Number(st.bavail) * Number(st.bsize);
  if (available < needBytes) {
    throw new MirrorError(
      'NO_SPACE',
      `not enough free space in ${dir} for ${what}: need about ${mib(needBytes)} MiB, ${mib(available)} MiB available`,
    );
  }
}

function mib(n: number): string {
  return (n / 1024 / 1024).toFixed(1);
}
