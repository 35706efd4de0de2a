// Which store tree a command works on: --store (or --from-store) as given, else stateDir/oci of the
// config. A defaulted store is named on stderr, so nobody wonders which directory was read.
import { stat } from 'node:fs/promises';
import { MirrorError } from '@trivy-mirror/plugin-api/errors';
import { loadCliConfig } from './cli-context.js';

export interface StoreRoot {
  root: string;
  /** True when the root came from the config (or its defaults), not from the command line. */
  defaulted: boolean;
  /** Where the default came from: a config file path or 'defaults'. */
  source?: string;
}

export async function resolveStoreRoot(opts: { config?: string; store?: string }): Promise<StoreRoot> {
  if (opts.store) return { root: opts.store, defaulted: false };
  const loaded = await loadCliConfig(opts.config);
  return { root: `${loaded.config.stateDir}/oci`, defaulted: true, source: loaded.source };
}

/** Tells the operator which store a defaulted root is (stderr: stdout stays for results). */
export function announceStore(store: StoreRoot): void {
  if (!store.defaulted) return;
  const from = store.source === 'defaults' ? 'the default stateDir' : `stateDir of ${store.source}`;
  process.stderr.write(`using store ${store.root} (${from})\n`);
}

/** STORE_MISSING, naming the path, when the store tree is not a directory. */
export async function assertStoreExists(store: StoreRoot, flag = '--store'): Promise<void> {
  const st = await stat(store.root).catch((err: unknown) => err as Error);
  if (!(st instanceof Error) && st.isDirectory()) return;
  const hint = store.defaulted ? `; name one with ${flag} DIR or --config FILE` : '';
  throw new MirrorError(
    'STORE_MISSING',
    `store ${store.root} ${st instanceof Error ? 'does not exist' : 'is not a directory'}${hint}`,
    { cause: st instanceof Error ? st : undefined },
  );
}
