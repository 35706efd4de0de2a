// usr/share/doc/trivy-mirror/copyright (machine-readable): trivy-mirror under the licence of the
// repository's LICENSE, the npm packages the bundle holds (from esbuild's metafile) and the embedded
// Node.js runtime with its own licence text.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The SPDX id of the repository's LICENSE, which must be the licence package.json declares. Debian
 * ships the Apache 2.0 text in common-licenses: the copyright file points there (lintian refuses a copy).
 */
function repositoryLicense(root, declared) {
  const text = readFileSync(join(root, 'LICENSE'), 'utf8');
  const apache = /^\s*Apache License\s+Version 2\.0, January 2004\s/.test(text);
  if (!apache || declared !== 'Apache-2.0')
    throw new Error(`LICENSE is not the Apache-2.0 text that package.json declares (${declared})`);
  return 'Apache-2.0';
}

/** name@version (licence) of each npm package with a file in the bundle. */
function bundledPackages(root, metafile) {
  const names = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) names.add(m[1]);
  }
  return [...names].sort().map((name) => {
    const pj = join(root, 'node_modules', name, 'package.json');
    const pkg = existsSync(pj) ? JSON.parse(readFileSync(pj, 'utf8')) : {};
    const license = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'see package');
    return `${name}@${pkg.version ?? '?'} (${license})`;
  });
}

/** A licence text as a DEP-5 field continuation: indented, empty lines as " .". */
const continuation = (text) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => (l.trim() === '' ? ' .' : ` ${l}`))
    .join('\n');

/** Node's licence file quotes the Apache 2.0 text several times: Debian ships it once, in common-licenses. */
const withoutApacheTexts = (text) =>
  text.replace(
    /^[ \t]*Apache License\n[ \t]*Version 2\.0, January 2004[\s\S]*?END OF TERMS AND CONDITIONS/gm,
    '    The Apache License, Version 2.0 (on Debian systems: /usr/share/common-licenses/Apache-2.0).',
  );

export function copyrightFile({ root, metafile, nodeLicense, maintainer, homepage, license }) {
  const packages = bundledPackages(root, metafile);
  const own = repositoryLicense(root, license);
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: trivy-mirror
Upstream-Contact: ${maintainer}
${homepage ? `Source: ${homepage}\n` : ''}Comment: /usr/bin/trivy-mirror is a Node.js single executable application: the
 Node.js runtime with the daemon bundled by esbuild, including these npm
 packages (name@version and licence as each package declares it):
${continuation(packages.join('\n'))}

Files: *
Copyright: trivy-mirror contributors
License: ${own}

Files: usr/bin/trivy-mirror
Copyright: Node.js contributors, and the authors of the npm packages listed above
License: ${own} and Node.js
Comment: The Node.js runtime and the libraries it embeds come under the terms
 in the Node.js licence text below; the bundled npm packages under their own.

License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 is in
 /usr/share/common-licenses/Apache-2.0.

License: Node.js
${continuation(withoutApacheTexts(readFileSync(nodeLicense, 'utf8')))}
`;
}
