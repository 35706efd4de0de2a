// `trivy-mirror store ls|verify|prune`: look into the store (stateDir/oci, one OCI layout per
// repository) the way skopeo/crane users look into a registry, check it byte for byte, trim history.
import { MirrorError } from '@trivy-mirror/plugin-api/errors';
import type { Command } from 'commander';
import { exitWith, formatAge, formatBytes } from '../output/cli-output.js';
import {
  announceStore,
  assertStoreExists,
  resolveStoreRoot,
  type StoreRoot,
} from '../command-helpers/store-root.js';
import { formatTable } from '../output/text-table.js';

interface StoreOpts {
  config?: string;
  store?: string;
  json?: boolean;
}

const ociSync = () => import('@trivy-mirror/oci-sync');

/** The store to work on; it must exist (a typo in --store is an error, not an empty listing). */
async function openStore(opts: StoreOpts): Promise<StoreRoot> {
  const store = await resolveStoreRoot(opts);
  announceStore(store);
  await assertStoreExists(store);
  return store;
}

function storeOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'config naming stateDir (the store is stateDir/oci)')
    .option('--store <dir>', 'store tree to use instead (stateDir/oci, an `export` output, any OCI layouts)')
    .option('--json', 'print the result as JSON');
}

export function registerStoreCommands(program: Command): void {
  const store = program
    .command('store')
    .description('inspect, verify and prune the local store (one OCI image layout per repository)')
    .addHelpText(
      'after',
      `
Examples:
  trivy-mirror store ls --config /etc/trivy-mirror/config.yaml
  trivy-mirror store verify --store /media/usb/trivy-store
  trivy-mirror store prune --keep 1 --dry-run`,
    );

  storeOptions(store.command('ls'))
    .description('list versions per repository and tag: digest, size, age, and which one is current')
    .option('--no-trunc', 'show full digests')
    .addHelpText(
      'after',
      `
CURRENT marks the version the tag points at (what \`trivy --db-repository …\` pulls); the others are
history kept for rollback (oci-sync keepVersions). Sizes are manifest + config + layers. In a store
that holds signatures (\`signing:\`), SIGNATURES counts those in each version's sha256-<hex>.sig (not
checked: \`store verify\` says who signed and whether it verifies).

Examples:
  trivy-mirror store ls
  trivy-mirror store ls --store /media/usb/trivy-store --json | jq '.[] | select(.current)'`,
    )
    .action(
      exitWith(async (opts: StoreOpts & { trunc: boolean }) => {
        const root = await openStore(opts);
        const versions = await (await ociSync()).listStore(root.root);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(versions, null, 2)}\n`);
          return 0;
        }
        if (versions.length === 0) {
          process.stdout.write(`store ${root.root} holds no OCI layouts\n`);
          return 0;
        }
        // SIGNATURES only for a store that holds any (`signing:`); store verify says who signed
        const signed = versions.some((v) => v.signatures > 0);
        const rows = versions.map((v) => [
          v.repository,
          v.tag ?? '<none>',
          v.current ? 'current' : '',
          opts.trunc ? v.digest.slice(0, 19) : v.digest,
          formatBytes(v.size),
          formatAge(v.storedAt),
          ...(signed ? [v.signatures ? String(v.signatures) : '-'] : []),
        ]);
        const head = ['REPOSITORY', 'TAG', 'CURRENT', 'DIGEST', 'SIZE', 'STORED'];
        process.stdout.write(formatTable(signed ? [...head, 'SIGNATURES'] : head, rows, ''));
        return 0;
      }),
    );

  storeOptions(store.command('verify'))
    .description(
      "re-hash every blob and check every manifest's references, and show who signed each version; exit 1 on any fault",
    )
    .option(
      '--trusted-key <file>',
      'PEM public key whose signatures count (repeatable; default: trust.keys of the config)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .addHelpText(
      'after',
      `
Every file under blobs/sha256 is hashed (streamed) and must match its name; every manifest reached from
index.json must parse and every blob it references must be present with the size it states. Each fault
names its file. Exit 0 only when all is sound. A faulty blob can be deleted: the next sync fetches it again.
--store may also name one layout (what \`copy … oci-layout:DIR:TAG\` writes); a tree with no layout is a fault.
SIGNED BY: each tagged version's cosign signature (its sha256-<hex>.sig) checked against the trusted
keys: the key id and key file, "unsigned", or what failed. With trust.require in the config, a version
not signed by a trusted key is a fault.

Examples:
  trivy-mirror store verify
  trivy-mirror store verify --store /media/usb/trivy-store   # before carrying it into the air gap`,
    )
    .action(
      exitWith(async (opts: StoreOpts & { trustedKey: string[] }) => {
        const root = await openStore(opts);
        const { verifyStore } = await ociSync();
        const report = await verifyStore(root.root);
        const signers = await signersOf(root.root, opts);
        for (const s of signers.versions) {
          if (signers.require && s.failure)
            report.faults.push({
              file: `${s.what}@${s.digest}`,
              problem: `not trusted: ${s.failure.message}`,
            });
        }
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({ store: root.root, ok: report.faults.length === 0, ...report, signatures: signers.versions }, null, 2)}\n`,
          );
        } else {
          if (signers.versions.length > 0) {
            const { describeTrust } = await ociSync();
            const rows = signers.versions.map((s) => [s.what, s.digest.slice(0, 19), describeTrust(s)]);
            process.stdout.write(formatTable(['VERSION', 'DIGEST', 'SIGNED BY'], rows, ''));
          }
          for (const f of report.faults) process.stdout.write(`FAULT ${f.file}: ${f.problem}\n`);
          const what = `${report.layouts} layout(s), ${report.manifests} manifest(s), ${report.blobs} blob(s) (${formatBytes(report.bytes)})`;
          process.stdout.write(
            report.faults.length === 0
              ? `ok: ${root.root}: ${what}, all sound\n`
              : `failed: ${root.root}: ${report.faults.length} fault(s) in ${what}\n`,
          );
        }
        return report.faults.length === 0 ? 0 : 1;
      }),
    );

  storeOptions(store.command('prune'))
    .description('keep the newest N versions of every tag and remove blobs nothing references any more')
    .option(
      '--keep <n>',
      "versions to keep per tag, the current one included (default: the config's keepVersions)",
    )
    .option('--dry-run', 'show what would be removed and how many bytes freed; change nothing')
    .addHelpText(
      'after',
      `
The current version of a tag is always kept, and so is every blob a remaining manifest references.
Blobs of the dropped versions go at once; other unreferenced blobs only once older than oci-sync's
blobGraceMinutes (default 30): a sync running right now may have written them before its index update.
A running daemon or sync loses nothing to a prune: their index.json updates take turns through a lock
file (index.json.lock). Still, prune between syncs: a dropped version's blobs go at once, also one that
a sync running right now is about to reuse (the daemon trims to keepVersions on every sync anyway).

Examples:
  trivy-mirror store prune --dry-run
  trivy-mirror store prune --keep 1 --config /etc/trivy-mirror/config.yaml`,
    )
    .action(
      exitWith(async (opts: StoreOpts & { keep?: string; dryRun?: boolean }) => {
        const { loadCliConfig } = await import('../command-helpers/cli-context.js');
        const root = await openStore(opts);
        const sync = (await loadCliConfig(opts.config)).config.plugins['oci-sync'] as
          | { keepVersions?: number; blobGraceMinutes?: number }
          | undefined;
        const keep = opts.keep === undefined ? (sync?.keepVersions ?? 3) : Number(opts.keep);
        if (!Number.isInteger(keep) || keep < 1)
          throw new MirrorError(
            'USAGE_INVALID',
            `--keep: expected a whole number of versions, at least 1, got ${opts.keep}`,
          );
        const graceMs = sync?.blobGraceMinutes === undefined ? undefined : sync.blobGraceMinutes * 60_000;
        const reports = await (await ociSync()).pruneStore(root.root, { keep, dryRun: opts.dryRun, graceMs });
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({ store: root.root, keep, dryRun: opts.dryRun === true, repositories: reports }, null, 2)}\n`,
          );
          return 0;
        }
        const verb = opts.dryRun ? 'would drop' : 'dropped';
        for (const r of reports) {
          const versions = r.versionsDropped.map((v) => `${v.tag} ${v.digest.slice(0, 19)}`).join(', ');
          process.stdout.write(
            `${r.repository.padEnd(16)} ${verb} ${r.versionsDropped.length} version(s)${versions ? ` (${versions})` : ''}, ${opts.dryRun ? 'would remove' : 'removed'} ${r.blobsRemoved} blob(s), ${formatBytes(r.bytesFreed)}\n`,
          );
        }
        const bytes = reports.reduce((n, r) => n + r.bytesFreed, 0);
        process.stdout.write(
          opts.dryRun
            ? `dry run: keeping ${keep} version(s) per tag would free ${formatBytes(bytes)} in ${root.root}; nothing was changed\n`
            : `pruned ${root.root} to ${keep} version(s) per tag: ${formatBytes(bytes)} freed\n`,
        );
        return 0;
      }),
    );
}

/** Trusted keys: --trusted-key files, else the config's trust.keys (none: every signature shows as unverified). */
async function signersOf(
  root: string,
  opts: StoreOpts & { trustedKey: string[] },
): Promise<{ require: boolean; versions: import('@trivy-mirror/oci-sync').VersionTrust[] }> {
  const { loadTrustedKeys } = await import('@trivy-mirror/oci');
  let files = opts.trustedKey;
  let require = false;
  if (files.length === 0 && (opts.config || process.env.TRIVY_MIRROR_CONFIG)) {
    const { loadCliConfig } = await import('../command-helpers/cli-context.js');
    const trust = (await loadCliConfig(opts.config)).config.trust;
    files = trust?.keys ?? [];
    require = trust?.require === true;
  }
  const keys = await loadTrustedKeys(files);
  return { require, versions: await (await ociSync()).storeTrust(root, keys) };
}
