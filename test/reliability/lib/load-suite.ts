// Load: N concurrent clients pull from the daemon's embedded registry (/v2/ manifest, config and layer,
// every byte checked against its digest) and its VEX endpoint (manifest + archive) while new versions
// are synced and published underneath them. Every failed or corrupt answer is a violation.
import { createHash } from 'node:crypto';
import type { SuiteReport } from './report.js';
import type { World } from './world.js';

export interface LoadOptions {
  clients: number;
  durationMs: number;
  /** New upstream version + sync every this many ms. */
  publishEveryMs: number;
}

const ACCEPT =
  'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

interface Stats {
  pulls: number;
  requests: number;
  bytes: number;
  latencies: number[];
}

async function getChecked(
  url: string,
  stats: Stats,
  init: RequestInit = {},
  digest?: string,
): Promise<{ body: Buffer; headers: Headers }> {
  const t0 = performance.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const body = Buffer.from(await res.arrayBuffer());
  stats.latencies.push(performance.now() - t0);
  stats.requests++;
  stats.bytes += body.length;
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
  const length = res.headers.get('content-length');
  if (length !== null && Number(length) !== body.length)
    throw new Error(`GET ${url}: Content-Length ${length}, body ${body.length}`);
  if (digest) {
    const got = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (got !== digest) throw new Error(`GET ${url}: bytes hash to ${got}, expected ${digest}`);
  }
  return { body, headers: res.headers };
}

/** One client: pull trivy-db:2 like Trivy does, and every third time the VEX repository. */
async function client(
  world: World,
  id: number,
  until: number,
  stats: Stats,
  errors: string[],
): Promise<void> {
  const base = world.serveUrl;
  let n = 0;
  while (Date.now() < until) {
    n++;
    try {
      const m = await getChecked(`${base}/v2/trivy-db/manifests/2`, stats, { headers: { accept: ACCEPT } });
      const digest = m.headers.get('docker-content-digest');
      if (digest) {
        const got = `sha256:${createHash('sha256').update(m.body).digest('hex')}`;
        if (got !== digest) throw new Error(`manifest bytes hash to ${got}, header says ${digest}`);
      }
      const manifest = JSON.parse(m.body.toString('utf8')) as {
        config: { digest: string };
        layers: { digest: string; size: number }[];
      };
      await getChecked(
        `${base}/v2/trivy-db/blobs/${manifest.config.digest}`,
        stats,
        {},
        manifest.config.digest,
      );
      const layer = manifest.layers[0];
      const blob = await getChecked(`${base}/v2/trivy-db/blobs/${layer.digest}`, stats, {}, layer.digest);
      if (blob.body.length !== layer.size)
        throw new Error(`layer ${layer.digest}: ${blob.body.length} bytes`);
      if ((id + n) % 3 === 0) {
        const vm = await getChecked(`${base}/.well-known/vex-repository.json`, stats);
        const vexManifest = JSON.parse(vm.body.toString('utf8')) as {
          versions: { locations: { url: string }[] }[];
        };
        const loc = vexManifest.versions[0]?.locations[0]?.url;
        if (!loc) throw new Error('VEX manifest without a location');
        const archiveUrl = loc.replace(/\/\/[^/]*$/, '').replace(/\?.*$/, '');
        const archive = await getChecked(archiveUrl, stats);
        if (archive.body.subarray(0, 2).toString('latin1') !== 'PK')
          throw new Error(`${archiveUrl} is not a zip archive`);
      }
      stats.pulls++;
    } catch (err) {
      errors.push(`client ${id}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function loadRun(world: World, report: SuiteReport, options: LoadOptions): Promise<void> {
  const stats: Stats = { pulls: 0, requests: 0, bytes: 0, latencies: [] };
  const errors: string[] = [];
  const started = Date.now();
  const until = started + options.durationMs;
  const daemon = world.requireDaemon();
  const logStart = daemon.logs().length;

  // the publisher: new upstream versions synced (and a new VEX archive published) under the load
  let syncs = 0;
  let syncFailures = 0;
  const publisher = (async () => {
    let k = 0;
    while (Date.now() < until) {
      k++;
      await world.publish(['trivy-db']);
      if (k % 2 === 0) await world.publishVex(1000 + k);
      const [sync, vex] = await Promise.all([
        world.runJob('oci-sync'),
        k % 2 === 0 ? world.runJob('vexhub-mirror') : Promise.resolve(undefined),
      ]);
      syncs++;
      if (sync.status === 'failure' || vex?.status === 'failure') {
        syncFailures++;
        report.violation(`sync ${k}`, `sync under load failed: ${sync.summary ?? ''} ${vex?.summary ?? ''}`);
      }
      const wait = options.publishEveryMs - (Date.now() % options.publishEveryMs);
      await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(0, until - Date.now()))));
    }
  })();
  await Promise.all([
    publisher,
    ...Array.from({ length: options.clients }, (_, i) => client(world, i, until, stats, errors)),
  ]);
  await world.idle();
  const seconds = (Date.now() - started) / 1000;

  report.runs += stats.pulls;
  for (const e of errors.slice(0, 50)) report.violation('load', e);
  if (errors.length > 50) report.violation('load', `… and ${errors.length - 50} more client errors`);
  report.count('clients', options.clients);
  report.count('syncs under load', syncs);
  report.count('sync failures', syncFailures);
  report.count('requests', stats.requests);
  report.count('MiB served', Math.round(stats.bytes / 1024 / 1024));
  report.count('requests/s', Math.round(stats.requests / seconds));
  report.count('latency p50 ms', Math.round(percentile(stats.latencies, 50)));
  report.count('latency p99 ms', Math.round(percentile(stats.latencies, 99)));

  const violations = await world.invariants({
    logs: daemon.logs().slice(logStart),
    adminUrl: world.adminUrl,
  });
  for (const v of violations) report.violation('after load', v);
}
