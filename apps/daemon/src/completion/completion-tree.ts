// The command tree as completion scripts need it, read from the live commander program, so the
// scripts list exactly the commands and options that exist (they never go stale).
import type { Command } from 'commander';

export type ValueKind = 'file' | 'dir' | 'word';

export interface CompletionOption {
  /** --long and -s spellings. */
  names: string[];
  /** undefined for flags without a value. */
  value?: ValueKind;
  description: string;
}

export interface CompletionNode {
  /** Command words after the program name, e.g. ['store', 'ls']; [] for the program itself. */
  path: string[];
  description: string;
  subcommands: CompletionNode[];
  options: CompletionOption[];
  /** Fixed choices of the positional argument (e.g. completion's shell). */
  choices: string[];
  /** What a positional argument is, for file/dir completion. */
  argument?: ValueKind;
}

function valueKind(placeholder: string): ValueKind {
  if (/dir/i.test(placeholder)) return 'dir';
  if (/file|path/i.test(placeholder)) return 'file';
  return 'word';
}

export function completionTree(cmd: Command, path: string[] = []): CompletionNode {
  const options: CompletionOption[] = cmd.options.map((o) => {
    const placeholder = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1];
    return {
      names: [o.long, o.short].filter((n): n is string => Boolean(n)),
      value: o.required || o.optional ? valueKind(placeholder ?? '') : undefined,
      description: o.description,
    };
  });
  options.push({ names: ['--help', '-h'], description: 'display help for command' });
  const args = cmd.registeredArguments;
  return {
    path,
    description: cmd.description(),
    subcommands: cmd.commands
      .filter((c) => c.name() !== 'help')
      .map((c) => completionTree(c, [...path, c.name()])),
    options,
    choices: args.flatMap((a) => a.argChoices ?? []),
    argument: args.length > 0 ? valueKind(args[0]!.name()) : undefined,
  };
}

/** Every node, the program first. */
export function allNodes(root: CompletionNode): CompletionNode[] {
  return [root, ...root.subcommands.flatMap(allNodes)];
}
