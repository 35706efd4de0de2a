// The cache populator's health report: per target and part its version, ages, staleness and last
// results; ready once every part the store holds is populated and none is stale.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { HealthCheck, HealthReport } from '@trivy-mirror/plugin-api';
import type { CachePopulatorState } from './cache-state.js';
import { readJsonFile } from '../disk/durable-fs.js';
import { readPartState, recordedKeys } from '../disk/part-state.js';
import { PART_SPECS } from '../populate/part-specs.js';
import { parseGoTime } from '../populate/trivy-metadata.js';

export class CacheHealth implements HealthCheck {
  readonly id = 'cache-populator';
  readonly #state: CachePopulatorState;

  constructor(state: CachePopulatorState) {
    this.#state = state;
  }

  readonly check = (): Promise<HealthReport> => this.#report();

  #storeHas(repository: string): boolean {
    return existsSync(path.join(this.#state.deps.store.layoutPath(repository), 'oci-layout'));
  }

  async #report(): Promise<HealthReport> {
    const s = this.#state;
    const now = s.now();
    const problems: string[] = [];
    const targets = [];
    for (const target of s.config.targets) {
      const parts: Record<string, unknown> = {};
      const keys = new Set<string>(await recordedKeys(target.dir));
      for (const part of target.include) if (part !== 'vex') keys.add(part);
      // VEX repositories announced by vex.stored count like artifacts the store holds.
      if (target.include.includes('vex')) for (const name of s.vex.keys()) keys.add(`vex-${name}`);
      for (const key of keys) {
        const state = await readPartState(target.dir, key);
        if (state && !target.include.includes(state.part)) continue;
        const h = s.partHealth(target.dir, key);
        const meta = state
          ? await readJsonFile<Record<string, unknown>>(
              path.join(target.dir, state.linkPath, state.part === 'vex' ? 'cache.json' : 'metadata.json'),
            )
          : undefined;
        const updatedAt = parseGoTime(meta?.UpdatedAt);
        const downloadedAt = parseGoTime(meta?.DownloadedAt);
        const ref = updatedAt ?? downloadedAt;
        // Ready needs every part the store holds; what the store lacks is oci-sync's readiness to report.
        if (
          !state &&
          key in PART_SPECS &&
          this.#storeHas(PART_SPECS[key as keyof typeof PART_SPECS].repository)
        ) {
          problems.push(`${target.dir} ${key} not populated yet`);
        }
        if (!state && key.startsWith('vex-') && s.vex.has(key.slice(4))) {
          problems.push(`${target.dir} ${key} not populated yet`);
        }
        if (h.stale) problems.push(`${target.dir} ${key} is stale (NextUpdate ${String(meta?.NextUpdate)})`);
        if (h.lastError && !state) problems.push(`${target.dir} ${key}: ${h.lastError.message}`);
        parts[key] = {
          populated: !!state,
          version: meta?.Version,
          updatedAt: meta?.UpdatedAt,
          nextUpdate: meta?.NextUpdate,
          downloadedAt: meta?.DownloadedAt,
          ageSeconds: ref ? Math.round((now.getTime() - ref.getTime()) / 1000) : undefined,
          tag: state?.tag,
          layerDigest: state?.layerDigest,
          manifestDigest: state?.manifestDigest,
          majorVersion: meta?.MajorVersion,
          populatedAt: state?.populatedAt,
          stale: h.stale ?? false,
          ...(h.staleImported ? { pastNextUpdate: true } : {}),
          lastResult: h.lastResult,
          lastRepair: h.lastRepair,
          lastError: h.lastError,
        };
      }
      targets.push({ dir: target.dir, parts });
    }
    return {
      ready: problems.length === 0,
      reason: problems.length ? problems.join('; ') : undefined,
      status: { targets },
    };
  }
}
