// What a Trivy scan of the fixture project must report, and proof of where its data came from.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TRIVY_DATA, TRIVY_EXPECTED } from '@trivy-mirror/fixtures';
import {
  misconfigurationIds,
  scanJson,
  type TrivyReport,
  type TrivyRunOptions,
  vulnerabilityIds,
} from './trivy-cli.js';

export const PROJECT = TRIVY_DATA.projectDir;

export interface Expect {
  /**
   * `rootfs` (default): node_modules, the jar (by SHA-1 through the java DB) and the Dockerfile;
   * `fs`: package-lock.json and the Dockerfile (Trivy's fs scan does not analyse jars).
   */
  command?: 'fs' | 'rootfs';
  /** `--vex repo` was given: the fixture statement suppresses its CVE. */
  vex?: boolean;
  /** The checks bundle was scanned (`--scanners misconfig`). */
  misconfig?: boolean;
}

export function assertFindings(report: TrivyReport, expect: Expect, where: string): void {
  const found = vulnerabilityIds(report);
  for (const id of TRIVY_EXPECTED.vulnerabilities)
    assert.ok(found.includes(id), `${where}: ${id} missing from ${found}`);
  if (expect.vex) {
    assert.ok(
      !found.includes(TRIVY_EXPECTED.vexSuppressed),
      `${where}: ${TRIVY_EXPECTED.vexSuppressed} not suppressed by VEX`,
    );
  } else {
    assert.ok(
      found.includes(TRIVY_EXPECTED.vexSuppressed),
      `${where}: ${TRIVY_EXPECTED.vexSuppressed} missing from ${found}`,
    );
  }
  if ((expect.command ?? 'rootfs') === 'rootfs')
    assert.ok(
      found.includes(TRIVY_EXPECTED.jarOnly),
      `${where}: the jar's ${TRIVY_EXPECTED.jarOnly} missing from ${found}`,
    );
  if (expect.misconfig !== false) {
    const misconf = misconfigurationIds(report);
    assert.ok(
      misconf.includes(TRIVY_EXPECTED.misconfiguration),
      `${where}: ${TRIVY_EXPECTED.misconfiguration} missing from ${misconf}`,
    );
  }
}

/** `trivy fs` of the fixture project with vuln and misconfig scanners, asserting the findings. */
export async function scanProject(
  args: string[],
  options: TrivyRunOptions,
  expect: Expect,
  where: string,
): Promise<TrivyReport & { run: { stderr: string } }> {
  const scanners = expect.misconfig === false ? 'vuln' : 'vuln,misconfig';
  const report = await scanJson(
    [expect.command ?? 'rootfs', '--scanners', scanners, ...args, PROJECT],
    options,
  );
  assertFindings(report, expect, where);
  // A failed bundle download makes Trivy use its embedded checks: never the case through the mirror.
  assert.doesNotMatch(report.run.stderr, /Falling back to embedded checks/, `${where}: ${report.run.stderr}`);
  return report;
}

/** The checks bundle's manifest digest as Trivy recorded it in a cache dir. */
export async function cachedChecksDigest(cacheDir: string): Promise<string> {
  const meta = JSON.parse(await readFile(join(cacheDir, 'policy', 'metadata.json'), 'utf8')) as {
    Digest: string;
  };
  return meta.Digest;
}
