// The inside daemon and `trust:`: who signed each version the store serves (recorded for /status),
// and, with `trust.require`, a version no trusted key signed (copied in by hand, or imported before
// trust was required) is not served: not announced (no cache population, no push), its tag answers
// 503 on /v2/, and /readyz names it, like a damaged version.
import { type OciLayout, signatureTag } from '@trivy-mirror/oci';
import { type Logger, MirrorError, type Trust } from '@trivy-mirror/plugin-api';
import type { ArtifactTagStatus } from '../sync/sync-state.js';
import { type VersionTrust, versionTrust } from './version-trust.js';

export const UNTRUSTED = 'UNTRUSTED';

export class ServedTrust {
  /** Outcome per manifest digest and signature artifact digest. */
  readonly #checked = new Map<string, VersionTrust>();
  /** repository:tag → the refused version. */
  readonly #refused = new Map<string, VersionTrust>();

  constructor(
    private readonly trust: Trust | undefined,
    private readonly logger?: Logger,
  ) {}

  get enabled(): boolean {
    return this.trust?.enabled === true;
  }

  /**
   * Checks the served version of repository:tag, records the signer in `status.signature`, and throws
   * UNTRUSTED when trust.require is set and no trusted key signed it (unless `recordOnly`: a version
   * a sync just fetched from upstream, signed by this mirror's key if at all).
   */
  async gate(
    layout: OciLayout,
    repository: string,
    tag: string,
    digest: string,
    status: ArtifactTagStatus,
    options: { recordOnly?: boolean } = {},
  ): Promise<void> {
    if (!this.trust?.enabled) return;
    const what = `${repository}:${tag}`;
    // by version and signature artifact: a signature added later (a signed import) is checked anew
    const sig = await layout.resolve(signatureTag(digest)).catch(() => undefined);
    const key = `${digest} ${sig?.digest ?? '-'}`;
    let t = this.#checked.get(key);
    if (!t) {
      t = await versionTrust(layout, what, digest, await this.trust.keys());
      if (this.#checked.size > 256) this.#checked.clear();
      this.#checked.set(key, t);
    }
    status.signature = t.signer ? { ...t.signer } : { failure: t.failure?.code, message: t.failure?.message };
    if (t.signer || !this.trust.require || options.recordOnly) {
      this.#refused.delete(what);
      if (!t.signer)
        this.logger?.warn(
          { repository, tag, digest, failure: t.failure },
          'served version is not signed by a trusted key',
        );
      return;
    }
    if (!this.#refused.has(what))
      this.logger?.error(
        { repository, tag, digest, failure: t.failure },
        'stored version not trusted: not served (trust.require)',
      );
    this.#refused.set(what, t);
    throw new MirrorError(UNTRUSTED, `${what}: ${refusalText(t)}`);
  }

  /** The refused version of repository:tag, if any. */
  refusedOf(repository: string, tag: string): VersionTrust | undefined {
    return this.#refused.get(`${repository}:${tag}`);
  }

  /** "trivy-db:2 (version sha256:…: [UNSIGNED] …; import a signed export)" per refused tag. */
  describeRefused(): string[] {
    return [...this.#refused.entries()].map(([what, t]) => `${what} (${refusalText(t)})`);
  }
}

function refusalText(t: VersionTrust): string {
  return (
    `the stored version ${t.digest} is not signed by a trusted key ([${t.failure?.code}] ${t.failure?.message}); ` +
    'not served (trust.require): import an export signed by a trusted key'
  );
}
