// `trivy-mirror populate`: write a Trivy cache dir once, without the daemon (replaces the air-gap
// guide's manual `tar -xzf db.tar.gz` steps, atomically and with the metadata Trivy expects).
import path from 'node:path';
import type { PopulateSource, VexInput } from '@trivy-mirror/cache-populator';
import {
  CACHE_PARTS,
  type CachePart,
  DEFAULT_MAX_UNPACKED_BYTES,
} from '@trivy-mirror/cache-populator/cache-parts';
import type { Logger } from '@trivy-mirror/plugin-api';
import { MirrorError } from '@trivy-mirror/plugin-api/errors';
import type { Command } from 'commander';
import { cliLogger, registryAccess } from '../command-helpers/cli-context.js';
import { exitWith } from '../output/cli-output.js';
import { printPopulateResult } from '../output/populate-output.js';
import { announceStore, assertStoreExists, resolveStoreRoot } from '../command-helpers/store-root.js';

interface PopulateOpts {
  cacheDir: string;
  fromStore?: string;
  fromRegistry?: string;
  only?: string;
  checksTag?: string;
  plainHttp: string[];
  config?: string;
  force?: boolean;
  maxUnpackedBytes?: string;
  allowMissing?: boolean;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function registerPopulateCommand(program: Command): void {
  program
    .command('populate')
    .description(
      'write a Trivy cache dir (db, java-db, checks) once, atomically, from the store or a registry',
    )
    .requiredOption('--cache-dir <dir>', 'the Trivy cache dir to fill (what clients pass as --cache-dir)')
    .option(
      '--from-store <dir>',
      'a store tree (stateDir/oci, or an `export` output): one OCI layout per repository',
    )
    .option(
      '--from-registry <prefix>',
      'a registry prefix holding trivy-db, trivy-java-db, trivy-checks (e.g. registry.internal:5000/trivy)',
    )
    .option(
      '--only <parts>',
      `comma-separated parts: ${CACHE_PARTS.join(',')} (default: all the store holds; vex only from an \`export\` output)`,
    )
    .option(
      '--checks-tag <tag>',
      'trivy-checks tag: 2 for current Trivy, 1 for older releases (default: newest)',
    )
    .option('--plain-http <host>', 'use http:// for this registry host (repeatable)', collect, [])
    .option('-c, --config <file>', 'config for credentials and the default store (stateDir/oci)')
    .option('--force', 'rewrite parts even when they already hold the same content')
    .option(
      '--max-unpacked-bytes <n>',
      `cap on the decompressed size of one layer (gzip bombs; default ${DEFAULT_MAX_UNPACKED_BYTES})`,
    )
    .option(
      '--allow-missing',
      'exit 0 even when the store is missing or holds none of the parts (skipped parts are listed)',
    )
    .option('--dry-run', 'show which parts would be written and how many bytes read; write nothing')
    .option('--json', 'print the result as JSON')
    .option('-v, --verbose', 'debug logs on stderr')
    .addHelpText(
      'after',
      `
Without --from-store or --from-registry the store is the config's stateDir/oci (named on stderr).
An \`export\` output also holds VEX repositories (DIR/vex/NAME): each is checked like an import (size and
sha256 against version.json, the manifest, unpacking limits, index.json) and written to
DIR/vex/repositories/NAME as \`trivy vex repo download\` leaves it; scan with --vex repo --skip-vex-repo-update.
A store that does not exist, or holds none of the parts asked for, is an error (exit 1) naming the
path; --allow-missing makes both a success that lists the parts as skipped.

Each part is extracted into a staging dir beside the target and swapped in with a rename, so a scanner
reading the dir at the same time sees the old complete version or the new one. metadata.json gets
DownloadedAt = now (Trivy treats a zero DownloadedAt as corrupt); checks get policy/metadata.json with
the manifest digest and MajorVersion. Then scan offline with:
  trivy image --cache-dir DIR --skip-db-update --skip-java-db-update --skip-check-update --offline-scan IMAGE

Examples:
  trivy-mirror populate --cache-dir /var/cache/trivy --from-store /media/usb/trivy-store
  trivy-mirror populate --cache-dir ./cache --from-registry registry.internal:5000/trivy --only db,checks
  trivy-mirror populate --cache-dir /var/cache/trivy --config config.yaml --dry-run`,
    )
    .action(
      exitWith(async (opts: PopulateOpts) => {
        const logger = await cliLogger({ verbose: opts.verbose });
        if (opts.fromStore && opts.fromRegistry)
          throw new Error('give either --from-store or --from-registry, not both');
        const parts = (opts.only ?? 'db,java-db,checks,vex').split(',').filter(Boolean) as CachePart[];
        const bad = parts.filter((p) => !CACHE_PARTS.includes(p));
        if (bad.length) throw new Error(`--only: unknown part ${bad.join(', ')} (${CACHE_PARTS.join(', ')})`);
        if (opts.fromRegistry && opts.only && parts.includes('vex'))
          throw new Error(
            '--only vex: VEX repositories come from an `export` output (--from-store DIR), not a registry',
          );
        const maxUnpackedBytes =
          opts.maxUnpackedBytes === undefined ? undefined : Number(opts.maxUnpackedBytes);
        if (
          maxUnpackedBytes !== undefined &&
          !(Number.isSafeInteger(maxUnpackedBytes) && maxUnpackedBytes > 0)
        )
          throw new Error(
            `--max-unpacked-bytes: expected a positive number of bytes, got ${opts.maxUnpackedBytes}`,
          );
        const { cleanupCacheDir, OLD_VERSION_GRACE_MS, populateCacheDir } = await import(
          '@trivy-mirror/cache-populator'
        );
        const { parseReference, RegistryClient } = await import('@trivy-mirror/oci');
        let source: PopulateSource;
        let storeRoot: string | undefined;
        let close = async () => {};
        if (opts.fromRegistry) {
          const prefix = opts.fromRegistry.replace(/\/+$/, '');
          parseReference(`${prefix}/trivy-db:2`); // validates the prefix early, with a clear error
          const access = await registryAccess(opts.config, opts.plainHttp, logger);
          const client = new RegistryClient({
            hosts: access.hosts,
            credentials: access.credentials,
            proxy: access.proxy,
            logger,
          });
          close = () => client.close();
          source = {
            kind: 'transport',
            transport: client,
            refFor: (repo, tag) => parseReference(`${prefix}/${repo}:${tag}`),
          };
        } else {
          const store = await resolveStoreRoot({ config: opts.config, store: opts.fromStore });
          announceStore(store);
          storeRoot = store.root;
          if (!opts.allowMissing) await assertStoreExists(store, '--from-store');
          source = { kind: 'layout', root: store.root };
        }
        const abort = new AbortController();
        const onSignal = () => abort.abort(new Error('interrupted'));
        process.once('SIGINT', onSignal);
        const t0 = Date.now();
        try {
          // Staging dirs and temp links of an interrupted (killed) populate or daemon, and versions
          // retired long enough ago; live processes' staging dirs are kept (pid check).
          if (!opts.dryRun) await cleanupCacheDir(opts.cacheDir, { graceMs: OLD_VERSION_GRACE_MS, logger });
          const vex = await exportedVex(storeRoot, parts, opts, logger);
          close = chain(close, vex.discard);
          const result = await populateCacheDir({
            cacheDir: opts.cacheDir,
            parts: vex.parts,
            vex: vex.inputs,
            source,
            checksTag: opts.checksTag,
            force: opts.force,
            dryRun: opts.dryRun,
            maxUnpackedBytes,
            signal: abort.signal,
            logger,
          });
          printPopulateResult(result, { json: opts.json, dryRun: opts.dryRun, ms: Date.now() - t0 });
          if (!opts.allowMissing && result.parts.every((p) => p.status === 'skipped')) {
            const where = storeRoot ? `store ${storeRoot}` : `registry ${opts.fromRegistry}`;
            throw new MirrorError(
              'STORE_EMPTY',
              `${where} holds none of the parts asked for (${vex.parts.join(', ')}): nothing was populated; --allow-missing to accept that`,
            );
          }
          return result.ok ? 0 : 1;
        } finally {
          process.off('SIGINT', onSignal);
          await close();
        }
      }),
    );
}

/**
 * The VEX repositories of an `export` output at `storeRoot` (DIR/vex/NAME), checked and unpacked
 * into a staging dir in the cache dir (removed by `discard`, or after a crash by the next populate's
 * clean-up; a dry run's go to the temp dir). Without any, 'vex' leaves the default parts; asked for
 * with --only, it is reported skipped.
 */
async function exportedVex(
  storeRoot: string | undefined,
  parts: CachePart[],
  opts: PopulateOpts,
  logger: Logger,
): Promise<{ parts: CachePart[]; inputs: VexInput[]; discard: () => Promise<void> }> {
  const none = { inputs: [], discard: async () => {} };
  if (!parts.includes('vex')) return { parts, ...none };
  const { exportedVexNames, unpackExportedVex } = await import('@trivy-mirror/vexhub-mirror');
  const names = storeRoot ? await exportedVexNames(storeRoot) : [];
  if (names.length === 0) return { parts: opts.only ? parts : parts.filter((p) => p !== 'vex'), ...none };
  const { mkdir, mkdtemp, rm } = await import('node:fs/promises');
  let workDir: string;
  if (opts.dryRun) {
    // a dry run checks and measures the archives too, but writes nothing into the cache dir
    workDir = await mkdtemp(path.join((await import('node:os')).tmpdir(), 'trivy-mirror-vex-plan-'));
  } else {
    const { STAGING_PREFIX } = await import('@trivy-mirror/cache-populator');
    // here, not at the top: --help loads every command module, and node:crypto costs it ~10 ms
    const { randomBytes } = await import('node:crypto');
    await mkdir(opts.cacheDir, { recursive: true, mode: 0o755 });
    // named like the populator's own staging dirs, so a killed run's leftover is cleaned up next time
    workDir = path.join(
      opts.cacheDir,
      `${STAGING_PREFIX}vex-source-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    await mkdir(workDir, { mode: 0o700 });
  }
  const discard = () => rm(workDir, { recursive: true, force: true });
  try {
    const unpacked = await unpackExportedVex(storeRoot as string, names, workDir);
    for (const v of unpacked)
      logger.debug(
        { repository: v.repository, updatedAt: v.updatedAt, packages: v.packages },
        'VEX repository checked',
      );
    return { parts, inputs: unpacked, discard };
  } catch (err) {
    await discard();
    throw err;
  }
}

function chain(a: () => Promise<void>, b: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await a();
    } finally {
      await b();
    }
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
