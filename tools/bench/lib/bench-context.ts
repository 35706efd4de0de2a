// What every benchmark receives (sizes, temp dirs, shared fixtures) and what it hands back (a result
// line with goals), so run.ts can print one table and write one JSON file.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type GeneratedArtifact,
  generateArtifact,
  pushArtifact,
  type RunningRegistry,
  startRegistry,
} from '@trivy-mirror/fixtures';
import { startVexServer } from './vex-server.js';

/** OK: ran end to end in --quick, where start-up dominates and goals are not judged. */
export type BenchStatus = 'PASS' | 'FAIL' | 'OK' | 'ERROR' | 'SKIP';

export interface GoalCheck {
  /** e.g. 'ratio ≤ 0.80x' */
  goal: string;
  ok: boolean;
}

export interface BenchResult {
  name: string;
  status: BenchStatus;
  /** The printed result line. */
  line: string;
  metrics: Record<string, number | string | boolean>;
  checks: GoalCheck[];
  notes: string[];
  error?: string;
}

export interface BenchOptions {
  quick: boolean;
  /** Layer size of the copy/sync/serve artifact, bytes. */
  layerBytes: number;
  /** trivy.db size for populate, bytes. */
  populateDbBytes: number;
  clients: number;
  repeat: number;
  idleSeconds: number;
  /** Where generated layers live (kept across runs with --keep-artifacts). */
  artifactDir: string;
  /** Peer tools to run (`--only crane,…`); every peer when absent. */
  peers?: string[];
}

export interface JavaDbUpstream {
  registry: RunningRegistry;
  repository: string;
  tag: string;
  artifact: GeneratedArtifact;
}

/** The peer tools `--only` may name (regsync runs in sync only, the others in copy; all in startup). */
export const PEER_TOOLS = ['crane', 'regctl', 'oras', 'regsync', 'skopeo'] as const;

/** trivy-java-db: our generator's output is ~9.2% larger than dbBytes/ratio at ratio 1.05. */
const JAVA_DB_RATIO = 1.05;
const JAVA_DB_LAYER_FACTOR = 1.092;

export class BenchContext {
  private readonly cleanups: Array<() => Promise<void>> = [];
  private upstream: Promise<JavaDbUpstream> | undefined;
  private vex: Promise<string> | undefined;

  constructor(
    readonly options: BenchOptions,
    /** Root temp dir of this run (removed at the end). */
    readonly tempRoot: string,
  ) {}

  log(message: string): void {
    process.stderr.write(`  · ${message}\n`);
  }

  /** True unless `--only` named peers and not this one. */
  wantsPeer(name: string): boolean {
    return !this.options.peers || this.options.peers.includes(name);
  }

  async tempDir(prefix: string): Promise<string> {
    return mkdtemp(join(this.tempRoot, `${prefix}-`));
  }

  /** Registered cleanups run in reverse order at the end of the whole run. */
  onCleanup(fn: () => Promise<void>): void {
    this.cleanups.push(fn);
  }

  async startRegistry(): Promise<RunningRegistry> {
    const registry = await startRegistry();
    this.onCleanup(() => registry.stop());
    return registry;
  }

  /**
   * The ~layerBytes trivy-java-db artifact (near-incompressible, so the layer is about as big as the
   * db), pushed once to an "upstream" registry as aquasec/trivy-java-db:1 and shared by copy, sync
   * and serve.
   */
  javaDbUpstream(): Promise<JavaDbUpstream> {
    this.upstream ??= (async () => {
      const started = Date.now();
      const artifact = await generateArtifact({
        kind: 'trivy-java-db',
        dbBytes: Math.round(this.options.layerBytes * JAVA_DB_LAYER_FACTOR),
        compressionRatio: JAVA_DB_RATIO,
        seed: 'bench',
        updatedAt: new Date('2026-01-01T00:00:00Z'),
        workDir: this.options.artifactDir,
      });
      this.log(`java-db artifact: layer ${artifact.layer.size} bytes (${Date.now() - started} ms)`);
      const registry = await this.startRegistry();
      const pushStarted = Date.now();
      await pushArtifact(registry.url, 'aquasec/trivy-java-db', '1', artifact);
      this.log(`pushed to upstream ${registry.host} (${Date.now() - pushStarted} ms)`);
      return { registry, repository: 'aquasec/trivy-java-db', tag: '1', artifact };
    })();
    return this.upstream;
  }

  /** URL of a local VEX repository (for the daemon's vexhub-mirror plugin), started once. */
  vexUrl(): Promise<string> {
    this.vex ??= (async () => {
      const server = await startVexServer(await this.tempDir('vex'));
      this.onCleanup(() => server.close());
      return server.url;
    })();
    return this.vex;
  }

  async cleanup(): Promise<void> {
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`cleanup failed: ${(err as Error).message}\n`);
      }
    }
    this.cleanups.length = 0;
  }
}

export interface Benchmark {
  name: string;
  /** One line for --help and the README. */
  description: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

/** Builds a result whose status follows its checks (PASS only if every goal is met). */
export function result(
  name: string,
  line: string,
  checks: GoalCheck[],
  metrics: BenchResult['metrics'],
  notes: string[] = [],
): BenchResult {
  const status: BenchStatus = checks.every((c) => c.ok) ? 'PASS' : 'FAIL';
  return { name, status, line: `${line}  ${status}`, checks, metrics, notes };
}

/** A benchmark whose trivy-mirror side could not run: the peer figures are still reported. */
export function skipped(
  name: string,
  line: string,
  reason: string,
  metrics: BenchResult['metrics'],
): BenchResult {
  return {
    name,
    status: 'SKIP',
    line: `${line}  SKIP (${reason})`,
    checks: [],
    metrics,
    notes: [reason],
  };
}

/**
 * The result when the trivy-mirror side has no figure to judge: SKIP when the daemon is not built,
 * ERROR when it failed or completed no run; undefined when there is something to judge. `line` shows
 * the peer's figures (one text for both cases, or one each).
 */
export function notMeasured(
  name: string,
  side: { built: boolean; error: string | undefined; runs: number },
  line: string | { notBuilt: string; failed: string },
  metrics: BenchResult['metrics'],
): BenchResult | undefined {
  const lines = typeof line === 'string' ? { notBuilt: line, failed: line } : line;
  if (!side.built) return skipped(name, lines.notBuilt, 'daemon not built', metrics);
  if (side.error || side.runs === 0) {
    return {
      ...skipped(name, lines.failed, `trivy-mirror ${name} failed`, metrics),
      status: 'ERROR',
      error: side.error,
    };
  }
  return undefined;
}
