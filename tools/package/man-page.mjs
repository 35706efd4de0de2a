// trivy-mirror(1) from the CLI's own --help (commander), so the page never drifts from the program.
import { execFileSync } from 'node:child_process';

/** roff-escapes one line of plain text (backslashes, leading dots and quotes, minus signs). */
function roff(line) {
  const text = line.replaceAll('\\', '\\e').replaceAll('-', '\\-');
  return /^[.']/.test(text) ? `\\&${text}` : text;
}

const verbatim = (text) => ['.nf', ...text.trimEnd().split('\n').map(roff), '.fi'];

/** The commands listed under "Commands:" of a help text, without `help`. */
function commandNames(help) {
  const section = help.split(/^Commands:\n/m)[1] ?? '';
  return section
    .split('\n')
    .map((l) => /^ {2}(\S+)/.exec(l)?.[1])
    .filter((name) => name && name !== 'help');
}

/** The page for `bin`; `date` is YYYY-MM-DD (the changelog's, for reproducible builds). */
export function manPage({ bin, version, date }) {
  const help = (...args) =>
    execFileSync(bin, [...args, '--help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const top = help();
  const description = top.split('\n\n')[1].replace(/\n/g, ' ');
  const lines = [
    `.TH TRIVY\\-MIRROR 1 "${date}" "trivy\\-mirror ${version}" "User Commands"`,
    '.SH NAME',
    `trivy\\-mirror \\- keeps Trivy's vulnerability databases and VEX Hub inside a private network`,
    '.SH SYNOPSIS',
    '.B trivy\\-mirror',
    '.RI [ options ] " command " [ arguments ]',
    '.SH DESCRIPTION',
    roff(description),
    '.SH OPTIONS',
    ...verbatim(top.split(/^Options:\n/m)[1].split('\n\n')[0]),
    '.SH COMMANDS',
  ];
  for (const name of commandNames(top)) {
    const text = help(name);
    lines.push(`.SS ${roff(name)}`, ...verbatim(text));
    for (const sub of commandNames(text))
      lines.push(`.SS "${roff(`${name} ${sub}`)}"`, ...verbatim(help(name, sub)));
  }
  lines.push(
    '.SH FILES',
    '.TP',
    '.I /etc/trivy\\-mirror/config.yaml',
    'the configuration (annotated; see \\fBtrivy\\-mirror config example\\fR)',
    '.TP',
    '.I /var/lib/trivy\\-mirror',
    'the store (OCI image layouts), VEX copies and plugin state',
    '.TP',
    '.I /lib/systemd/system/trivy\\-mirror.service',
    'the hardened systemd unit',
    '.SH ENVIRONMENT',
    '.TP',
    '.B TRIVY_MIRROR_CONFIG',
    'the config file when \\fB\\-\\-config\\fR is not given',
    '.TP',
    '.B TRIVY_MIRROR__A__B',
    'overrides the config key path a.b (values parsed as YAML)',
  );
  return `${lines.join('\n')}\n`;
}
