// `trivy-mirror completion bash|zsh|fish`: a completion script built from the real command tree.
import { Argument, type Command } from 'commander';
import { exitWith } from '../output/cli-output.js';
import { bashScript, fishScript, zshScript } from '../completion/completion-scripts.js';
import { completionTree } from '../completion/completion-tree.js';

const SCRIPTS = { bash: bashScript, zsh: zshScript, fish: fishScript };

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish) for every command and option')
    .addArgument(new Argument('<shell>', 'the shell').choices(Object.keys(SCRIPTS)))
    .addHelpText(
      'after',
      `
Examples:
  source <(trivy-mirror completion bash)                        # this shell; or in ~/.bashrc
  trivy-mirror completion bash > /etc/bash_completion.d/trivy-mirror
  trivy-mirror completion zsh > "\${fpath[1]}/_trivy-mirror"     # then restart zsh
  trivy-mirror completion fish > ~/.config/fish/completions/trivy-mirror.fish`,
    )
    .action(
      exitWith(async (shell: keyof typeof SCRIPTS) => {
        // main registers every command for `completion`, so `program` is the whole tree
        process.stdout.write(SCRIPTS[shell](completionTree(program)));
        return 0;
      }),
    );
}
