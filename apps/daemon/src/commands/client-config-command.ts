// `trivy-mirror client-config`: the exact Trivy flags, env vars, trivy.yaml and VEX repository.yaml
// that clients need to use this mirror, from every plugin's ClientConfigContribution.
import {
  ClientConfigContribution,
  type ClientConfigRecipe,
  type ClientConfigSection,
} from '@trivy-mirror/plugin-api/contributions';
import type { Command } from 'commander';
import { exitWith } from '../output/cli-output.js';
import { cliLogger, startCliRuntime } from '../command-helpers/cli-context.js';

export function registerClientConfigCommand(program: Command): void {
  program
    .command('client-config')
    .description(
      'print what Trivy clients need: flags, env vars, trivy.yaml, VEX repository.yaml, offline flags',
    )
    .option('-c, --config <file>', 'config file (serve.publicUrl and cache dirs come from it)')
    .option('--public-url <url>', 'the URL clients reach the mirror at (default: serve.publicUrl)')
    .option('--cache-dir <dir>', 'cache dir offline clients use (default: the first cache-populator target)')
    .option('--json', 'print the sections as JSON')
    .addHelpText(
      'after',
      `
Examples:
  trivy-mirror client-config --config /etc/trivy-mirror/config.yaml
  trivy-mirror client-config --config config.yaml --public-url https://bastion.example:8443`,
    )
    .action(
      exitWith(async (opts: { config?: string; publicUrl?: string; cacheDir?: string; json?: boolean }) => {
        const logger = await cliLogger({ quiet: true });
        const runtime = await startCliRuntime(opts.config, logger);
        const { publicUrlOf } = await import('@trivy-mirror/runtime');
        try {
          // No public URL is a mirror that only pushes and fills cache dirs: the sections say so.
          const publicUrl = (opts.publicUrl ?? publicUrlOf(runtime.config))?.replace(/\/+$/, '') || undefined;
          const targets = (runtime.config.plugins as Record<string, { targets?: { dir: string }[] }>)[
            'cache-populator'
          ]?.targets;
          const cacheDir = opts.cacheDir ?? targets?.[0]?.dir;
          const contributions =
            runtime.container?.getAll<ClientConfigContribution>(ClientConfigContribution, {
              optional: true,
            }) ?? [];
          const sections = contributions
            .map((c) => c.render({ publicUrl, cacheDir }))
            .filter((s): s is ClientConfigSection => s !== undefined);
          if (opts.json) process.stdout.write(`${JSON.stringify(sections, null, 2)}\n`);
          else process.stdout.write(renderSections(sections));
          return 0;
        } finally {
          await runtime.stop('client-config done');
        }
      }),
    );
}

export function renderSections(sections: ClientConfigSection[]): string {
  const out: string[] = [];
  for (const s of sections) {
    out.push(`## ${s.title}`, '');
    renderRecipe(s, out);
    for (const alt of s.alternatives ?? []) {
      out.push(`### Or: ${alt.title}`, '');
      renderRecipe(alt, out);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Flags, environment, trivy.yaml, files and notes of one recipe, indented for copying. */
function renderRecipe(s: ClientConfigRecipe & { files?: ClientConfigSection['files'] }, out: string[]): void {
  const indented = (text: string) =>
    text
      .trimEnd()
      .split('\n')
      .map((l) => `  ${l}`);
  if (s.flags?.length) out.push('Flags:', ...s.flags.map((f) => `  ${f}`), '');
  if (s.env && Object.keys(s.env).length) {
    out.push('Environment:', ...Object.entries(s.env).map(([k, v]) => `  export ${k}=${v}`), '');
  }
  if (s.trivyYaml) out.push('trivy.yaml:', ...indented(s.trivyYaml), '');
  for (const f of s.files ?? []) out.push(`${f.path}:`, ...indented(f.content), '');
  for (const n of s.notes ?? []) out.push(`Note: ${n}`);
  if (s.notes?.length) out.push('');
}
