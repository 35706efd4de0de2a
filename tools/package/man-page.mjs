// trivy-mirror(1) from the CLI's own command tree (commander, apps/daemon/dist), so the page never drifts
// from the program: every command with its options and notes, every example of its --help, and the
// sections a man page has. Prose is filled by man to the reader's width; only lines that fit in 80
// columns are set verbatim (examples too long for it are wrapped with shell line continuations).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Columns of a verbatim line: 80 less man's indent of section text (7) and nested blocks. */
const VERBATIM = 80 - 7 - 2;

/** roff-escapes one line of plain text (backslashes, leading dots and quotes, minus signs). */
function roff(line) {
  const text = line.replaceAll('\\', '\\e').replaceAll('-', '\\-');
  return /^[.']/.test(text) ? `\\&${text}` : text;
}

/** A quoted macro argument. */
const arg = (text) => `"${roff(text).replaceAll('"', '\\(dq')}"`;

/** Words of `text` (a quoted string is one word) as lines of at most `width` columns, each prefixed. */
function wrapWords(text, width, prefix = '', next = prefix) {
  const lines = [];
  let line = prefix;
  for (const word of text.match(/(?:[^\s'"]+|'[^']*'|"[^"]*")+/g) ?? []) {
    const lead = lines.length === 0 ? prefix : next;
    if (line.length > lead.length && line.length + 1 + word.length > width) {
      lines.push(line);
      line = next + word;
    } else line += line.length > lead.length ? ` ${word}` : word;
  }
  if (line.trim()) lines.push(line);
  return lines;
}

/** An example as shell lines that fit: its comment above it, a long command split with `\`. */
function exampleLines(example) {
  if (example.startsWith('#')) return wrapWords(example.replace(/^#\s*/, ''), VERBATIM, '# ');
  const m = /^(.*?)\s+#\s+(.*)$/.exec(example);
  const [command, comment] = m ? [m[1], m[2]] : [example, undefined];
  const out = comment ? wrapWords(comment, VERBATIM, '# ') : [];
  if (command.length <= VERBATIM) return [...out, command];
  const words = wrapWords(command, VERBATIM - 2, '', '    ');
  return [...out, ...words.map((l, i) => (i < words.length - 1 ? `${l} \\` : l))];
}

/** A "name  text" row of a help table: the name, two or more spaces, the text. */
const ROW = /^(\S+(?: \S+)*?) {2,}(\S.*)$/;

/** Indented help lines: verbatim when they fit; a table as a tagged list; else commands wrapped. */
function indented(block) {
  if (block.every((l) => l.length <= VERBATIM)) return ['.nf', ...block.map(roff), '.fi'];
  if (block.every((l) => ROW.test(l)))
    return block.flatMap((l) => {
      const [, tag, text] = ROW.exec(l);
      return ['.TP', roff(tag), roff(text.replace(/ {2,}/g, ' '))];
    });
  return ['.nf', ...block.flatMap(exampleLines).map(roff), '.fi'];
}

/** Help-text notes as roff: prose filled, indented lines as `indented` sets them. */
function notes(text) {
  const out = [];
  for (const para of text.split(/\n\s*\n/)) {
    const lines = para.split('\n').filter((l) => l.trim());
    let i = 0;
    while (i < lines.length) {
      if (/^\s/.test(lines[i])) {
        const block = [];
        while (i < lines.length && /^\s/.test(lines[i])) block.push(lines[i++].replace(/^ {2}/, ''));
        out.push('.RS 2', ...indented(block), '.RE');
      } else {
        const prose = [];
        while (i < lines.length && !/^\s/.test(lines[i])) prose.push(lines[i++].trim());
        out.push('.PP', roff(prose.join(' ')));
      }
    }
  }
  return out;
}

/** The text a command prints after its help (commander's addHelpText 'after'). */
function afterHelp(cmd) {
  let text = '';
  cmd.emit('afterHelp', { error: false, command: cmd, write: (s) => (text += s) });
  return text;
}

/** Splits after-help text into notes and the lines of its "Example(s):" blocks. */
function splitExamples(text) {
  const examples = [];
  const kept = text.split(/\n\s*\n/).filter((para) => {
    const [head, ...rest] = para.trim().split('\n');
    if (!/^Examples?:$/.test(head ?? '')) return true;
    examples.push(...rest.map((l) => l.trim()).filter(Boolean));
    return false;
  });
  return { notes: kept.join('\n\n'), examples };
}

/** Every command below `program` (subcommands after their parent), without `help`. */
function commandsOf(program, prefix = []) {
  const out = [];
  for (const cmd of program.commands) {
    if (cmd.name() === 'help') continue;
    const path = [...prefix, cmd.name()];
    out.push({ cmd, path });
    out.push(...commandsOf(cmd, path));
  }
  return out;
}

const flags = (option) =>
  roff(option.flags).replace(/<([^>]+)>|\[([^\]]+)\]/g, (_, req, opt) =>
    req ? `\\fI${req}\\fR` : `[\\fI${opt}\\fR]`,
  );

function commandSection({ cmd, path }, examplesByCommand) {
  const name = ['trivy-mirror', ...path].join(' ');
  const lines = [`.SS ${arg(`${name} ${cmd.usage()}`)}`, roff(cmd.description())];
  for (const a of cmd.registeredArguments ?? []) {
    const choices = a.argChoices ? ` (one of: ${a.argChoices.join(', ')})` : '';
    lines.push('.TP', `\\fI${roff(a.name())}\\fR`, roff(`${a.description}${choices}`));
  }
  for (const o of cmd.options) {
    if (o.long === '--help') continue;
    const extra = [
      o.argChoices ? `one of: ${o.argChoices.join(', ')}` : '',
      o.defaultValue !== undefined && !Array.isArray(o.defaultValue) && o.defaultValue !== false
        ? `default: ${o.defaultValue}`
        : '',
    ].filter(Boolean);
    lines.push(
      '.TP',
      `\\fB${flags(o)}\\fR`,
      roff(`${o.description}${extra.length ? ` (${extra.join('; ')})` : ''}`),
    );
  }
  const { notes: text, examples } = splitExamples(afterHelp(cmd));
  if (text.trim()) lines.push(...notes(text));
  if (examples.length) examplesByCommand.push({ name, examples });
  return lines;
}

const FILES = [
  [
    '/etc/trivy-mirror/config.yaml',
    'the configuration (annotated; see trivy-mirror config example), a conffile',
  ],
  ['/var/lib/trivy-mirror', 'the state dir: the store (OCI image layouts), VEX versions and plugin state'],
  ['/var/cache/trivy', "the Trivy cache dir the shipped config fills (Trivy's --cache-dir)"],
  ['/lib/systemd/system/trivy-mirror.service', 'the hardened systemd unit'],
  [
    '/usr/share/doc/trivy-mirror/copyright',
    'the licences of trivy-mirror, Node.js and every bundled package',
  ],
];

const ENVIRONMENT = [
  ['TRIVY_MIRROR_CONFIG', 'the config file when --config is not given'],
  ['TRIVY_MIRROR_STATE_DIR', 'overrides stateDir'],
  ['TRIVY_MIRROR_ADMIN_LISTEN', 'overrides admin.listen (also for status)'],
  ['TRIVY_MIRROR_SERVE_LISTEN', 'overrides serve.listen'],
  ['TRIVY_MIRROR_LOG_LEVEL', 'overrides log.level'],
  ['TRIVY_MIRROR__A__B', 'overrides the config key path a.b; values are parsed as YAML'],
  [
    'HTTPS_PROXY, HTTP_PROXY, NO_PROXY',
    'the proxy for outbound requests, read as Go tools read them; the config section proxy: wins',
  ],
  ['SSL_CERT_FILE, SSL_CERT_DIR', 'the system CA store, trusted beside Node.js roots (tls.systemCa)'],
  [
    'DOCKER_CONFIG, REGISTRY_AUTH_FILE',
    'docker config and credential helpers, for registries the config has no credentials for',
  ],
  [
    'CREDENTIALS_DIRECTORY',
    'systemd credentials, for passwordCredential and signing.keyCredential (LoadCredential=)',
  ],
];

const EXIT_STATUS = [
  ['0', 'success.'],
  [
    '1',
    'an error, printed once and naming what it is about (the file, host, reference or YAML path and line); config check: every problem; sync: a job failed; store verify: a fault.',
  ],
  ['3, 4, 5', 'status only: the verdict of the running daemon (see status under COMMANDS).'],
  ['70', 'run only: an uncaught error; the daemon shut down so that systemd restarts it.'],
];

const FIRST_STEPS = [
  'trivy-mirror config example --profile local > config.yaml',
  'trivy-mirror config check --config config.yaml',
  'trivy-mirror run --config config.yaml      # the daemon; the rest from another terminal',
  'trivy-mirror status',
  'trivy-mirror client-config --config config.yaml',
];

const tagged = (rows, bold = true) =>
  rows.flatMap(([tag, text]) => ['.TP', bold ? `.B ${arg(tag)}` : `.I ${arg(tag)}`, roff(text)]);

/** The page; `root` holds the built app (npm run build), `date` is YYYY-MM-DD (reproducible builds). */
export async function manPage({ root, version, date }) {
  const { buildProgram } = await import(pathToFileURL(join(root, 'apps/daemon/dist/main.js')).href);
  const program = await buildProgram();
  const commands = commandsOf(program);
  const examplesByCommand = [];
  const body = commands.flatMap((c) => commandSection(c, examplesByCommand));
  const lines = [
    `.TH TRIVY\\-MIRROR 1 "${date}" "trivy\\-mirror ${version}" "User Commands"`,
    // no hyphenation (paths and flags), ragged right
    '.nh',
    '.ad l',
    '.SH NAME',
    `trivy\\-mirror \\- keeps Trivy's vulnerability databases and VEX Hub inside a private network`,
    '.SH SYNOPSIS',
    ...commands
      .filter(({ cmd }) => cmd.commands.length === 0)
      .flatMap(({ cmd, path }) => [
        `.B ${arg(['trivy-mirror', ...path].join(' '))}`,
        roff(cmd.usage()),
        '.br',
      ]),
    '.B trivy\\-mirror',
    '[\\fB\\-\\-version\\fR | \\fB\\-\\-help\\fR]',
    '.SH DESCRIPTION',
    roff(program.description()),
    ...notes(afterHelp(program)),
    '.PP',
    'Every command takes \\fB\\-\\-help\\fR, with examples.',
    '.SH COMMANDS',
    ...body,
    '.SH FILES',
    ...tagged(FILES, false),
    '.SH ENVIRONMENT',
    ...tagged(ENVIRONMENT),
    '.SH "EXIT STATUS"',
    ...tagged(EXIT_STATUS),
    '.SH EXAMPLES',
    'Trying it on one machine, as any user (state and cache dir in the current folder):',
    '.PP',
    '.RS 2',
    '.nf',
    ...FIRST_STEPS.flatMap(exampleLines).map(roff),
    '.fi',
    '.RE',
    ...examplesByCommand.flatMap(({ name, examples }) => [
      `.SS ${arg(name)}`,
      '.nf',
      ...examples.flatMap(exampleLines).map(roff),
      '.fi',
    ]),
    '.SH "SEE ALSO"',
    '.BR trivy (1),',
    '.BR systemctl (1),',
    '.BR skopeo (1)',
  ];
  return `${lines.join('\n')}\n`;
}
