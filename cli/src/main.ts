#!/usr/bin/env node
/**
 * The `clawgym` command line: argv to core calls. Parsing lives in args.ts, output formatting in
 * report.ts, validation in validate.ts; this file only wires them to the process.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { dataEntryJsonSchema } from '../../core/src/clawgym/schema';
import { taskJsonSchema } from '../../core/src/model/schema';
import { parseCommandLine, type CommandName } from './args';
import { EXIT_OK, EXIT_USAGE, runValidate, type Io } from './validate';

export const HELP: Record<'main' | CommandName, string> = {
  main: `clawgym: author, validate and run ClawGym agent tasks

Usage: clawgym <command> [options]

Commands:
  validate [paths...]     Check .clawtask files and ClawGym task directories (default: .)
  schema [name]           Print a JSON Schema: clawtask (default) or data-entry
  help [command]          Show help for a command

Options:
  -h, --help              Show help
  -v, --version           Print the version

Run \`clawgym help <command>\` for a command's options.
`,
  validate: `Usage: clawgym validate [options] [paths...]

Checks every .clawtask file and every ClawGym task directory (data_entry.json + reward/reward.sh)
in the given files and folders; the default is the current folder. Folders are searched
recursively in name order, skipping node_modules and dot-folders.

Prints one line per problem, sorted by file and position:
  file:line:col severity code message
Lines and columns are 1-based; columns count UTF-16 code units. A summary goes to stderr.

Options:
  --json                  Print the problems as a JSON array on stdout
  -q, --quiet             Print errors only (hide warnings and notes)
  --strict                Exit 1 on warnings too
  --color, --no-color     Force colors on or off (default: on for a terminal unless NO_COLOR is set)
  -h, --help              Show this help

Exit codes:
  0  no errors (and no warnings with --strict)
  1  at least one error (or warning with --strict)
  2  usage error: unknown command or option, a path that does not exist, nothing to check
`,
  schema: `Usage: clawgym schema [clawtask|data-entry]

Prints a JSON Schema on stdout, for editors and tools:
  clawtask     the .clawtask format (default; the same as schemas/clawtask.schema.json)
  data-entry   data_entry.json of a ClawGym task directory
`,
  help: `Usage: clawgym help [command]

Shows the help of a command (validate, schema, help), or the list of commands.
`,
};

/** The version in the package.json next to the bundle (dist/) or above the compiled tree (out/). */
export function packageVersion(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(nodePath.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'clawgym' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; go up
    }
    dir = nodePath.dirname(dir);
  }
  return 'unknown';
}

/** Run the CLI with the arguments after `clawgym`; returns the exit code. */
export function main(argv: readonly string[], io: Io): number {
  const parsed = parseCommandLine(argv);
  if (!parsed.ok) {
    const hint = parsed.helpTopic ? `clawgym help ${parsed.helpTopic}` : 'clawgym --help';
    io.stderr(`clawgym: ${parsed.message}\nRun \`${hint}\` for usage.\n`);
    return EXIT_USAGE;
  }
  const cmd = parsed.command;
  switch (cmd.kind) {
    case 'help':
      io.stdout(HELP[cmd.topic ?? 'main']);
      return EXIT_OK;
    case 'version':
      io.stdout(`${packageVersion()}\n`);
      return EXIT_OK;
    case 'schema':
      io.stdout(JSON.stringify(cmd.name === 'clawtask' ? taskJsonSchema() : dataEntryJsonSchema(), null, 2) + '\n');
      return EXIT_OK;
    case 'validate':
      return runValidate(cmd.paths, cmd.options, io);
  }
}

if (require.main === module) {
  const code = main(process.argv.slice(2), {
    cwd: process.cwd(),
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdoutIsTTY: process.stdout.isTTY === true,
  });
  // exitCode (not exit()) so piped stdout is flushed before the process ends.
  process.exitCode = code;
}
