// The packaged unit, derived from deploy/systemd/trivy-mirror.service (one source for the hardening):
// the executable in /usr/bin, paths that may not exist yet made optional, install notes for a package.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** [what to find, replacement]; the build fails if the deploy unit no longer has one of them. */
const EDITS = [
  [
    /^# Install:.*\n(?:#\s{2,}.*\n)*/m,
    '# Installed by the trivy-mirror package; user, group, /var/lib/trivy-mirror and /var/cache/trivy come from it.\n',
  ],
  [/^ExecStart=.*$/m, 'ExecStart=/usr/bin/trivy-mirror run --config /etc/trivy-mirror/config.yaml'],
  [/^Documentation=.*$/m, 'Documentation=man:trivy-mirror(1)'],
  // postinst makes the cache dir, but an admin may move it: a missing ReadWritePaths entry would stop
  // the service starting
  [/^ReadWritePaths=\/var\/cache\/trivy$/m, 'ReadWritePaths=-/var/cache/trivy'],
  // an example credential: a missing file stops the service starting, so it is left for the admin
  [/^LoadCredential=(.*)$/m, '# LoadCredential=$1'],
];

export function packagedUnit(root) {
  let text = readFileSync(join(root, 'deploy/systemd/trivy-mirror.service'), 'utf8');
  for (const [from, to] of EDITS) {
    const next = text.replace(from, to);
    if (next === text)
      throw new Error(`packaged unit: ${from} not found in deploy/systemd/trivy-mirror.service`);
    text = next;
  }
  return text;
}
