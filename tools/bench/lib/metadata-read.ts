// The part of trivy-mirror's sync no peer does: before the tag moves, oci-sync reads metadata.json from
// the stored db layer to refuse a Version Trivy would refuse, and metadata.json is the tar's last entry,
// so the whole layer is inflated. Measured alone (the built readLayerMetadata on the same layer file, in
// its own node process, timed inside it so node's start-up is left out) to say what sync spends on it.
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './daemon-cli.js';
import { describeFailure, runMeasured } from './measure.js';

const READER = fileURLToPath(
  new URL('../../../packages/oci-sync/dist/metadata/layer-metadata.js', import.meta.url),
);

const SCRIPT = `
const { createReadStream } = await import('node:fs');
const { readLayerMetadata } = await import(process.argv[1]);
const t = performance.now();
const c = process.cpuUsage();
const meta = await readLayerMetadata(createReadStream(process.argv[2]));
const cpu = process.cpuUsage(c);
process.stdout.write(JSON.stringify({ ms: performance.now() - t, cpuMs: (cpu.user + cpu.system) / 1000, meta }));
`;

export interface MetadataRead {
  wallMs: number;
  cpuMs: number;
}

/** readLayerMetadata of `layerPath`, timed; throws when it fails or finds no metadata.json. */
export async function measureMetadataRead(layerPath: string, timeoutMs: number): Promise<MetadataRead> {
  const m = await runMeasured(process.execPath, ['--input-type=module', '-e', SCRIPT, READER, layerPath], {
    cwd: REPO_ROOT,
    timeoutMs,
  });
  if (m.exitCode !== 0) throw new Error(describeFailure(m));
  const out = JSON.parse(m.stdout) as { ms: number; cpuMs: number; meta?: unknown };
  if (!out.meta) throw new Error(`${layerPath}: readLayerMetadata found no metadata.json`);
  return { wallMs: out.ms, cpuMs: out.cpuMs };
}
