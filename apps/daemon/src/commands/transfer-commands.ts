// `trivy-mirror export` / `import`: the store as plain OCI layouts, for air-gapped sites.
import type { TransferReport } from '@trivy-mirror/oci-sync';
import type { Command } from 'commander';
import { loadCliConfig } from '../cli-context.js';
import { formatBytes, exitWith } from '../cli-output.js';

async function storeRoot(opts: { config?: string; store?: string }): Promise<string> {
  if (opts.store) return opts.store;
  const loaded = await loadCliConfig(opts.config);
  return `${loaded.config.stateDir}/oci`;
}

function printReport(verb: string, report: TransferReport, json?: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  for (const r of report.repositories) {
    process.stdout.write(
      `${verb} ${r.repository.padEnd(16)} ${r.manifests} manifest(s), ${r.blobs} blob(s): ${r.blobsCopied} copied (${formatBytes(r.bytesCopied)}), ${r.blobs - r.blobsCopied} already there\n`,
    );
  }
}

export function registerTransferCommands(program: Command): void {
  program
    .command('export')
    .description('write the store as OCI layouts (one per repository) for transfer into an air-gapped site')
    .requiredOption(
      '--out <dir>',
      'target directory (created; existing blobs are kept, so re-exports are incremental)',
    )
    .option('-c, --config <file>', 'config naming stateDir')
    .option('--store <dir>', 'store tree to export (default: stateDir/oci)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
The output is readable by skopeo, oras and crane too:  skopeo copy oci:DIR/trivy-db:2 docker://…
Inside the air gap:  trivy-mirror import DIR   (verifies every blob's digest first).`,
    )
    .action(
      exitWith(async (opts: { out: string; config?: string; store?: string; json?: boolean }) => {
        const { exportStore } = await import('@trivy-mirror/oci-sync');
        const report = await exportStore({ storeRoot: await storeRoot(opts), outDir: opts.out });
        printReport('exported', report, opts.json);
      }),
    );
  program
    .command('import')
    .description('import an `export` tree into the store, verifying every digest; a bad tree changes nothing')
    .argument('<dir>', 'directory written by `trivy-mirror export` (or any tree of OCI layouts)')
    .option('-c, --config <file>', 'config naming stateDir')
    .option('--store <dir>', 'store tree to import into (default: stateDir/oci)')
    .option('--json', 'print the report as JSON')
    .action(
      exitWith(async (dir: string, opts: { config?: string; store?: string; json?: boolean }) => {
        const { importStore } = await import('@trivy-mirror/oci-sync');
        const report = await importStore({ storeRoot: await storeRoot(opts), inDir: dir });
        printReport('imported', report, opts.json);
      }),
    );
}
