import type { Command as Program } from 'commander';
import type { Shell } from './index.js';

/** One command or group of the CLI, as the completion scripts see it. */
export interface TreeNode {
  /** words after `kubiya`: '' for the top, 'config', 'proxy keys', 'worker start' */
  path: string;
  subs: string[];
  /** every flag spelling (`--port`, `-p`) */
  flags: string[];
  /** the flags that take a value (the next word is the value, not a command) */
  valued: string[];
  /** what the positional arguments are, when the script can offer them */
  args?: 'contexts' | 'shells';
}

/** Positional arguments the scripts complete (others fall back to file names). */
const ARGS: Record<string, TreeNode['args']> = {
  'config use-context': 'contexts',
  'config delete-context': 'contexts',
  'config rename-context': 'contexts',
  completion: 'shells',
};

/** Walk the commander program: its visible commands and options, as --help shows them. */
export function commandTree(program: Program): TreeNode[] {
  const help = program.createHelp();
  const out: TreeNode[] = [];
  const walk = (cmd: Program, path: string) => {
    const subs = help.visibleCommands(cmd).map((c) => c.name());
    const opts = help.visibleOptions(cmd);
    const flags = opts.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f));
    const valued = opts
      .filter((o) => o.required || o.optional)
      .flatMap((o) => [o.long, o.short].filter((f): f is string => !!f));
    out.push({ path, subs, flags, valued, args: ARGS[path] });
    for (const c of help.visibleCommands(cmd))
      if (c.name() !== 'help') walk(c, path ? `${path} ${c.name()}` : c.name());
  };
  walk(program, '');
  return out;
}

/** A POSIX `case` over the node paths printing one list per path (bash and zsh share it). */
function caseFn(name: string, tree: TreeNode[], pick: (n: TreeNode) => string[]): string {
  const arms = tree
    .filter((n) => pick(n).length > 0)
    .map((n) => `    '${n.path}') echo '${pick(n).join(' ')}' ;;`)
    .join('\n');
  return `${name}() {\n  case "$1" in\n${arms}\n  esac\n}\n`;
}

function argsCase(tree: TreeNode[], contexts: string, shells: string): string {
  const paths = (kind: TreeNode['args']) =>
    tree
      .filter((n) => n.args === kind)
      .map((n) => `'${n.path}'`)
      .join('|');
  return [
    '    case "$kpath" in',
    `      ${paths('contexts')}) ${contexts} ;;`,
    `      ${paths('shells')}) ${shells} ;;`,
    '    esac',
  ].join('\n');
}

/** The shared helpers and the word scan: which command the words before the cursor name. */
function posixHelpers(tree: TreeNode[]): string {
  return (
    caseFn('_kubiya_subs', tree, (n) => n.subs) +
    caseFn('_kubiya_flags', tree, (n) => n.flags) +
    caseFn('_kubiya_valued', tree, (n) => n.valued)
  );
}

function bash(tree: TreeNode[]): string {
  return `# kubiya completion for bash: source <(kubiya completion bash)
${posixHelpers(tree)}
_kubiya_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" kpath="" w i skip=0 words=""
  local kubiya="\${COMP_WORDS[0]}"
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for (( i = 1; i < COMP_CWORD; i++ )); do
    w="\${COMP_WORDS[i]}"
    if (( skip )); then skip=0; continue; fi
    case "$w" in
      --) return 0 ;;
      -*) case " $(_kubiya_valued "$kpath") " in *" $w "*) skip=1 ;; esac; continue ;;
    esac
    case " $(_kubiya_subs "$kpath") " in *" $w "*) kpath="\${kpath:+$kpath }$w" ;; esac
  done
  if [[ $prev == -* && " $(_kubiya_valued "$kpath") " == *" $prev "* ]]; then
    case "$prev" in
      --queue-id) words="$("$kubiya" __complete queues 2>/dev/null)" ;;
      --context) words="$("$kubiya" __complete contexts 2>/dev/null)" ;;
      -o|--output) words="text json" ;;
      *) COMPREPLY=( $(compgen -f -- "$cur") ); return 0 ;;
    esac
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
    return 0
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=( $(compgen -W "$(_kubiya_flags "$kpath")" -- "$cur") )
    return 0
  fi
  words="$(_kubiya_subs "$kpath")"
${argsCase(tree, 'words="$("$kubiya" __complete contexts 2>/dev/null)"', "words='bash zsh fish'")}
  if [[ -z $words ]]; then COMPREPLY=( $(compgen -f -- "$cur") )
  else COMPREPLY=( $(compgen -W "$words" -- "$cur") ); fi
  return 0
}
complete -o default -F _kubiya_complete kubiya
`;
}

// zsh: the context names, one word a line (the `${...}` is zsh's, not a template placeholder)
const ZSH_CONTEXTS = ['cands=( $', '{(f)"$("$kubiya" __complete contexts 2>/dev/null)"} )'].join('');

function zsh(tree: TreeNode[]): string {
  return `#compdef kubiya
# kubiya completion for zsh: source <(kubiya completion zsh) after compinit
${posixHelpers(tree)}
_kubiya() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" kpath="" w i skip=0
  local kubiya="\${words[1]}"
  local -a cands
  for (( i = 2; i < CURRENT; i++ )); do
    w="\${words[i]}"
    if (( skip )); then skip=0; continue; fi
    case "$w" in
      --) return 0 ;;
      -*) case " $(_kubiya_valued "$kpath") " in *" $w "*) skip=1 ;; esac; continue ;;
    esac
    case " $(_kubiya_subs "$kpath") " in *" $w "*) kpath="\${kpath:+$kpath }$w" ;; esac
  done
  if [[ $prev == -* && " $(_kubiya_valued "$kpath") " == *" $prev "* ]]; then
    case "$prev" in
      --queue-id) cands=( \${(f)"$("$kubiya" __complete queues 2>/dev/null)"} ) ;;
      --context) cands=( \${(f)"$("$kubiya" __complete contexts 2>/dev/null)"} ) ;;
      -o|--output) cands=( text json ) ;;
      *) _files; return ;;
    esac
    compadd -- $cands
    return
  fi
  if [[ $cur == -* ]]; then
    cands=( \${=$(_kubiya_flags "$kpath")} )
    compadd -- $cands
    return
  fi
  cands=( \${=$(_kubiya_subs "$kpath")} )
${argsCase(tree, ZSH_CONTEXTS, 'cands=( bash zsh fish )')}
  if (( \${#cands} == 0 )); then _files; else compadd -- $cands; fi
}
compdef _kubiya kubiya
`;
}

function fish(tree: TreeNode[]): string {
  const list = (pick: (n: TreeNode) => string[]) =>
    tree
      .filter((n) => pick(n).length > 0)
      .map((n) => `        case '${n.path}'\n            printf '%s\\n' ${pick(n).join(' ')}`)
      .join('\n');
  const lines: string[] = [];
  for (const n of tree) {
    const at = `-n '__kubiya_at "${n.path}"'`;
    if (n.subs.length) lines.push(`complete -c kubiya ${at} -a '${n.subs.join(' ')}'`);
    if (n.args === 'contexts') lines.push(`complete -c kubiya ${at} -a '(__kubiya_dynamic contexts)'`);
    if (n.args === 'shells') lines.push(`complete -c kubiya ${at} -a 'bash zsh fish'`);
  }
  // one line per distinct flag spelling at each path; values for the flags we know
  for (const n of tree) {
    const at = `-n '__kubiya_at "${n.path}"'`;
    for (const f of n.flags) {
      const spec = f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`;
      const valued = n.valued.includes(f);
      let value = '';
      if (valued) {
        if (f === '--queue-id') value = " -x -a '(__kubiya_dynamic queues)'";
        else if (f === '--context') value = " -x -a '(__kubiya_dynamic contexts)'";
        else if (f === '-o' || f === '--output') value = " -x -a 'text json'";
        else value = ' -r -F';
      }
      lines.push(`complete -c kubiya ${at} ${spec}${value}`);
    }
  }
  return `# kubiya completion for fish: kubiya completion fish > ~/.config/fish/completions/kubiya.fish
function __kubiya_subs
    switch "$argv[1]"
${list((n) => n.subs)}
    end
end

function __kubiya_valued
    switch "$argv[1]"
${list((n) => n.valued)}
    end
end

# the command the words before the cursor name ('' for kubiya itself, 'worker start', ...)
function __kubiya_path
    set -l toks (commandline -opc)
    set -e toks[1]
    set -l p ''
    set -l skip 0
    for w in $toks
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case '--'
                echo -- '--'
                return
            case '-*'
                if contains -- $w (__kubiya_valued "$p")
                    set skip 1
                end
                continue
        end
        if contains -- $w (__kubiya_subs "$p")
            set p (string trim -- "$p $w")
        end
    end
    echo -- $p
end

function __kubiya_at
    test (__kubiya_path) = "$argv[1]"
end

function __kubiya_dynamic
    set -l kubiya (commandline -opc)[1]
    $kubiya __complete $argv[1] 2>/dev/null
end

complete -c kubiya -f
${lines.join('\n')}
`;
}

/** The completion script for `shell` over the CLI's commands. */
export function completionScript(shell: Shell, tree: TreeNode[]): string {
  return shell === 'bash' ? bash(tree) : shell === 'zsh' ? zsh(tree) : fish(tree);
}
