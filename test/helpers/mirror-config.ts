// A daemon config for the oci-sync e2e suites (publish tree, HA pairs): JSON logs, loopback admin.
import { mkdir, writeFile } from 'node:fs/promises';

export interface MirrorConfigOptions {
  stateDir: string;
  sources: string[];
  destinations?: string[];
  adminPort: number;
  publishRegistryDir?: string;
  /** No cron runs during a test: jobs run at start and on POST /jobs/oci-sync/run. */
  schedule?: string;
  blobGraceMinutes?: number;
}

export async function writeMirrorConfig(path: string, o: MirrorConfigOptions): Promise<string> {
  await mkdir(o.stateDir, { recursive: true });
  const lines = [
    `stateDir: ${o.stateDir}`,
    `admin: { listen: 127.0.0.1:${o.adminPort} }`,
    'log: { level: info, format: json }',
    'plugins:',
    '  auth-providers: { dockerConfig: false }',
    '  oci-sync:',
    `    schedule: "${o.schedule ?? '0 0 1 1 *'}"`,
    `    sources: [${o.sources.join(', ')}]`,
    `    destinations: [${(o.destinations ?? []).join(', ')}]`,
  ];
  if (o.publishRegistryDir) lines.push(`    publishRegistryDir: ${o.publishRegistryDir}`);
  if (o.blobGraceMinutes !== undefined) lines.push(`    blobGraceMinutes: ${o.blobGraceMinutes}`);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}
