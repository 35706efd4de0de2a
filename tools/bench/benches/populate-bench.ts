// populate: `trivy-mirror populate --only db` of a trivy-db (~100 MB layer holding ~1.1 GB trivy.db)
// from an OCI layout store into an empty cache dir vs `tar -xzf` of the same layer into an empty dir.
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { generateArtifact, writeArtifactToLayout } from '@trivy-mirror/fixtures';
import { type Benchmark, type BenchContext, notMeasured, result } from '../lib/bench-context.js';
import { cliBuilt, trivyMirror } from '../lib/daemon-cli.js';
import { formatBytes, formatMb, formatRatio, formatSeconds, median } from '../lib/format.js';
import { describeFailure, runMeasured } from '../lib/measure.js';
import { flushDisks } from '../lib/system.js';

const GOAL_RATIO = 1.1;

/** Throws unless DIR/db holds a trivy.db of the expected size and metadata.json with DownloadedAt. */
async function checkPopulated(cacheDir: string, dbBytes: number): Promise<void> {
  const db = await stat(join(cacheDir, 'db', 'trivy.db'));
  if (db.size !== dbBytes) throw new Error(`db/trivy.db is ${db.size} bytes, expected ${dbBytes}`);
  const meta = JSON.parse(await readFile(join(cacheDir, 'db', 'metadata.json'), 'utf8'));
  if (!meta.DownloadedAt || meta.Version !== 2) {
    throw new Error(`db/metadata.json lacks DownloadedAt or Version 2: ${JSON.stringify(meta)}`);
  }
}

export const populateBench: Benchmark = {
  name: 'populate',
  description: `trivy-mirror populate (store → cache dir, db only) vs tar -xzf of the same layer (goal ≤ ${GOAL_RATIO}x)`,
  async run(ctx: BenchContext) {
    const dbBytes = ctx.options.populateDbBytes;
    const started = Date.now();
    const artifact = await generateArtifact({
      kind: 'trivy-db',
      dbBytes,
      seed: 'bench',
      updatedAt: new Date('2026-01-01T00:00:00Z'),
      workDir: ctx.options.artifactDir,
    });
    ctx.log(`trivy-db artifact: layer ${artifact.layer.size} bytes (${Date.now() - started} ms)`);
    const store = await ctx.tempDir('store');
    await writeArtifactToLayout(join(store, 'trivy-db'), '2', artifact);
    const timeoutMs = Math.max(120_000, (dbBytes / 10e6) * 1000);
    const built = cliBuilt();

    const tarRuns: { wallMs: number; rss: number }[] = [];
    const ours: { wallMs: number; rss: number }[] = [];
    let appError: string | undefined;
    for (let i = 0; i < ctx.options.repeat; i++) {
      const order = i % 2 === 0 ? ['tar', 'trivy-mirror'] : ['trivy-mirror', 'tar'];
      for (const who of order) {
        if (who === 'trivy-mirror' && (!built || appError)) continue;
        const out = await ctx.tempDir(who);
        await flushDisks();
        if (who === 'tar') {
          const m = await runMeasured('tar', ['-xzf', artifact.layer.path, '-C', out], { timeoutMs });
          if (m.exitCode !== 0) throw new Error(describeFailure(m));
          tarRuns.push({ wallMs: m.wallMs, rss: m.peakRssBytes });
          ctx.log(`tar -xzf: ${formatSeconds(m.wallMs)}, peak RSS ${formatMb(m.peakRssBytes)}`);
        } else {
          const m = await trivyMirror(
            ['populate', '--cache-dir', out, '--from-store', store, '--only', 'db'],
            timeoutMs,
          );
          if (m.exitCode !== 0) {
            appError = describeFailure(m);
            ctx.log(`trivy-mirror populate failed: ${appError}`);
          } else {
            try {
              await checkPopulated(out, dbBytes);
              ours.push({ wallMs: m.wallMs, rss: m.peakRssBytes });
              ctx.log(
                `trivy-mirror populate: ${formatSeconds(m.wallMs)}, peak RSS ${formatMb(m.peakRssBytes)}, cpu ${formatSeconds(m.cpuMs)}`,
              );
            } catch (err) {
              appError = `populate exited 0 but: ${(err as Error).message}`;
            }
          }
        }
        // 1.1 GB per run: free it before the next one.
        await rm(out, { recursive: true, force: true });
      }
    }

    const tarWall = median(tarRuns.map((r) => r.wallMs));
    const metrics: Record<string, number | string> = {
      dbBytes,
      layerBytes: artifact.layer.size,
      tarWallMs: tarWall,
      tarPeakRssBytes: Math.max(...tarRuns.map((r) => r.rss)),
      runs: ctx.options.repeat,
    };
    const head = `populate  ${formatBytes(artifact.layer.size)} → ${formatBytes(dbBytes)}`;
    const unjudged = notMeasured(
      'populate',
      { built, error: appError, runs: ours.length },
      `${head}  tar ${formatSeconds(tarWall)}`,
      metrics,
    );
    if (unjudged) return unjudged;
    const wall = median(ours.map((r) => r.wallMs));
    const rss = Math.max(...ours.map((r) => r.rss));
    const ratio = wall / tarWall;
    Object.assign(metrics, { trivyMirrorWallMs: wall, trivyMirrorPeakRssBytes: rss, ratio });
    return result(
      'populate',
      `${head}  trivy-mirror ${formatSeconds(wall)} / tar -xzf ${formatSeconds(tarWall)} = ${formatRatio(ratio)} (goal ≤ ${GOAL_RATIO.toFixed(2)}x)  peak RSS ${formatMb(rss)}`,
      [{ goal: `ratio ≤ ${GOAL_RATIO}x`, ok: ratio <= GOAL_RATIO }],
      metrics,
    );
  },
};
