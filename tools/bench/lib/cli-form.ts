// Which trivy-mirror the bench measures: the single executable `npm run package` builds (what a
// bastion installs from the .deb) or the bin script run by node (a git checkout). `auto` takes the
// executable when it is built and no older than the build it was made from, so a stale one is never
// measured by accident.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type CliChoice = 'auto' | 'executable' | 'node';

export interface CliForm {
  kind: 'executable' | 'node';
  /** The program to spawn and the arguments before trivy-mirror's own. */
  file: string;
  prefix: string[];
  /** One line for the output: what runs, and why. */
  describe: string;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'apps/daemon/bin/trivy-mirror.js');
export const EXECUTABLE = join(ROOT, 'dist', `trivy-mirror-linux-${arch() === 'arm64' ? 'arm64' : 'x64'}`);

let form: CliForm | undefined;

/** Newest mtime of the compiled JS the executable is bundled from. */
function newestBuild(): number {
  let newest = 0;
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (name.endsWith('.js')) newest = Math.max(newest, st.mtimeMs);
    }
  };
  // the app and every package: what the bundle is made from
  walk(join(ROOT, 'apps/daemon/dist'));
  for (const pkg of readdirSync(join(ROOT, 'packages'))) walk(join(ROOT, 'packages', pkg, 'dist'));
  return newest;
}

/** Picks the form once; `executable` without a build is an error that says what to run. */
export function chooseCli(choice: CliChoice): CliForm {
  const node: CliForm = {
    kind: 'node',
    file: process.execPath,
    prefix: [BIN],
    describe: `node ${process.version} apps/daemon/bin/trivy-mirror.js`,
  };
  const built = existsSync(EXECUTABLE);
  const fresh = built && statSync(EXECUTABLE).mtimeMs >= newestBuild();
  if (choice === 'executable' && !built)
    throw new Error(`--cli executable: ${EXECUTABLE} is not built (npm run package)`);
  if (choice === 'executable' || (choice === 'auto' && fresh)) {
    form = {
      kind: 'executable',
      file: EXECUTABLE,
      prefix: [],
      describe: `the single executable ${EXECUTABLE.slice(ROOT.length)}${fresh ? '' : ' (older than the build: npm run package)'}`,
    };
  } else {
    form = {
      ...node,
      describe:
        choice === 'auto'
          ? `${node.describe} (${built ? 'the executable is older than the build' : 'no executable built'}: npm run package to measure it)`
          : node.describe,
    };
  }
  return form;
}

/** The chosen form (node until chooseCli ran). */
export function cliForm(): CliForm {
  form ??= chooseCli('node');
  return form;
}
