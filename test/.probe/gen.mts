import { generateArtifact } from '@trivy-mirror/fixtures';
const t0 = Date.now();
const a = await generateArtifact({ kind: 'trivy-db', dbBytes: 1536 * 1024 * 1024, seed: 'big', workDir: '/tmp/e2e-probe/w', reuse: false });
console.log(Date.now() - t0, a.layer.size);
