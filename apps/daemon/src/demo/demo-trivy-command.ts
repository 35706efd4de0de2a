// The demo's last words: a Trivy command that scans the fixture project through the running demo, with
// the repository.yaml it needs written into the demo's dir, and whether Trivy is on this machine.
import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import type { ClientConfigSection } from '@trivy-mirror/plugin-api/contributions';

/** The first executable `trivy` on PATH, if any. */
export function trivyOnPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'trivy');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

export interface DemoTrivyCommand {
  /** The shell command, one line. */
  command: string;
  /** What it should find, for the reader. */
  expect: string;
  lines: string[];
}

/**
 * Writes DIR/xdg-data/.trivy/vex/repository.yaml from the VEX section and returns the command:
 * XDG_DATA_HOME=… trivy rootfs --scanners vuln,misconfig --cache-dir DIR/trivy-client-cache FLAGS --vex repo PROJECT.
 */
export async function demoTrivyCommand(
  dir: string,
  projectDir: string,
  sections: ClientConfigSection[],
): Promise<DemoTrivyCommand> {
  const oci = sections.find((s) => s.title.includes('oci-sync'));
  const vex = sections.find((s) => s.title.includes('vexhub-mirror'));
  const xdgData = join(dir, 'xdg-data');
  const args = [
    'rootfs',
    '--scanners',
    'vuln,misconfig',
    '--cache-dir',
    join(dir, 'trivy-client-cache'),
    ...(oci?.flags ?? []),
  ];
  const repositoryYaml = vex?.files?.[0];
  let env = '';
  if (repositoryYaml) {
    const path = repositoryYaml.path.replace('$XDG_DATA_HOME', xdgData);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, repositoryYaml.content);
    env = `XDG_DATA_HOME=${xdgData} `;
    args.push(...(vex?.flags ?? []));
  }
  args.push(projectDir.replace(/\/+$/, ''));
  const command = `${env}trivy ${args.join(' ')}`;
  const expect =
    'It finds CVE-2021-23337 and CVE-2021-44906 (npm), CVE-2021-44228 (the jar, known to the java DB by its ' +
    'SHA-1) and the misconfiguration AVD-DS-9001 (only in the mirrored checks bundle); CVE-2020-28500 is ' +
    'left out by the mirrored VEX statement.';
  const trivy = trivyOnPath();
  const lines = [
    trivy
      ? `Scan with Trivy (${trivy}) through the mirror while the demo runs:`
      : 'Trivy is not installed here (no trivy on PATH). With Trivy v0.56 or later installed, this scans ' +
        'through the mirror while the demo runs:',
    `  ${command}`,
    expect,
  ];
  return { command, expect, lines };
}
