// The deployment profiles of `trivy-mirror config example --profile NAME`: one annotated config per kind
// of host. Sections not given here are the plugins' own examples. Each passes `config check` as printed.
import { join } from 'node:path';
import type { ExampleProfile } from '@trivy-mirror/runtime';

const connected: ExampleProfile = {
  name: 'connected',
  summary: 'the bastion: syncs from upstream, pushes to private registries, serves and fills cache dirs',
  intro: [
    'The default (also what runs without a config file). Set oci-sync.destinations to push to your',
    'registries, serve: to serve Trivy clients directly, cache-populator.targets for local cache dirs.',
  ],
};

const inside: ExampleProfile = {
  name: 'inside',
  summary: 'inside an air gap: no upstream; the store comes by `import`, served over /v2/ and VEX',
  intro: [
    'Carry the store in:  trivy-mirror export --out /media/usb/store   (on the connected bastion)',
    '                     trivy-mirror import /media/usb/store --config THIS_FILE   (here)',
    'Clients: trivy-mirror client-config --config THIS_FILE',
    'Only what the connected side signed: uncomment trust: below with its cosign.pub (README: Verify on the inside)',
  ],
  serve: `serve:                                     # Trivy clients inside the air gap
  listen: 0.0.0.0:8443
  publicUrl: https://mirror.internal.example:8443
  # tls: { cert: /etc/trivy-mirror/tls.crt, key: /etc/trivy-mirror/tls.key }`,
  sections: {
    'oci-sync': `oci-sync:
  sources: []                               # no upstream: what \`import\` brought is served
  artifacts:                                # what is served (and what /readyz waits for)
    - { name: trivy-db, tags: ["2"] }
    - { name: trivy-java-db, tags: ["1"] }
    - { name: trivy-checks, tags: ["1", "2"] }
  destinations: []                          # or an internal registry: what is imported is pushed on
  keepVersions: 3
  staleAfterHours: 72                       # a warning and trivy_mirror_artifact_stale past this age
  serve: { enabled: true, prefix: [aquasec, aquasecurity] }   # read-only /v2/NAME, also /v2/PREFIX/NAME (registry.mirrors)`,
    'vexhub-mirror': `vexhub-mirror:
  repositories:
    - name: vexhub                          # clients cache it as vex/repositories/vexhub
      source: import                        # no url: the version comes in the export (DIR/vex/vexhub)
  pathPrefix: /vex`,
    'cache-populator': `cache-populator:
  targets:
    - dir: /var/cache/trivy                 # what clients on this host pass as --cache-dir
      include: [db, java-db, checks, vex]`,
  },
};

const cacheOnly: ExampleProfile = {
  name: 'cache-only',
  summary: 'a CI runner: fills its own cache dir from a private registry; serves nothing',
  intro: [
    'oci-sync pulls from the registry the bastion pushes to into the local store (no destinations),',
    'cache-populator keeps the cache dir from it. The runner scans with:',
    '  trivy image --cache-dir /var/cache/trivy --skip-db-update --skip-java-db-update --skip-check-update IMAGE',
    'A plain-HTTP registry: registries: [{ host: registry.internal:5000, plainHttp: true }].',
  ],
  serve: '# serve: none; a runner serves nothing (Trivy reads the cache dir)',
  sections: {
    'oci-sync': `oci-sync:
  schedule: "17 */6 * * *"
  sources: [registry.internal:5000/trivy]   # the private registry: SOURCE/NAME:TAG
  artifacts:
    - { name: trivy-db, tags: ["2"] }
    - { name: trivy-java-db, tags: ["1"] }
    - { name: trivy-checks, tags: ["2"] }
  destinations: []
  keepVersions: 2                           # a runner needs little history
  serve: { enabled: false }                 # nothing is served from here`,
    'vexhub-mirror': `vexhub-mirror:
  enabled: false                            # or mirror the bastion's VEX for the cache dir:
  # repositories: [{ name: vexhub, url: https://bastion.internal:8443, kind: spec }]`,
    'cache-populator': `cache-populator:
  targets:
    - dir: /var/cache/trivy                 # the runner's --cache-dir
      include: [db, java-db, checks]        # add vex with vexhub-mirror
  checkIntervalSeconds: 60`,
  },
};

const vexOnly: ExampleProfile = {
  name: 'vex-only',
  summary: 'a VEX mirror: VEX Hub (or any VEX repository) validated and served, no databases',
  intro: ['Clients: trivy-mirror client-config --config THIS_FILE prints the repository.yaml to use.'],
  serve: `serve:                                     # VEX is served to clients through publicUrl
  listen: 0.0.0.0:8443
  publicUrl: https://vex.example:8443
  # tls: { cert: /etc/trivy-mirror/tls.crt, key: /etc/trivy-mirror/tls.key }`,
  sections: {
    'oci-sync': `oci-sync:
  enabled: false                            # no databases`,
    'cache-populator': `cache-populator:
  enabled: false                            # no cache dirs`,
  },
};

const LOCAL = 'local';

/**
 * Trying it out, as any user: the state and cache dirs in the folder the example is printed in (the
 * cache-populator wants absolute paths), listeners on loopback, the public upstream.
 */
function localProfile(cwd: string): ExampleProfile {
  const here = (name: string) => JSON.stringify(join(cwd, name));
  return {
    name: LOCAL,
    summary: 'try it on this machine, as any user: state and cache dir in this folder, loopback only',
    intro: [
      'Written for the folder it was printed in: needs no root and writes nowhere else. It syncs from',
      'the public upstream (mirror.gcr.io, ghcr.io, VEX Hub). Run it, then from another terminal:',
      '  trivy-mirror status;  trivy-mirror client-config --config THIS_FILE',
      'For a bastion host start from --profile connected. Offline, without any upstream: trivy-mirror demo',
    ],
    stateDir: here('trivy-mirror-state'),
    serve: `serve:                                     # Trivy clients on this machine: plain HTTP on loopback
  listen: 127.0.0.1:8080
  publicUrl: http://127.0.0.1:8080`,
    sections: {
      'oci-sync': `oci-sync:
  # sources: the public upstream (the default); no destinations
  destinations: []
  keepVersions: 2
  serve: { enabled: true, prefix: [aquasec, aquasecurity] }   # /v2/NAME and /v2/PREFIX/NAME`,
      'cache-populator': `cache-populator:
  targets:
    - dir: ${here('trivy-cache')}   # trivy --cache-dir DIR --skip-db-update …
      include: [db, java-db, checks, vex]`,
    },
  };
}

export const CONFIG_PROFILES: readonly ExampleProfile[] = [
  connected,
  inside,
  cacheOnly,
  vexOnly,
  { name: LOCAL, summary: localProfile('').summary },
];
export const DEFAULT_PROFILE = 'connected';

export function configProfile(name: string): ExampleProfile {
  if (name === LOCAL) return localProfile(process.cwd());
  const profile = CONFIG_PROFILES.find((p) => p.name === name);
  if (!profile)
    throw new Error(`unknown profile "${name}" (${CONFIG_PROFILES.map((p) => p.name).join(', ')})`);
  return profile;
}
