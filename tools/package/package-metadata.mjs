// The .deb's Maintainer, Homepage and licence, from one place: the root package.json (author, homepage
// or repository, license). Whoever builds a package for their site names themselves the way dch reads
// it, DEBFULLNAME and DEBEMAIL. No homepage is better than an invented one: the field is then left out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const CONTACT = /^[^<>@\n]+ <[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+>$/;

/** npm's author, a string "Name <email> (url)" or { name, email }, as "Name <email>". */
function contactOf(author) {
  if (typeof author === 'string') return author.replace(/\s*\([^)]*\)\s*$/, '').trim();
  if (author?.name && author?.email) return `${author.name} <${author.email}>`;
  return undefined;
}

function homepageOf(pkg) {
  if (typeof pkg.homepage === 'string') return pkg.homepage;
  const repo = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
  return repo?.replace(/^git\+/, '').replace(/\.git$/, '') || undefined;
}

export function packageMetadata(root, env = process.env) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const maintainer = env.DEBEMAIL
    ? `${env.DEBFULLNAME || 'trivy-mirror packager'} <${env.DEBEMAIL}>`
    : contactOf(pkg.author);
  if (!maintainer || !CONTACT.test(maintainer))
    throw new Error(
      `package maintainer ${JSON.stringify(maintainer)}: set "author": "Name <email>" in package.json, or DEBFULLNAME and DEBEMAIL`,
    );
  return { maintainer, homepage: homepageOf(pkg), license: pkg.license };
}
