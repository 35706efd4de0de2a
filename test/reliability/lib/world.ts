// A reliability "world": a real upstream registry seeded with small Trivy artifacts, a destination
// registry, the VEX server, a fault proxy in front of each, and the built daemon configured to go
// through the proxies (with short per-host timeouts, so stalls end in a retry, not a hang).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FaultFn,
  type FaultProxy,
  type GeneratedArtifact,
  generateArtifact,
  generateVexRepository,
  pushArtifact,
  type RunningRegistry,
  startFaultProxy,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { type DaemonProcess, freePort, startDaemon } from '../../helpers/daemon-process.js';
import { startVexServer, type VexServer } from '../../helpers/vex-server.js';
import { checkInvariants, type InvariantTargets, type Violations } from './invariants.js';

export interface WorldOptions {
  /** Size of the synthetic trivy.db (default 64 KiB: runs must be cheap). */
  dbBytes?: number;
  /** Push to a destination registry (default true). */
  destination?: boolean;
  /** Populate a cache dir (default true). */
  cache?: boolean;
  /** Per-host client timeout of the daemon for the proxied hosts (default 2 s). */
  timeoutSeconds?: number;
  logLevel?: 'info' | 'debug' | 'warn';
  /** Extra YAML lines under `plugins.oci-sync`. */
  ociSyncExtra?: string[];
  /** Extra YAML lines under `plugins.cache-populator`. */
  cacheExtra?: string[];
  /** Extra flow-mapping entries of the VEX repository (e.g. 'maxUnpackedBytes: 1048576'). */
  vexRepoExtra?: string;
  /** Cron of oci-sync and of vexhub-mirror (default: once a year, so only the suite starts runs). */
  schedule?: { ociSync?: string; vex?: string };
  /** Environment of the daemon process (beside the test's own). */
  daemonEnv?: Record<string, string>;
}

export interface JobResult {
  status: string;
  summary?: string;
  runId: string;
  ms: number;
}

export class World {
  dir = '';
  stateDir = '';
  cacheDir = '';
  configPath = '';
  adminUrl = '';
  serveUrl = '';
  upstream!: RunningRegistry;
  destination?: RunningRegistry;
  vexServer?: VexServer;
  upProxy!: FaultProxy;
  dstProxy?: FaultProxy;
  vexProxy?: FaultProxy;
  daemon?: DaemonProcess;
  /** Upstream versions pushed so far: 'trivy-db:2' → manifest digest. */
  readonly upstreamDigests: Record<string, string> = {};
  /** Every log line of every daemon process of this world. */
  readonly allLogs: Record<string, unknown>[] = [];
  private version = 0;

  constructor(readonly options: WorldOptions = {}) {}

  async start(): Promise<void> {
    const o = this.options;
    this.dir = await mkdtemp(join(tmpdir(), 'trivy-mirror-reliability-'));
    this.stateDir = join(this.dir, 'state');
    this.cacheDir = join(this.dir, 'cache');
    this.configPath = join(this.dir, 'config.yaml');
    const [upstream, destination, vexServer] = await Promise.all([
      startRegistry(),
      o.destination === false ? undefined : startRegistry(),
      // always: the vexhub-mirror plugin needs at least one repository
      startVexServer(),
    ]);
    this.upstream = upstream;
    this.destination = destination;
    this.vexServer = vexServer;
    this.upProxy = await startFaultProxy({ upstream: upstream.url });
    if (destination) this.dstProxy = await startFaultProxy({ upstream: destination.url });
    if (vexServer) this.vexProxy = await startFaultProxy({ upstream: vexServer.url, rewriteBodies: true });
    await mkdir(join(this.dir, 'work'), { recursive: true });
    await this.publish(['trivy-db', 'trivy-java-db', 'trivy-checks']);
    const adminPort = await freePort();
    const servePort = await freePort();
    this.adminUrl = `http://127.0.0.1:${adminPort}`;
    this.serveUrl = `http://127.0.0.1:${servePort}`;
    const timeout = o.timeoutSeconds ?? 2;
    const proxied = [this.upProxy, this.dstProxy, this.vexProxy].filter((p): p is FaultProxy => !!p);
    const lines = [
      `stateDir: ${this.stateDir}`,
      `admin: { listen: 127.0.0.1:${adminPort} }`,
      `serve: { listen: 127.0.0.1:${servePort}, publicUrl: ${this.serveUrl} }`,
      `log: { level: ${o.logLevel ?? 'info'}, format: json }`,
      'registries:',
      ...proxied.map((p) => `  - { host: "${p.host}", timeoutSeconds: ${timeout} }`),
      'plugins:',
      '  auth-providers: { dockerConfig: false }',
      '  oci-sync:',
      `    schedule: "${o.schedule?.ociSync ?? '0 0 1 1 *'}"`,
      `    sources: [${this.upProxy.host}/aquasec]`,
      `    destinations: [${this.dstProxy ? `${this.dstProxy.host}/mirror` : ''}]`,
      ...(o.ociSyncExtra ?? []).map((l) => `    ${l}`),
      '  cache-populator:',
      o.cache === false ? '    targets: []' : `    targets: [{ dir: ${this.cacheDir} }]`,
      ...(o.cacheExtra ?? []).map((l) => `    ${l}`),
      '  vexhub-mirror:',
      `    schedule: "${o.schedule?.vex ?? '0 0 1 1 *'}"`,
      this.vexProxy
        ? `    repositories: [{ name: vexhub, url: ${this.vexProxy.url}/vexhub${o.vexRepoExtra ? `, ${o.vexRepoExtra}` : ''} }]`
        : '    repositories: []',
      '',
    ];
    await writeFile(this.configPath, lines.join('\n'));
  }

  /** Pushes a new version of each named artifact to the upstream (directly, not through the proxy). */
  async publish(names: ('trivy-db' | 'trivy-java-db' | 'trivy-checks')[]): Promise<void> {
    const n = ++this.version;
    const updatedAt = new Date(Date.UTC(2026, 0, 1) + n * 3_600_000);
    for (const kind of names) {
      const work = join(this.dir, 'work', `${kind}-${n}`);
      const tags = kind === 'trivy-checks' ? (['1', '2'] as const) : kind === 'trivy-db' ? ['2'] : ['1'];
      for (const tag of tags) {
        const artifact: GeneratedArtifact = await generateArtifact({
          kind,
          dbBytes:
            kind === 'trivy-java-db'
              ? Math.min(this.options.dbBytes ?? 65536, 65536)
              : (this.options.dbBytes ?? 65536),
          seed: `reliability-${kind}-${tag}-${n}`,
          updatedAt,
          checksMajor: kind === 'trivy-checks' ? (Number(tag) as 1 | 2) : undefined,
          workDir: work,
          shape: n % 2 === 0 ? 'legacy' : 'oci-1.1',
        });
        await pushArtifact(this.upstream.url, `aquasec/${kind}`, tag, artifact);
        this.upstreamDigests[`${kind}:${tag}`] = artifact.manifestDigest;
      }
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Serves a new small VEX repository archive (the manifest points at it under `vexhub-main/`). */
  async publishVex(n: number): Promise<void> {
    if (!this.vexServer) return;
    const generated = await generateVexRepository({
      dir: join(this.dir, 'work', `vex-${n}`),
      name: 'vexhub',
      packages: 3 + (n % 5),
      format: 'zip',
      seed: `reliability-vex-${n}`,
      // after the VEX Hub snapshot the VEX server starts with (2026-03-23): an older index is a rollback
      updatedAt: new Date(Date.UTC(2026, 5, 1) + n * 60_000),
    });
    const { readFile } = await import('node:fs/promises');
    this.vexServer.setArchive('zip', await readFile(generated.archivePath));
    await rm(join(this.dir, 'work', `vex-${n}`), { recursive: true, force: true });
  }

  setFaults(fns: { up?: FaultFn; dst?: FaultFn; vex?: FaultFn }): void {
    this.upProxy.setFault(fns.up);
    this.dstProxy?.setFault(fns.dst);
    this.vexProxy?.setFault(fns.vex);
  }

  clearFaults(): void {
    this.setFaults({});
  }

  /**
   * The warm-up every suite starts with: the world up, the daemon started and its first runs of `jobs`
   * (run on start) finished. `publishVex` serves a small synthetic VEX repository first instead of the
   * real snapshot (which unpacks past small caps and costs time).
   */
  async warmUp(options: { publishVex?: boolean; jobs?: string[] } = {}): Promise<void> {
    await this.start();
    if (options.publishVex) await this.publishVex(0);
    await this.startDaemon();
    for (const job of options.jobs ?? ['oci-sync', 'vexhub-mirror']) await this.waitJobFinished(job, 60_000);
    await this.idle();
  }

  /** Runs one job with `faults` armed on the proxies; they are disarmed afterwards whatever happens. */
  async runJobWithFaults(
    faults: { up?: FaultFn; dst?: FaultFn; vex?: FaultFn },
    job: string,
    timeoutMs?: number,
  ): Promise<JobResult> {
    this.setFaults(faults);
    try {
      return await this.runJob(job, timeoutMs);
    } finally {
      this.clearFaults();
    }
  }

  async startDaemon(options: { waitHealthy?: boolean } = {}): Promise<DaemonProcess> {
    const d = await startDaemon({
      args: ['run', '--config', this.configPath],
      adminUrl: this.adminUrl,
      waitHealthy: options.waitHealthy,
      env: this.options.daemonEnv,
    });
    this.daemon = d;
    return d;
  }

  /** Keeps the log lines of a daemon that is gone (for the error-log invariant). */
  retire(d: DaemonProcess | undefined = this.daemon): void {
    if (d) this.allLogs.push(...d.logs());
    if (d === this.daemon) this.daemon = undefined;
  }

  async stopDaemon(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const d = this.daemon;
    if (!d) return;
    await d.stop(signal);
    this.retire(d);
  }

  /** The first run of a job started by the daemon itself (runOnStart), or any run, finished. */
  async waitJobFinished(job: string, timeoutMs = 60_000, after = 0): Promise<JobResult> {
    const d = this.requireDaemon();
    const line = await d.waitForLog(
      (l) => l.msg === 'job finished' && l.job === job && d.logs().indexOf(l) >= after,
      timeoutMs,
    );
    return {
      status: String(line.status),
      summary: line.summary as string | undefined,
      runId: String(line.runId),
      ms: Number(line.ms),
    };
  }

  /** POST /jobs/ID/run and waits for that run's 'job finished' line. */
  async runJob(job: string, timeoutMs = 90_000): Promise<JobResult> {
    const d = this.requireDaemon();
    const res = await fetch(`${this.adminUrl}/jobs/${job}/run`, {
      method: 'POST',
      headers: { 'x-trivy-mirror': 'test' },
    });
    const body = (await res.json()) as { runId: string };
    if (res.status !== 202) throw new Error(`POST /jobs/${job}/run answered ${res.status}`);
    const line = await d
      .waitForLog((l) => l.msg === 'job finished' && l.runId === body.runId, timeoutMs)
      .catch((err: Error) => {
        throw new Error(
          `${job} run ${body.runId} did not finish within ${timeoutMs} ms\n${this.diagnose()}`,
          {
            cause: err,
          },
        );
      });
    return {
      status: String(line.status),
      summary: line.summary as string | undefined,
      runId: body.runId,
      ms: Number(line.ms),
    };
  }

  /** Waits until no job runs (GET /jobs). */
  async idle(timeoutMs = 60_000): Promise<void> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      const res = await fetch(`${this.adminUrl}/jobs`);
      const body = (await res.json()) as { jobs: { id: string; running?: unknown; state?: string }[] };
      const busy = body.jobs.some((j) => j.running || j.state === 'running');
      if (!busy) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`jobs still running after ${timeoutMs} ms`);
  }

  /** Manifest digest of REPO:TAG in a registry, asked directly (no proxy). */
  async registryDigest(registryUrl: string, repository: string, tag: string): Promise<string | undefined> {
    const res = await fetch(`${registryUrl}/v2/${repository}/manifests/${tag}`, {
      method: 'HEAD',
      headers: {
        accept:
          'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
  }

  /** True when the store and the destination hold the upstream's current trivy-db:2. */
  async converged(): Promise<boolean> {
    const want = this.upstreamDigests['trivy-db:2'];
    const store = await import('node:fs/promises')
      .then((f) => f.readFile(join(this.stateDir, 'oci', 'trivy-db', 'index.json'), 'utf8'))
      .then(
        (t) =>
          (
            JSON.parse(t) as { manifests: { digest: string; annotations?: Record<string, string> }[] }
          ).manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === '2')?.digest,
      )
      .catch(() => undefined);
    if (store !== want) return false;
    if (!this.destination) return true;
    return (await this.registryDigest(this.destination.url, 'mirror/trivy-db', '2')) === want;
  }

  /** What was going on: the daemon's last log lines and the requests the proxies have not answered. */
  diagnose(): string {
    const logs = (this.daemon?.logs() ?? []).slice(-40).map((l) => {
      const err = (l.err as { message?: string } | undefined)?.message;
      const { level, msg, artifact, tag, job, digest, host, offset, code } = l as Record<string, unknown>;
      return `  log ${level} ${msg} ${JSON.stringify({ artifact, tag, job, digest, host, offset, code })}${err ? ` err=${err}` : ''}`;
    });
    const open = [this.upProxy, this.dstProxy, this.vexProxy].flatMap((p, i) =>
      (p?.log ?? [])
        .filter((e) => e.status === undefined || e.status === 0)
        .slice(-10)
        .map(
          (e) => `  ${['upstream', 'destination', 'vex'][i]} #${e.n} ${e.method} ${e.path} fault=${e.fault}`,
        ),
    );
    const recent = (this.dstProxy?.log ?? [])
      .slice(-15)
      .map(
        (e) => `  destination #${e.n} ${e.method} ${e.path.slice(0, 90)} status=${e.status} fault=${e.fault}`,
      );
    return [
      'last daemon log lines:',
      ...logs,
      'requests without an answer:',
      ...open,
      'last destination requests:',
      ...recent,
    ].join('\n');
  }

  /** The invariants over this world: the store, the cache dir and the destination registry's storage. */
  invariants(options: Partial<InvariantTargets> = {}): Promise<Violations> {
    return checkInvariants({
      stateDir: this.stateDir,
      cacheDirs: [this.cacheDir],
      registryStorage: this.destination ? [this.destination.storageDir] : [],
      ...options,
    });
  }

  requireDaemon(): DaemonProcess {
    if (!this.daemon) throw new Error('daemon not running');
    return this.daemon;
  }

  async stop(): Promise<void> {
    await this.stopDaemon('SIGKILL').catch(() => undefined);
    await Promise.all([this.upProxy?.stop(), this.dstProxy?.stop(), this.vexProxy?.stop()]);
    await Promise.all([this.upstream?.stop(), this.destination?.stop(), this.vexServer?.close()]);
    if (this.dir && !process.env.RELIABILITY_KEEP) await rm(this.dir, { recursive: true, force: true });
    if (process.env.RELIABILITY_DEBUG_HANDLES) {
      // what keeps the test process alive after the suite (should be nothing)
      setTimeout(() => console.log('active resources:', process.getActiveResourcesInfo()), 3000).unref();
    }
  }
}
