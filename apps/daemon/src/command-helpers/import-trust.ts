// `import` and the top-level `trust:` section: who signed each version of the export (OCI versions by
// their `.sig` artifact, the VEX versions by the signed vex/SHA256SUMS). With `trust.require` any
// failure refuses the whole import before anything is copied; otherwise the outcome is reported.
import { join } from 'node:path';
// Only types at the top: `--help` must not load the OCI library or zod (start-up time, cli-ux test).
import type { TrustedKey } from '@trivy-mirror/oci';
import type { PlannedImport, VersionTrust } from '@trivy-mirror/oci-sync';
import type { Trust } from '@trivy-mirror/plugin-api';
import type { Runtime } from '@trivy-mirror/runtime';

export interface ImportTrust {
  require: boolean;
  versions: VersionTrust[];
}

/**
 * The trust outcome of an export: with `--trusted-key` keys, those, required; else the config's
 * `trust:` section; undefined when there is neither.
 */
export async function importTrust(
  runtime: Runtime | undefined,
  dir: string,
  planned: PlannedImport,
  vexRepositories: number,
  cliKeys?: readonly TrustedKey[],
): Promise<ImportTrust | undefined> {
  let keys: readonly TrustedKey[];
  let require: boolean;
  if (cliKeys) {
    keys = cliKeys;
    require = true;
  } else {
    const { Trust: TrustService } = await import('@trivy-mirror/plugin-api');
    const trust = runtime?.container?.get<Trust>(TrustService, { optional: true });
    if (!trust?.enabled) return undefined;
    keys = await trust.keys();
    require = trust.require;
  }
  const { checkImportTrust } = await import('@trivy-mirror/oci-sync');
  const versions = await checkImportTrust(planned, keys);
  if (vexRepositories > 0) versions.push(await vexTrust(dir, keys));
  return { require, versions };
}

async function vexTrust(dir: string, keys: readonly TrustedKey[]): Promise<VersionTrust> {
  const { verifyVexDigestList, VEX_DIGEST_LIST } = await import('@trivy-mirror/vexhub-mirror');
  const { isSignatureError } = await import('@trivy-mirror/oci');
  const { describeError } = await import('@trivy-mirror/plugin-api');
  const what = `vex (${VEX_DIGEST_LIST})`;
  try {
    const { key } = await verifyVexDigestList(join(dir, 'vex'), keys);
    return {
      what,
      digest: VEX_DIGEST_LIST,
      signer: {
        keyId: key.keyId,
        keyIdShort: key.keyIdShort,
        keyFile: key.file.split('/').pop() ?? key.file,
      },
    };
  } catch (err) {
    if (!isSignatureError(err)) throw err;
    return { what, digest: VEX_DIGEST_LIST, failure: { code: err.code, message: describeError(err) } };
  }
}

/** The versions that failed, for the refusal. */
export function trustFailures(t: ImportTrust): { what: string; code: string; message: string }[] {
  return t.versions.flatMap((v) => (v.failure ? [{ what: v.what, ...v.failure }] : []));
}

/** "trust    trivy-db:2 sha256:0123456789ab… signed by 3f2a… (trusted.pub)" per version. */
export async function trustLines(t: ImportTrust): Promise<string[]> {
  const { describeTrust } = await import('@trivy-mirror/oci-sync');
  return t.versions.map((v) => {
    const digest = v.digest.startsWith('sha256:') ? ` ${v.digest.slice(0, 19)}…` : '';
    return `trust    ${v.what}${digest} ${v.signer ? 'signed by ' : ''}${describeTrust(v)}`;
  });
}
