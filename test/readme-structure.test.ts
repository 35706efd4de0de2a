// The README's table of contents and links: every `#anchor` names a heading (GitHub's slugs), every
// relative link names a file of the checkout, and the top-level sections come in the order a new user
// needs them: install, first run, configure, operate, scale, develop.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './helpers/daemon-process.js';

/** GitHub's anchor for a heading: lower case, punctuation other than - and _ dropped, spaces to -. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** Headings outside code blocks, as [level, text]. */
function headings(markdown: string): [number, string][] {
  const out: [number, string][] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^(#{1,6}) (.+)$/.exec(line);
    if (m) out.push([m[1]!.length, m[2]!]);
  }
  return out;
}

/** Markdown links outside code blocks. */
function links(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

function checkLinks(file: string): string[] {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  const anchors = new Set(headings(text).map(([, h]) => slug(h)));
  const problems: string[] = [];
  for (const link of links(text)) {
    if (/^[a-z]+:/.test(link)) continue; // http(s), mailto
    const [path, anchor] = link.split('#') as [string, string | undefined];
    if (path) {
      const target = join(repoRoot, dirname(file), path);
      if (!existsSync(target)) problems.push(`${file}: ${link}: no file ${path}`);
      else if (anchor && target.endsWith('.md')) {
        const there = new Set(headings(readFileSync(target, 'utf8')).map(([, h]) => slug(h)));
        if (!there.has(anchor)) problems.push(`${file}: ${link}: no heading #${anchor} in ${path}`);
      }
    } else if (anchor && !anchors.has(anchor)) problems.push(`${file}: ${link}: no heading #${anchor}`);
  }
  return problems;
}

describe('README structure', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

  it('has its top-level sections in the order install → first run → configure → operate → scale → develop', () => {
    const top = headings(readme)
      .filter(([level]) => level === 2)
      .map(([, h]) => h);
    const order = ['Install', 'First run', 'Configure', 'Operate', 'Scale out', 'Develop'];
    assert.deepEqual(
      top.filter((h) => order.includes(h)),
      order,
      `README's sections: ${top.join(', ')}`,
    );
    assert.equal(top[0], 'Contents', 'the table of contents comes first');
  });

  it('lists every top-level section in its table of contents', () => {
    const toc = readme.slice(
      readme.indexOf('## Contents'),
      readme.indexOf('\n## ', readme.indexOf('## Contents') + 1),
    );
    for (const [level, h] of headings(readme)) {
      if (level === 2 && h !== 'Contents')
        assert.ok(toc.includes(`(#${slug(h)})`), `the contents name "${h}"`);
    }
  });

  it('links only to headings and files that exist (README and docs)', () => {
    const problems = ['README.md', 'docs/runbook.md', 'docs/performance.md', 'tools/bench/README.md'].flatMap(
      checkLinks,
    );
    assert.deepEqual(problems, []);
  });
});
