// What `trivy-mirror client-config --json` prints, turned into what a user does with it: the flags as
// arguments, the environment, trivy.yaml as a file, and repository.yaml written where it says.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ClientConfigSection } from '@trivy-mirror/plugin-api/contributions';
import { runCli } from './daemon-process.js';

export interface ClientConfig {
  oci: ClientConfigSection;
  vex?: ClientConfigSection;
  /** 'Authentication for HOST', printed when the serving listener asks for credentials. */
  auth?: ClientConfigSection;
  /** The printed flags of a section as argv (`--db-repository REF` → two arguments). */
  args(section?: ClientConfigSection): string[];
  /** Writes trivy.yaml into `home` and returns its path (for `trivy --config`). */
  writeTrivyYaml(home: string): Promise<string>;
  /** Writes each printed file, `$XDG_DATA_HOME` and `~` resolved against the client's home. */
  writeFiles(home: string): Promise<string[]>;
}

export async function clientConfig(config: string, ...extra: string[]): Promise<ClientConfig> {
  const r = await runCli(['client-config', '--config', config, '--json', ...extra]);
  assert.equal(r.code, 0, `client-config: ${r.stdout}${r.stderr}`);
  const sections = JSON.parse(r.stdout) as ClientConfigSection[];
  const oci = sections.find((s) => s.title.includes('oci-sync'));
  assert.ok(oci, `client-config printed no oci-sync section: ${r.stdout}`);
  const vex = sections.find((s) => s.title.includes('vexhub-mirror'));
  const auth = sections.find((s) => s.title.startsWith('Authentication for'));
  return {
    oci,
    vex,
    auth,
    args(section = oci) {
      return (section.flags ?? []).flatMap((f) => f.split(' '));
    },
    async writeTrivyYaml(home) {
      assert.ok(oci.trivyYaml, 'client-config printed no trivy.yaml');
      const file = join(home, 'trivy.yaml');
      await writeFile(file, oci.trivyYaml);
      return file;
    },
    async writeFiles(home) {
      const written: string[] = [];
      for (const f of vex?.files ?? []) {
        const path = f.path
          .replace('$XDG_DATA_HOME', join(home, '.local', 'share'))
          .replace(/^~(?=\/)/, home);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, f.content);
        written.push(path);
      }
      return written;
    },
  };
}
