/**
 * argv -> a parsed command, or a usage error. No I/O here, so every case is unit-testable.
 */
import { parseArgs } from 'node:util';
import { didYouMean } from '../../core/src/language/suggest';

export const COMMAND_NAMES = ['validate', 'schema', 'help'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export const SCHEMA_NAMES = ['clawtask', 'data-entry'] as const;
export type SchemaName = (typeof SCHEMA_NAMES)[number];

export interface ValidateOptions {
  json: boolean;
  quiet: boolean;
  strict: boolean;
  /** `undefined`: decide from the terminal and NO_COLOR. */
  color?: boolean;
}

export type Command =
  | { kind: 'help'; topic?: CommandName }
  | { kind: 'version' }
  | { kind: 'validate'; paths: string[]; options: ValidateOptions }
  | { kind: 'schema'; name: SchemaName };

export type ParseResult = { ok: true; command: Command } | { ok: false; message: string; helpTopic?: CommandName };

const VALIDATE_FLAGS = {
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  strict: { type: 'boolean' },
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP_ONLY = { help: { type: 'boolean', short: 'h' } } as const;

const GLOBAL_FLAGS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

function isCommand(name: string): name is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(name);
}

/** Rewrites node's parseArgs errors into one short sentence with a did-you-mean. */
function usageError(err: unknown, known: readonly string[], topic?: CommandName): ParseResult {
  const raw = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  const option = /'([^']+)'/.exec(raw)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const name = option.replace(/^-+/, '');
    const suggestion = didYouMean(name, known);
    const where = topic ? ` for \`${topic}\`` : '';
    return { ok: false, message: `unknown option \`${option}\`${where}${suggestion ? `; did you mean \`--${suggestion}\`?` : ''}`, ...(topic ? { helpTopic: topic } : {}) };
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return { ok: false, message: `option \`${option}\` takes no value`, ...(topic ? { helpTopic: topic } : {}) };
  }
  return { ok: false, message: raw.split('\n')[0]!, ...(topic ? { helpTopic: topic } : {}) };
}

/** Parse the arguments after `clawgym` (i.e. `process.argv.slice(2)`). */
export function parseCommandLine(argv: readonly string[]): ParseResult {
  // The command is the first argument that is not an option; options before it are global.
  const cmdIndex = argv.findIndex((a) => !a.startsWith('-') || a === '-');
  const globalArgs = cmdIndex === -1 ? argv : argv.slice(0, cmdIndex);
  if (globalArgs.includes('--')) return { ok: false, message: 'expected a command before `--`' };
  let globals: { help?: boolean; version?: boolean };
  try {
    globals = parseArgs({ args: [...globalArgs], options: GLOBAL_FLAGS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    return usageError(e, Object.keys(GLOBAL_FLAGS));
  }
  if (cmdIndex === -1) {
    if (globals.version && !globals.help) return { ok: true, command: { kind: 'version' } };
    return { ok: true, command: { kind: 'help' } };
  }
  if (globals.version) return { ok: true, command: { kind: 'version' } };

  const name = argv[cmdIndex]!;
  const rest = argv.slice(cmdIndex + 1);
  if (!isCommand(name)) {
    const suggestion = didYouMean(name, COMMAND_NAMES);
    return { ok: false, message: `unknown command \`${name}\`${suggestion ? `; did you mean \`${suggestion}\`?` : ''}` };
  }
  if (globals.help) return { ok: true, command: { kind: 'help', topic: name } };

  switch (name) {
    case 'help': {
      let parsed;
      try {
        parsed = parseArgs({ args: [...rest], options: HELP_ONLY, strict: true, allowPositionals: true });
      } catch (e) {
        return usageError(e, Object.keys(HELP_ONLY), 'help');
      }
      const topic = parsed.positionals[0];
      if (topic === undefined) return { ok: true, command: { kind: 'help' } };
      if (parsed.positionals.length > 1) return { ok: false, message: '`help` takes at most one command name', helpTopic: 'help' };
      if (!isCommand(topic)) {
        const suggestion = didYouMean(topic, COMMAND_NAMES);
        return { ok: false, message: `unknown command \`${topic}\`${suggestion ? `; did you mean \`${suggestion}\`?` : ''}` };
      }
      return { ok: true, command: { kind: 'help', topic } };
    }
    case 'schema': {
      let parsed;
      try {
        parsed = parseArgs({ args: [...rest], options: HELP_ONLY, strict: true, allowPositionals: true });
      } catch (e) {
        return usageError(e, Object.keys(HELP_ONLY), 'schema');
      }
      if (parsed.values.help) return { ok: true, command: { kind: 'help', topic: 'schema' } };
      if (parsed.positionals.length > 1) return { ok: false, message: '`schema` takes at most one schema name', helpTopic: 'schema' };
      const which = parsed.positionals[0] ?? 'clawtask';
      if (!(SCHEMA_NAMES as readonly string[]).includes(which)) {
        return { ok: false, message: `unknown schema \`${which}\`; use one of ${SCHEMA_NAMES.map((s) => `\`${s}\``).join(', ')}`, helpTopic: 'schema' };
      }
      return { ok: true, command: { kind: 'schema', name: which as SchemaName } };
    }
    case 'validate': {
      let parsed;
      try {
        parsed = parseArgs({ args: [...rest], options: VALIDATE_FLAGS, strict: true, allowPositionals: true });
      } catch (e) {
        return usageError(e, Object.keys(VALIDATE_FLAGS), 'validate');
      }
      const v = parsed.values;
      if (v.help) return { ok: true, command: { kind: 'help', topic: 'validate' } };
      if (v.color && v['no-color']) return { ok: false, message: '`--color` and `--no-color` contradict each other', helpTopic: 'validate' };
      const options: ValidateOptions = { json: !!v.json, quiet: !!v.quiet, strict: !!v.strict };
      if (v.color) options.color = true;
      if (v['no-color']) options.color = false;
      const paths = parsed.positionals.length ? parsed.positionals : ['.'];
      return { ok: true, command: { kind: 'validate', paths, options } };
    }
  }
}
