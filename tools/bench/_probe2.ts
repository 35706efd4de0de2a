import { join } from 'node:path';
import { writeArtifactToLayout } from '@trivy-mirror/fixtures';
import { BenchContext } from './lib/bench-context.js';
import { trivyMirror } from './lib/daemon-cli.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
const root = await mkdtemp(join(tmpdir(), 'trivy-mirror-bench-probe-'));
const ctx = new BenchContext({ quick: false, layerBytes: 1e9, populateDbBytes: 1.1e9, clients: 1, repeat: 1, idleSeconds: 1, artifactDir: join(process.cwd(), '.bench/artifacts') }, root);
const up = await ctx.javaDbUpstream();
const layout = join(root, 'layout');
await writeArtifactToLayout(layout, '1', up.artifact);
for (const quiet of [true, false]) {
  const dst = await ctx.startRegistry();
  const m = await trivyMirror(['copy', ...(quiet ? ['--quiet'] : []), `oci-layout:${layout}:1`, `${dst.host}/x/y:1`], 300000);
  console.log(`layout→registry quiet=${quiet}: ${m.wallMs.toFixed(0)} ms, peak ${(m.peakRssBytes / 1e6).toFixed(0)} MB, exit ${m.exitCode} ${m.stderr.slice(-300)}`);
  await dst.stop();
}
for (const quiet of [true, false]) {
  const dst = await ctx.startRegistry();
  const m = await trivyMirror(['copy', ...(quiet ? ['--quiet'] : []), `${up.registry.host}/${up.repository}:1`, `${dst.host}/x/y:1`], 300000);
  console.log(`registry→registry quiet=${quiet}: ${m.wallMs.toFixed(0)} ms, peak ${(m.peakRssBytes / 1e6).toFixed(0)} MB, exit ${m.exitCode}`);
  await dst.stop();
}
const m = await trivyMirror(['copy', '--quiet', `${up.registry.host}/${up.repository}:1`, `oci-layout:${join(root, 'l2')}:1`], 300000);
console.log(`registry→layout: ${m.wallMs.toFixed(0)} ms, peak ${(m.peakRssBytes / 1e6).toFixed(0)} MB, exit ${m.exitCode}`);
await ctx.cleanup();
