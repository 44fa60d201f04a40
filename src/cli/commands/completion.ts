/**
 * `mgw completion bash|zsh|fish`: shell completion generated from the command tree itself, so
 * it never lags behind the commands. Device ids come from a running gateway through the hidden
 * `mgw __complete-devices`, which gives up after a short timeout so a dead gateway never makes
 * the shell hang.
 */
import { fileURLToPath } from 'node:url';
import type { Command, Option } from 'commander';
import { DEVICE_TIMEOUT_MS, deviceIds } from '../complete-devices.js';
import { CliError, EXIT } from '../exit.js';
import type { GlobalOptions } from '../options.js';
import { print } from '../output.js';

/**
 * How the scripts get device ids: the small complete-devices entry point run by the same node
 * as this CLI, by absolute path (regenerate the script after moving the installation).
 */
function devicesCommand(): string {
  const entry = fileURLToPath(new URL('../complete-devices.js', import.meta.url));
  return `${shq(process.execPath)} ${shq(entry)}`;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Commands whose first argument is a device id. */
const DEVICE_COMMANDS = ['get', 'set', 'watch'];

/** Serial ports offered for an option whose value is one (`<device>`), with the names RS-485 HATs take (SC16IS752, MAX310x). */
const SERIAL_PORTS = 'ls /dev/serial/by-id/* /dev/ttyUSB* /dev/ttyACM* /dev/ttyAMA* /dev/ttySC* /dev/ttyMAX* /dev/ttyS[0-9]* 2>/dev/null';

/** Values worth offering for options that take one. */
const OPTION_VALUES: Record<string, string[]> = {
  '--table': ['holding', 'input', 'coil', 'discrete'],
  '--type': ['int16', 'uint16', 'int32', 'uint32', 'float32', 'int64', 'uint64', 'float64', 'bcd16', 'bcd32', 'bool'],
  '--byte-order': ['big', 'little'],
  '--word-order': ['big', 'little'],
  '--parity': ['none', 'even', 'odd'],
  '--stop-bits': ['1', '2'],
  '--baud': ['9600', '19200', '38400', '57600', '115200'],
  '--eol': ['crlf', 'lf', 'cr', 'none'],
  '--quality': ['stale,bad', 'stale', 'bad', 'uncertain', 'good'],
};

/**
 * What an option's value is, decided per option of each command, never by the flag alone:
 * `serve --port` is a TCP port (nothing to offer), `modbus read --port` a serial device, and
 * `modbus read -c` a count while `serve -c` is a file. The argument name says which:
 * `<file>` a file, `<device>` a serial device.
 */
type ValueKind = { words: string[] } | 'file' | 'serial' | 'none';

function valueKind(o: Option): ValueKind {
  const values = o.long === undefined ? undefined : OPTION_VALUES[o.long];
  if (values !== undefined) return { words: values };
  if (o.argChoices !== undefined) return { words: o.argChoices };
  const arg = /<([^>]+)>/.exec(o.flags)?.[1];
  if (arg === 'file') return 'file';
  if (arg === 'device') return 'serial';
  return 'none';
}

export function registerCompletion(program: Command, globals: () => GlobalOptions): void {
  program
    .command('completion')
    .description('print a shell completion script: bash, zsh or fish')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      `
Install:
  bash  mgw completion bash | sudo tee /etc/bash_completion.d/mgw >/dev/null
  zsh   echo 'source <(mgw completion zsh)' >> ~/.zshrc
  fish  mgw completion fish > ~/.config/fish/completions/mgw.fish
Device ids are completed from the gateway at --url / MGW_URL when it answers within ${DEVICE_TIMEOUT_MS} ms.`,
    )
    .action((shell: string) => {
      const tree = walk(program, []);
      if (shell === 'bash') return print(bashScript(tree));
      if (shell === 'zsh') return print(zshScript(tree));
      if (shell === 'fish') return print(fishScript(tree));
      throw new CliError(`completion ${JSON.stringify(shell)}: expected bash, zsh or fish`, EXIT.usage);
    });

  program
    .command('__complete-devices', { hidden: true })
    .description('device ids of the running gateway, one per line (for shell completion)')
    .action(async () => {
      const g = globals();
      for (const id of await deviceIds(['--url', g.url, ...(g.token ? ['--token', g.token] : [])])) print(id);
    });
}

interface Node {
  /** Space-separated command path below `mgw` ("" for the root, "modbus read"). */
  path: string;
  name: string;
  description: string;
  subcommands: Node[];
  options: NodeOption[];
}

interface NodeOption {
  flags: string[];
  takesValue: boolean;
  value: ValueKind;
  description: string;
  /** --help, --version: offered where they are declared, not repeated under every subcommand. */
  builtin: boolean;
}

function walk(cmd: Command, path: string[]): Node {
  const help = cmd.createHelp();
  const visible = help.visibleCommands(cmd).filter((c) => c.name() !== 'help');
  return {
    path: path.join(' '),
    name: cmd.name(),
    description: cmd.description(),
    subcommands: visible.map((c) => walk(c, [...path, c.name()])),
    options: help.visibleOptions(cmd).map((o: Option) => ({
      flags: [o.long, o.short].filter((f): f is string => typeof f === 'string'),
      takesValue: o.required || o.optional,
      value: valueKind(o),
      description: o.description,
      builtin: o.long === '--help' || o.long === '--version',
    })),
  };
}

function all(node: Node): Node[] {
  return [node, ...node.subcommands.flatMap(all)];
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The options to offer under a node: its own, then the global ones (without a second --help). */
function offered(node: Node, root: Node): NodeOption[] {
  return node === root ? root.options : [...node.options, ...root.options.filter((o) => !o.builtin)];
}

function bashScript(root: Node): string {
  const nodes = all(root);
  const globalValueOpts = root.options.filter((o) => o.takesValue).flatMap((o) => o.flags);
  const valueOpts = [...new Set(nodes.flatMap((n) => n.options.filter((o) => o.takesValue).flatMap((o) => o.flags)))];
  const subsCase = nodes
    .filter((n) => n.subcommands.length > 0)
    .map((n) => `    ${q(n.path)}) echo ${q(n.subcommands.map((s) => s.name).join(' '))} ;;`)
    .join('\n');
  const optsCase = nodes.map((n) => `    ${q(n.path)}) echo ${q([...new Set(offered(n, root).flatMap((o) => o.flags))].join(' '))} ;;`).join('\n');
  // One case per command and option that has values to offer: "$path|$prev".
  const valuesCase = nodes
    .flatMap((n) =>
      n.options.flatMap((o) => {
        if (!o.takesValue || o.value === 'none') return [];
        const keys = o.flags.map((f) => q(`${n.path}|${f}`)).join('|');
        const reply =
          o.value === 'file' ? `compgen -f -- "$cur"` : o.value === 'serial' ? `compgen -W "$(${SERIAL_PORTS})" -- "$cur"` : `compgen -W ${q(o.value.words.join(' '))} -- "$cur"`;
        return [`    ${keys}) COMPREPLY=($(${reply})); return ;;`];
      }),
    )
    .join('\n');
  return `# bash completion for mgw (generated by \`mgw completion bash\`)
_mgw_subcommands() {
  case "$1" in
${subsCase}
  esac
}
_mgw_options() {
  case "$1" in
${optsCase}
  esac
}
_mgw_takes_value() {
  case "$1" in
    ${valueOpts.join('|')}) return 0 ;;
  esac
  return 1
}
_mgw() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local path="" args=0 i w url=() subs device=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      --url|--token) url+=("$w" "\${COMP_WORDS[i+1]}"); ((i++)); continue ;;
      -*) _mgw_takes_value "$w" && ((i++)); continue ;;
    esac
    subs=" $(_mgw_subcommands "$path") "
    if [[ $args -eq 0 && "$subs" == *" $w "* ]]; then path="\${path:+$path }$w"; else ((args++)); [[ $args -eq 1 ]] && device="$w"; fi
  done
  case "$path|$prev" in
${valuesCase}
    *'|'${globalValueOpts.join(`|*'|'`)}) return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_mgw_options "$path")" -- "$cur"))
    return
  fi
  # Another option's value: nothing sensible to offer (not a device id, not a point).
  _mgw_takes_value "$prev" && return
  subs="$(_mgw_subcommands "$path")"
  if [[ -n "$subs" && $args -eq 0 ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    return
  fi
  case "$path" in
    ${DEVICE_COMMANDS.join('|')})
      if [[ "$path" == watch || $args -eq 0 ]]; then
        COMPREPLY=($(compgen -W "$(${devicesCommand()} "\${url[@]}" 2>/dev/null)" -- "$cur"))
      elif [[ "$path" == set && "$cur" != *=* && "$prev" != = ]]; then
        # The writable points of the device, as "name=" with the value still to type.
        COMPREPLY=($(compgen -W "$(${devicesCommand()} "\${url[@]}" --points "$device" 2>/dev/null)" -- "$cur"))
        type compopt >/dev/null 2>&1 && compopt -o nospace
      fi ;;
    completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")) ;;
    'config check') COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
}
complete -F _mgw mgw`;
}

/** zsh runs the bash function through bashcompinit, which ships with zsh (one script to keep right). */
function zshScript(root: Node): string {
  return `# zsh completion for mgw (generated by \`mgw completion zsh\`); load it with: source <(mgw completion zsh)
(( $+functions[compdef] )) || { autoload -Uz compinit && compinit -u; }
autoload -U +X bashcompinit && bashcompinit
${bashScript(root)}`;
}

function fishScript(root: Node): string {
  const lines = [
    '# fish completion for mgw (generated by `mgw completion fish`)',
    'complete -c mgw -f',
    '# --url / --token typed on the line, passed on to the device id lookup',
    'function __fish_mgw_url',
    '    set -l words (commandline -opc)',
    '    for i in (seq (count $words))',
    '        if contains -- $words[$i] --url --token; and test $i -lt (count $words)',
    '            echo $words[$i]; echo $words[(math $i + 1)]',
    '        end',
    '    end',
    'end',
    '# the device id typed after get, set or watch, if any (the first word after it that is no option)',
    'function __fish_mgw_device',
    '    set -l words (commandline -opc)',
    '    set -l seen 0',
    '    set -l skip 0',
    '    for w in $words[2..-1]',
    '        if test $skip = 1',
    '            set skip 0',
    '        else if contains -- $w --url --token',
    '            set skip 1',
    '        else if test $seen = 0',
    '            contains -- $w get set watch; and set seen 1',
    '        else if not string match -q -- "-*" $w',
    '            echo $w',
    '            return 0',
    '        end',
    '    end',
    '    return 1',
    'end',
  ];
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  for (const o of root.options) lines.push(`complete -c mgw ${fishFlags(o)} -d '${esc(o.description)}'`);
  const top = root.subcommands.map((s) => s.name);
  for (const s of root.subcommands) lines.push(`complete -c mgw -n 'not __fish_seen_subcommand_from ${top.join(' ')}' -a ${s.name} -d '${esc(s.description)}'`);
  for (const n of all(root)) {
    if (n === root) continue;
    const names = n.path.split(' ');
    const cond = names.map((w) => `__fish_seen_subcommand_from ${w}`).join('; and ');
    const subs = n.subcommands.map((s) => s.name);
    for (const s of n.subcommands) lines.push(`complete -c mgw -n '${cond}; and not __fish_seen_subcommand_from ${subs.join(' ')}' -a ${s.name} -d '${esc(s.description)}'`);
    // --help and --version are the global ones above: not a second time per command.
    for (const o of n.options.filter((x) => !x.builtin)) {
      const v = o.value;
      const extra = typeof v === 'object' ? ` -a '${v.words.join(' ')}'` : v === 'file' ? ' -F' : v === 'serial' ? ` -a '(${SERIAL_PORTS})'` : '';
      // -x: the option takes a value and files are not it (-F above turns files back on for a <file>).
      lines.push(`complete -c mgw -n '${cond}' ${fishFlags(o)}${extra} -d '${esc(o.description)}'`);
    }
  }
  const lookup = devicesCommand().replace(/'/g, "\\'");
  lines.push(
    `complete -c mgw -n '__fish_seen_subcommand_from watch; or begin; __fish_seen_subcommand_from ${DEVICE_COMMANDS.filter((c) => c !== 'watch').join(' ')}; and not __fish_mgw_device >/dev/null; end' -a '(${lookup} (__fish_mgw_url) 2>/dev/null)' -d device`,
  );
  // After `set DEVICE`: its writable points as "name=" (fish adds no space after a "=").
  lines.push(`complete -c mgw -n '__fish_seen_subcommand_from set; and __fish_mgw_device >/dev/null' -a '(${lookup} (__fish_mgw_url) --points (__fish_mgw_device) 2>/dev/null)' -d point`);
  lines.push(`complete -c mgw -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'`);
  lines.push(`complete -c mgw -n '__fish_seen_subcommand_from config; and __fish_seen_subcommand_from check' -F`);
  return lines.join('\n');
}

function fishFlags(o: NodeOption): string {
  const file = o.value === 'file';
  return [
    ...o.flags.map((f) => (f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`)),
    o.takesValue ? (file ? '-r' : '-x') : '',
  ]
    .filter(Boolean)
    .join(' ');
}
