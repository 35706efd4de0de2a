// `trivy-mirror publish`: the store as a static OCI registry tree, once (the daemon does the same
// after every stored version when oci-sync's publishRegistryDir is set).
import type { PublishReport } from '@trivy-mirror/oci-sync';
import type { Command } from 'commander';
import { loadCliConfig } from '../command-helpers/cli-context.js';
import { exitWith, formatBytes } from '../output/cli-output.js';

function printReport(report: PublishReport, json?: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  for (const r of report.repositories) {
    const copied = r.blobsCopied > 0 ? `, ${r.blobsCopied} copied (${formatBytes(r.bytesCopied)})` : '';
    process.stdout.write(
      `published ${r.repository.padEnd(16)} tags ${r.tags.join(', ') || '-'}: ${r.manifests} manifest(s), ${r.blobs} blob(s)${copied}, ${r.removed} removed\n`,
    );
  }
}

export function registerPublishCommand(program: Command): void {
  program
    .command('publish')
    .description('write the store as a static OCI registry tree for nginx or a CDN (read side of /v2/)')
    .requiredOption('--out <dir>', 'tree to write (created; updates are incremental and atomic for readers)')
    .option('-c, --config <file>', 'config naming stateDir')
    .option('--store <dir>', 'store tree to publish (default: stateDir/oci)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Blobs are hard links into the store when both are on one filesystem (else verified copies).
Serve it with deploy/nginx/trivy-mirror-registry.conf, then:
  trivy image --db-repository HOST:PORT/trivy-db:2 --java-db-repository HOST:PORT/trivy-java-db:1 …
  skopeo copy docker://HOST:PORT/trivy-db:2 oci:DIR:2`,
    )
    .action(
      exitWith(async (opts: { out: string; config?: string; store?: string; json?: boolean }) => {
        const storeRoot = opts.store ?? `${(await loadCliConfig(opts.config)).config.stateDir}/oci`;
        // loaded here, not at the top: --help registers every command and must not load the plugins
        const { findLayouts, publishRegistryTree } = await import('@trivy-mirror/oci-sync');
        const repositories = await findLayouts(storeRoot);
        const report = await publishRegistryTree({
          outDir: opts.out,
          layouts: repositories.map((repository) => ({ repository, dir: `${storeRoot}/${repository}` })),
        });
        printReport(report, opts.json);
      }),
    );
}
