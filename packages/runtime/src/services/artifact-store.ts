// The local store's root: one OCI image layout per repository under `stateDir/oci/<repository>`.
import { readdir, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { MirrorError, type ArtifactStore } from '@trivy-mirror/plugin-api';
import type { Transport } from '@trivy-mirror/oci';

export class LayoutArtifactStore implements ArtifactStore {
  readonly root: string;

  constructor(
    stateDir: string,
    readonly transport: Transport,
  ) {
    this.root = resolve(stateDir, 'oci');
  }

  layoutPath(repository: string): string {
    const parts = repository.split('/');
    if (
      !repository ||
      parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.')) ||
      repository.includes('\\')
    ) {
      throw new MirrorError(
        'REPOSITORY_INVALID',
        `repository name "${repository}" is not allowed in the store`,
      );
    }
    const dir = resolve(this.root, ...parts);
    if (!dir.startsWith(this.root + sep))
      throw new MirrorError('REPOSITORY_INVALID', `repository "${repository}" escapes the store`);
    return dir;
  }

  /** Directories (up to three levels deep, for names like `aquasec/trivy-db`) holding an `oci-layout` file. */
  async repositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string[], depth: number): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      if (prefix.length > 0 && entries.some((e) => e.isFile() && e.name === 'oci-layout')) {
        out.push(prefix.join('/'));
        return;
      }
      if (depth >= 3) return;
      for (const e of entries) {
        if (e.isDirectory() && !e.name.startsWith('.'))
          await walk(join(dir, e.name), [...prefix, e.name], depth + 1);
      }
    };
    try {
      await stat(this.root);
    } catch {
      return [];
    }
    await walk(this.root, [], 0);
    return out.sort();
  }
}
