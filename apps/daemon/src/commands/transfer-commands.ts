// `trivy-mirror export` / `import`: the store as plain OCI layouts plus the VEX versions (vex/NAME),
// one directory that crosses the air gap. `import` verifies all of it before it changes anything,
// then tells a running daemon so that it serves and populates the new versions at once.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TransferReport } from '@trivy-mirror/oci-sync';
import type { Runtime, RuntimeLogger } from '@trivy-mirror/runtime';
import type { VexMirror } from '@trivy-mirror/vexhub-mirror';
import { type Command, Option } from 'commander';
import { cliLogger, startCliRuntime } from '../command-helpers/cli-context.js';
import { exitWith, formatBytes } from '../output/cli-output.js';
import { announceStore } from '../command-helpers/store-root.js';
import { type ImportTrust, importTrust, trustFailures, trustLines } from '../command-helpers/import-trust.js';
import { notifyDaemon } from './daemon-notify.js';

// oci-sync loads when a command runs, not to describe it (start-up of `--help`).
const ociSync = () => import('@trivy-mirror/oci-sync');

interface TransferOptions {
  config?: string;
  store?: string;
  json?: boolean;
  notify?: boolean;
  allowRollback?: boolean;
  /** The flag's earlier name. */
  allowOlder?: boolean;
  /** import --trusted-key: admit only what these public keys signed (overrides trust:). */
  trustedKey?: string[];
}

function printReport(verb: string, report: TransferReport): void {
  for (const r of report.repositories) {
    process.stdout.write(
      `${verb} ${r.repository.padEnd(16)} ${r.manifests} manifest(s), ${r.blobs} blob(s): ${r.blobsCopied} copied (${formatBytes(r.bytesCopied)}), ${r.blobs - r.blobsCopied} already there\n`,
    );
  }
}

/** With --store and no config only the OCI layouts move; otherwise the runtime knows the VEX repositories. */
async function withRuntime<T>(
  opts: TransferOptions,
  logger: RuntimeLogger,
  fn: (ctx: { storeRoot: string; runtime?: Runtime; vex?: VexMirror }) => Promise<T>,
): Promise<T> {
  if (opts.store && !opts.config && !process.env.TRIVY_MIRROR_CONFIG) return fn({ storeRoot: opts.store });
  const runtime = await startCliRuntime(opts.config, logger);
  try {
    const { VexMirrorService } = await import('@trivy-mirror/vexhub-mirror');
    const vex = runtime.container?.get<VexMirror>(VexMirrorService, { optional: true });
    const storeRoot = opts.store ?? `${runtime.config.stateDir}/oci`;
    if (!opts.store)
      announceStore({
        root: storeRoot,
        defaulted: true,
        source: opts.config ?? process.env.TRIVY_MIRROR_CONFIG ?? 'defaults',
      });
    return await fn({ storeRoot, runtime, vex });
  } finally {
    await runtime.stop('transfer finished');
  }
}

export function registerTransferCommands(program: Command): void {
  program
    .command('export')
    .description(
      'write the store (OCI layouts, one per repository) and the VEX versions (vex/NAME) for transfer into an air-gapped site',
    )
    .requiredOption(
      '--out <dir>',
      'target directory (created; existing blobs are kept, so re-exports are incremental)',
    )
    .option('-c, --config <file>', 'config naming stateDir and the VEX repositories')
    .option('--store <dir>', 'store tree to export (default: stateDir/oci; alone: no VEX)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
The layouts are readable by skopeo, oras and crane too:  skopeo copy oci:DIR/trivy-db:2 docker://…
VEX: DIR/vex/NAME/{archive.zip|archive.tar.gz, vex-repository.json, version.json}, and DIR/vex/SHA256SUMS
(every VEX file's digest) with DIR/vex/SHA256SUMS.sig when signing: is configured; check it with
  cosign verify-blob --key cosign.pub --insecure-ignore-tlog --signature DIR/vex/SHA256SUMS.sig DIR/vex/SHA256SUMS
Inside the air gap:  trivy-mirror import DIR   (verifies every digest first).

Examples:
  trivy-mirror export --out /media/usb/trivy-store --config /etc/trivy-mirror/config.yaml
  trivy-mirror store verify --store /media/usb/trivy-store     # check the copy before carrying it`,
    )
    .action(
      exitWith(async (opts: TransferOptions & { out: string }) => {
        const logger = await cliLogger();
        await withRuntime(opts, logger, async ({ storeRoot, vex }) => {
          const { exportStore } = await ociSync();
          const report = await exportStore({ storeRoot, outDir: opts.out });
          const vexReport = (await vex?.exportTo(opts.out)) ?? [];
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ ...report, vex: vexReport }, null, 2)}\n`);
            return;
          }
          printReport('exported', report);
          for (const v of vexReport) {
            process.stdout.write(
              `exported vex ${v.repository.padEnd(12)} sha256:${v.version.slice(0, 12)}… ${v.bytesCopied ? `copied (${formatBytes(v.bytesCopied)})` : 'already there'}\n`,
            );
          }
          if (vexReport.length > 0) {
            const signed = existsSync(join(opts.out, 'vex', 'SHA256SUMS.sig'));
            process.stdout.write(
              `listed   vex/SHA256SUMS ${signed ? 'signed (vex/SHA256SUMS.sig)' : 'unsigned (no signing: key)'}\n`,
            );
          }
        });
      }),
    );
  program
    .command('import')
    .description(
      'import an `export` tree (OCI layouts and VEX versions), verifying every digest; a bad tree changes nothing',
    )
    .argument('<dir>', 'directory written by `trivy-mirror export` (or any tree of OCI layouts)')
    .option('-c, --config <file>', 'config naming stateDir, keepVersions and the VEX repositories')
    .option('--store <dir>', 'store tree to import into (default: stateDir/oci; alone: no VEX)')
    .option('--no-notify', 'do not tell a running daemon (admin.listen) to take up the new versions')
    .option(
      '--allow-rollback',
      'import versions older than the served ones (default: refused, ROLLBACK_REFUSED, nothing changes)',
    )
    .addOption(new Option('--allow-older', 'the earlier name of --allow-rollback').hideHelp())
    .option(
      '--trusted-key <file>',
      'admit only versions this PEM public key signed (repeatable; overrides trust: of the config, as with require: true)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Each imported tag becomes the served version; older ones stay up to oci-sync.keepVersions.
No silent rollback: when the export holds an older version than the one served (trivy-db, java-db:
metadata.json UpdatedAt; trivy-checks: when the connected side stored it; VEX: index updated_at), the
import is refused and nothing changes; --allow-rollback imports it anyway.
With trust: in the config, each version's cosign signature (its sha256-<hex>.sig) and the VEX part
(the signed vex/SHA256SUMS) are checked first and listed (signed by KEY (FILE) / unsigned / NOT
TRUSTED [CODE]); with trust.require, one that no trusted key signed refuses the whole import
(TRUST_REFUSED), naming each: UNSIGNED, UNKNOWN_KEY, BAD_SIGNATURE, DIGEST_MISMATCH.
--trusted-key FILE does the same with the keys it names, also without a config (--store).
A daemon running with this config is told (POST /jobs/oci-sync/run, /jobs/vexhub-mirror/run on
its admin listener) and serves and populates the new versions at once.

Examples:
  trivy-mirror import /media/usb/trivy-store --config /etc/trivy-mirror/config.yaml
  trivy-mirror import /media/usb/trivy-store --store ./store && trivy-mirror store ls --store ./store
  trivy-mirror import /media/usb/trivy-store --store ./store --trusted-key cosign.pub`,
    )
    .action(
      exitWith(async (dir: string, opts: TransferOptions) => {
        const logger = await cliLogger();
        await withRuntime(opts, logger, async ({ storeRoot, runtime, vex }) => {
          const section = (runtime?.config.plugins as Record<string, unknown> | undefined)?.['oci-sync'];
          const {
            applyImport,
            describeImportRollbacks,
            importTrustError,
            findImportRollbacks,
            importRollbackError,
            ociSyncConfigSchema,
            planImport,
          } = await ociSync();
          const allowRollback = opts.allowRollback === true || opts.allowOlder === true;
          const oci = ociSyncConfigSchema.parse(section ?? {});
          // --trusted-key files first: a key that cannot be read is named before the export is hashed
          const keys = opts.trustedKey?.length
            ? await (await import('@trivy-mirror/oci')).loadTrustedKeys(opts.trustedKey)
            : undefined;
          // Everything is checked (OCI blobs, VEX archives unpacked and validated) before anything moves.
          const planned = await planImport(dir);
          const vexPlan = await vex?.planImport(dir);
          let report: TransferReport;
          let trust: ImportTrust | undefined;
          try {
            // trust.require: every version signed by a trusted key, or nothing is admitted
            trust = await importTrust(runtime, dir, planned, vexPlan?.staged.length ?? 0, keys);
            const untrusted = trust ? trustFailures(trust) : [];
            if (trust?.require && untrusted.length > 0) throw importTrustError(dir, untrusted);
            // No silent rollback: any tag or VEX repository older than what is served refuses it all.
            if (!allowRollback) {
              const rollbacks = await findImportRollbacks(planned, storeRoot);
              const lines = [
                ...describeImportRollbacks(rollbacks),
                ...(vexPlan && vex ? await vex.importRollbacks(vexPlan) : []),
              ];
              if (lines.length > 0) throw importRollbackError(dir, lines, rollbacks);
            }
            report = await applyImport(planned, {
              storeRoot,
              inDir: dir,
              keepVersions: oci.keepVersions,
              blobGraceMs: oci.blobGraceMinutes * 60_000,
              // checked above, with the VEX repositories, before anything changed
              allowRollback: true,
            });
          } catch (err) {
            if (vexPlan) await vex?.discardImport(vexPlan);
            throw err;
          }
          const vexApplied = vexPlan && vex ? await vex.applyImport(vexPlan) : { imported: [] };
          const vexReport = vexApplied.imported;
          for (const name of vexPlan?.skipped ?? [])
            logger.warn(
              { repository: name },
              'vex repository in the export is not configured here; not imported',
            );
          for (const name of vexPlan && vex ? vex.notInImport(vexPlan) : [])
            logger.warn(
              { repository: name },
              'vex repository (source: import) has no version in this export (DIR/vex/NAME); it keeps what it holds',
            );
          const adminListen = runtime?.config.admin.listen;
          const daemon =
            opts.notify !== false && adminListen
              ? await notifyDaemon(adminListen, vexReport.length > 0)
              : undefined;
          if (opts.json) {
            process.stdout.write(
              `${JSON.stringify({ ...report, vex: vexReport, skippedVex: vexPlan?.skipped ?? [], trust: trust?.versions, daemon }, null, 2)}\n`,
            );
            return;
          }
          printReport('imported', report);
          for (const line of trust ? await trustLines(trust) : []) process.stdout.write(`${line}\n`);
          for (const v of vexReport) {
            process.stdout.write(
              `imported vex ${v.repository.padEnd(12)} sha256:${v.version.slice(0, 12)}… ${v.packages} packages, updated_at ${v.updatedAt}\n`,
            );
          }
          if (daemon) process.stdout.write(`${daemon.text}\n`);
        });
      }),
    );
}
