// `trivy-mirror copy SRC DST`: one artifact, byte-identical, registry or OCI layout on either side.
import type { Reference, Transport } from '@trivy-mirror/oci';
import type { Command } from 'commander';
import { cliLogger, registryAccess } from '../command-helpers/cli-context.js';
import { formatBytes, formatMs, exitWith } from '../output/cli-output.js';
import { ProgressLine } from '../output/progress-line.js';

export function registerCopyCommand(program: Command): void {
  program
    .command('copy')
    .description('copy one artifact byte-identically between registries and OCI layouts')
    .argument('<src>', 'HOST/REPO:TAG, HOST/REPO@sha256:…, or oci-layout:DIR:TAG')
    .argument('<dst>', 'same forms; a layout is created when missing')
    .option(
      '--plain-http <host>',
      'use http:// for this registry host (repeatable; loopback hosts always may)',
      collect,
      [],
    )
    .option('-c, --config <file>', 'read credentials and registries: from this config')
    .option('-v, --verbose', 'debug logs on stderr')
    .option('-q, --quiet', 'only errors')
    .option('--dry-run', 'show what would be copied and how many bytes; write nothing')
    .addHelpText(
      'after',
      `
Credentials come from the config's auth-providers section when --config (or TRIVY_MIRROR_CONFIG) is
given, else from docker config (~/.docker/config.json, $DOCKER_CONFIG, $REGISTRY_AUTH_FILE and credential
helpers). Never pass secrets on the command line.

Blobs the destination already has are skipped, blobs in another repository of the same registry are
mounted, the manifest is pushed last, and every blob's digest is verified while streaming.

Examples:
  trivy-mirror copy ghcr.io/aquasecurity/trivy-db:2 registry.internal:5000/trivy/trivy-db:2
  trivy-mirror copy mirror.gcr.io/aquasec/trivy-java-db:1 oci-layout:/srv/transfer/trivy-java-db:1
  trivy-mirror copy oci-layout:/srv/transfer/trivy-java-db:1 registry.internal:5000/trivy/trivy-java-db:1
  trivy-mirror copy ghcr.io/aquasecurity/trivy-db:2 registry.internal:5000/trivy/trivy-db:2 --dry-run`,
    )
    .action(
      exitWith(
        async (
          src: string,
          dst: string,
          opts: {
            plainHttp: string[];
            config?: string;
            verbose?: boolean;
            quiet?: boolean;
            dryRun?: boolean;
          },
        ) => {
          const logger = await cliLogger(opts);
          const { artifactCopy, artifactCopyPlan, LayoutTransport, parseReference, RegistryClient } =
            await import('@trivy-mirror/oci');
          const srcRef = parseReference(src);
          const dstRef = parseReference(dst);
          if (!srcRef.tag && !srcRef.digest) throw new Error(`${src}: name a tag or a digest to copy`);
          const access = await registryAccess(opts.config, opts.plainHttp, logger);
          const registry = new RegistryClient({
            hosts: access.hosts,
            credentials: access.credentials,
            proxy: access.proxy,
            logger,
          });
          const layout = new LayoutTransport();
          const pick = (ref: Reference): Transport => (ref.kind === 'layout' ? layout : registry);
          const target = dstRef.tag || dstRef.digest ? dstRef : { ...dstRef, tag: srcRef.tag };
          if (opts.dryRun) {
            try {
              const plan = await artifactCopyPlan({
                src: pick(srcRef),
                srcRef,
                dst: pick(target),
                dstRef: target,
              });
              process.stdout.write(
                `dry run: copy ${src} -> ${dst}\n  digest ${plan.digest}\n  ${plan.upToDate ? 'destination already has this manifest' : 'manifest would be written'}; blobs: ${plan.blobsMissing} of ${plan.blobs} would be copied (${formatBytes(plan.bytesMissing)} of ${formatBytes(plan.bytesTotal)}), ${plan.blobs - plan.blobsMissing} already there\n  nothing was changed\n`,
              );
              return;
            } finally {
              await registry.close();
            }
          }
          const progress = opts.quiet ? undefined : new ProgressLine(process.stderr);
          const abort = new AbortController();
          const onSignal = () => abort.abort(new Error('interrupted'));
          process.once('SIGINT', onSignal);
          process.once('SIGTERM', onSignal);
          const t0 = Date.now();
          try {
            const r = await artifactCopy({
              src: pick(srcRef),
              srcRef,
              dst: pick(target),
              dstRef: target,
              signal: abort.signal,
              logger,
              onProgress: progress
                ? (p) => progress.update(p.digest.slice(7, 19), p.bytes, p.total)
                : undefined,
            });
            progress?.done();
            process.stdout.write(
              `copied ${src} -> ${dst}\n  digest ${r.digest}\n  blobs: ${r.blobsCopied} copied, ${r.blobsMounted} mounted, ${r.blobsSkipped} already there; ${formatBytes(r.bytes)} in ${formatMs(Date.now() - t0)}\n`,
            );
          } finally {
            progress?.done();
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
            await registry.close();
          }
        },
      ),
    );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
