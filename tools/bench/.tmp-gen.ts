import { generateArtifact, writeArtifactToLayout } from '@trivy-mirror/fixtures';
const a = await generateArtifact({ kind: 'trivy-db', dbBytes: 1.1e9, seed: 'bench', updatedAt: new Date('2026-01-01T00:00:00Z'), workDir: '/tmp/tm-perf/art' });
await writeArtifactToLayout('/tmp/tm-perf/store/trivy-db', '2', a);
console.log(JSON.stringify(a.layer));
