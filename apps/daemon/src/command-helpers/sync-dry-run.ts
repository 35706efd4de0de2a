// `trivy-mirror sync --dry-run`: what one pass would download and push, and how many bytes, from HEADs
// and manifest GETs (oci-sync's planSync); no runtime starts, nothing is written.
import type { CachePopulatorConfig } from '@trivy-mirror/cache-populator';
import { RegistryClient } from '@trivy-mirror/oci';
import type { OciSyncConfig, PlannedArtifact } from '@trivy-mirror/oci-sync';
import { cliLogger, loadCliConfig, registryAccess } from './cli-context.js';
import { formatBytes } from '../output/cli-output.js';

const PLANNED = ['oci-sync', 'vexhub-mirror', 'cache-populator'];

export async function syncDryRun(opts: {
  config?: string;
  only: string[];
  json?: boolean;
  verbose?: boolean;
}): Promise<number> {
  const logger = await cliLogger({ verbose: opts.verbose });
  const loaded = await loadCliConfig(opts.config);
  const wants = (job: string) => opts.only.length === 0 || opts.only.includes(job);
  const storeRoot = `${loaded.config.stateDir}/oci`;
  const plugins = loaded.config.plugins as Record<string, unknown>;
  let plans: PlannedArtifact[] = [];
  if (wants('oci-sync')) {
    const { planSync } = await import('@trivy-mirror/oci-sync');
    const access = await registryAccess(opts.config, [], logger);
    const registry = new RegistryClient({
      hosts: access.hosts,
      credentials: access.credentials,
      proxy: access.proxy,
      logger,
    });
    try {
      plans = await planSync({ config: plugins['oci-sync'] as OciSyncConfig, storeRoot, registry });
    } finally {
      await registry.close();
    }
  }
  const targets = wants('cache-populator')
    ? ((plugins['cache-populator'] as CachePopulatorConfig | undefined)?.targets ?? [])
    : [];
  const download = plans.reduce((n, p) => n + p.downloadBytes, 0);
  const push = plans.reduce((n, p) => n + p.destinations.reduce((m, d) => m + d.bytes, 0), 0);
  const failed = plans.some((p) => p.error || p.destinations.some((d) => d.error));
  if (opts.json) {
    const body = {
      dryRun: true,
      store: storeRoot,
      artifacts: plans,
      downloadBytes: download,
      pushBytes: push,
    };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return failed ? 1 : 0;
  }
  process.stdout.write(`dry run against store ${storeRoot} (${loaded.source})\n`);
  for (const p of plans) process.stdout.write(`${planLines(p).join('\n')}\n`);
  if (wants('vexhub-mirror'))
    process.stdout.write(
      'vexhub-mirror: not planned (a dry run does not download VEX archives to compare)\n',
    );
  for (const job of opts.only.filter((j) => !PLANNED.includes(j)))
    process.stdout.write(`${job}: not planned (a dry run knows only ${PLANNED.join(', ')})\n`);
  const changed = plans.filter((p) => p.changed).length;
  for (const t of targets)
    process.stdout.write(
      `cache dir ${t.dir}: ${changed ? `would be populated from the ${changed} new version(s)` : 'nothing new to populate'} (${t.include.join(', ')})\n`,
    );
  process.stdout.write(
    `dry run: would download ${formatBytes(download)} and push ${formatBytes(push)}; nothing was changed\n`,
  );
  return failed ? 1 : 0;
}

function planLines(p: PlannedArtifact): string[] {
  const name = `${p.artifact}:${p.tag}`.padEnd(18);
  if (p.error) return [`${name} error       ${p.error}`];
  const head = p.changed
    ? `${name} would fetch  ${p.upstreamDigest?.slice(0, 19)} from ${p.source}: ${p.downloadBlobs} blob(s), ${formatBytes(p.downloadBytes)}`
    : `${name} up to date   ${p.storedDigest?.slice(0, 19) ?? ''}`;
  const pushes = p.destinations.map((d) =>
    d.error
      ? `  -> ${d.reference}: error ${d.error}`
      : d.upToDate
        ? `  -> ${d.reference}: up to date`
        : `  -> ${d.reference}: would push ${d.blobs} blob(s), ${formatBytes(d.bytes)} + manifest`,
  );
  return [head, ...pushes];
}
