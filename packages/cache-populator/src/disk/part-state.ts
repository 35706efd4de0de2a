// What we last wrote for each part of a cache dir (`.trivy-mirror/state-<key>.json`), and the
// integrity check that tells "still as we left it" from "removed or replaced" (repair) or "unchanged"
// (skip). One file per part, so parts populated concurrently never overwrite each other's record.
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '@trivy-mirror/oci/fs';
import type { CachePart } from '../config-schema.js';
import { readJsonFile } from './durable-fs.js';
import { PART_SPECS } from '../populate/part-specs.js';
import { STATE_DIR, currentVersion } from './version-swap.js';

export interface PartState {
  part: CachePart;
  /** 'db', 'java-db', 'checks' or 'vex-<name>'. */
  key: string;
  /** Path of the symlink relative to the cache dir ('db', 'policy', 'vex/repositories/NAME'). */
  linkPath: string;
  version: string;
  populatedAt: string;
  repository?: string;
  tag?: string;
  manifestDigest?: string;
  layerDigest?: string;
  layerSize?: number;
  vexEtag?: string;
  vexManifestDigest?: string;
  /** Identity of the big files, to notice a replaced file (relative to the version dir). */
  files: Record<string, { size: number; ino: number }>;
  /** The metadata.json (cache.json for VEX) we wrote. */
  metadata: Record<string, unknown>;
}

export function stateFile(cacheDir: string, key: string): string {
  return path.join(cacheDir, STATE_DIR, `state-${key}.json`);
}

export function readPartState(cacheDir: string, key: string): Promise<PartState | undefined> {
  return readJsonFile<PartState>(stateFile(cacheDir, key));
}

export async function writePartState(cacheDir: string, state: PartState): Promise<void> {
  await writeFileAtomic(stateFile(cacheDir, state.key), `${JSON.stringify(state, null, 2)}\n`, 0o644);
}

/** Keys of every part recorded in a cache dir. */
export async function recordedKeys(cacheDir: string): Promise<string[]> {
  try {
    return (await fs.readdir(path.join(cacheDir, STATE_DIR)))
      .map((n) => /^state-(.+)\.json$/.exec(n)?.[1])
      .filter((k): k is string => !!k);
  } catch {
    return [];
  }
}

export type Integrity = { ok: true } | { ok: false; reason: string };

/**
 * True when the part is exactly as we left it: the link points at our version and the files Trivy
 * reads are there (db files the same inode and size; metadata parses and names the same content).
 */
export async function checkIntegrity(cacheDir: string, state: PartState | undefined): Promise<Integrity> {
  if (!state) return { ok: false, reason: 'never populated' };
  const version = await currentVersion(cacheDir, state.linkPath);
  if (version !== state.version)
    return { ok: false, reason: `${state.linkPath} does not point at ${state.version}` };
  const dir = path.join(cacheDir, state.linkPath);
  for (const [file, id] of Object.entries(state.files)) {
    try {
      const st = await fs.stat(path.join(dir, file));
      if (st.size !== id.size || st.ino !== id.ino)
        return { ok: false, reason: `${state.linkPath}/${file} was replaced` };
    } catch {
      return { ok: false, reason: `${state.linkPath}/${file} is missing` };
    }
  }
  if (state.part === 'vex') {
    const cache = await readJsonFile<Record<string, unknown>>(path.join(dir, 'cache.json'));
    if (!cache) return { ok: false, reason: `${state.linkPath}/cache.json is missing or invalid` };
    for (const f of ['vex-repository.json', '0.1/index.json']) {
      if (!(await exists(path.join(dir, f))))
        return { ok: false, reason: `${state.linkPath}/${f} is missing` };
    }
    return { ok: true };
  }
  const meta = await readJsonFile<Record<string, unknown>>(path.join(dir, 'metadata.json'));
  if (!meta) return { ok: false, reason: `${state.linkPath}/metadata.json is missing or invalid` };
  if (state.part === 'checks') {
    // Trivy itself rewrites DownloadedAt here after a registry check; only the digest matters.
    if (meta.Digest !== state.manifestDigest)
      return { ok: false, reason: 'policy/metadata.json names another bundle' };
    if (!(await exists(path.join(dir, 'content')))) return { ok: false, reason: 'policy/content is missing' };
    return { ok: true };
  }
  if (meta.Version !== state.metadata.Version || meta.UpdatedAt !== state.metadata.UpdatedAt) {
    return { ok: false, reason: `${state.linkPath}/metadata.json belongs to another version` };
  }
  return { ok: true };
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Part key -> cache part. */
export function partOfKey(key: string): CachePart | undefined {
  if (key.startsWith('vex-')) return 'vex';
  return key in PART_SPECS ? (key as CachePart) : undefined;
}
