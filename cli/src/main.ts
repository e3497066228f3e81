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
import { runCheck, runRun } from './run';
import { runConvert, runExportSft, runGc, runImageBuild } from './tools';
import { runModelServe } from './model';
import { checkPathOptions } from './paths';

/** The options `run` and `check` share. */
const RUN_COMMON = `Tasks are .clawtask files, ClawGym task directories (data_entry.json + reward/), or folders of
them (searched recursively in name order).

Options:
  --backend auto|docker|local   Where sandboxes run (default auto: Docker when the engine and
                                the image are there, else a temporary directory, with a warning)
  --image TAG                   Image for tasks that name none (default clawgym/sandbox:latest,
                                or $CLAWGYM_IMAGE)
  -j, --concurrency N           Trials at a time (default 1)
  --timeout DURATION            Agent time limit, e.g. 30s, 15m (default: the task's, else 15m)
  --cpus N, --memory SIZE, --pids N
                                Per-sandbox limits under the task's own (default 1 CPU, 2g, 512)
  --runs-dir DIR                Where run folders go (default ./runs)
  --no-save                     Write no run folder
  --fresh-grading               Grade every trial in a fresh sandbox, even when the engine's diff
                                shows nothing outside the workspace that could affect grading
  --json                        Print the event stream as JSON lines on stdout
  --max-event-bytes SIZE        Per trial, bytes of output and trajectory events in events.jsonl
                                and --json (default 16m)
  --color, --no-color           Force colors on or off
  -h, --help                    Show this help
`;

export const HELP: Record<'main' | CommandName, string> = {
  main: `clawgym: author, validate and run ClawGym agent tasks

Usage: clawgym <command> [options]

Commands:
  validate [paths...]     Check .clawtask files and ClawGym task directories (default: .)
  run <tasks...>          Run tasks in fresh sandboxes with an agent and grade them
  check <tasks...>        Run oracle and nop on each task: oracle must score 1, nop 0
  import <split> --out D  Convert ClawGym task directories to .clawtask files
  export <tasks> --out D  Convert .clawtask files to ClawGym task directories
  export sft <runs>       Fine-tuning JSONL (OpenAI or ShareGPT) from the runs' trajectories
  image build             Build the default sandbox image (skips when it exists)
  gc                      Remove sandboxes left behind by killed runs
  model serve --script F  Serve scripted model replies on 127.0.0.1 (OpenAI-compatible)
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
  run: `Usage: clawgym run [options] <tasks...>

Runs each task in a fresh sandbox: the workspace goes in, the agent works, then the verifier's
files go in (never before) and grade the workspace. Prints the reward and the failing checks of
every trial and writes a run folder (config, results, verifier reports as JSON and CTRF, the
workspace diff, logs). Ctrl-C cancels cleanly (sandboxes removed, finished results kept).

Agents:
  -a, --agent NAME              builtin (default): the built-in tool-calling agent on a model;
                                oracle: the task's reference solution; nop: does nothing (the
                                score an empty attempt gets); replay: a recorded trajectory's
                                tool calls again (with --trajectory)
  -k, --attempts N              Trials per task (default 1)
  --trajectory PATH             replay: a trajectory.json, a trial folder or a run folder

The built-in agent's model (any OpenAI-compatible endpoint; the key only from the environment):
  -m, --model NAME              The model (default $CLAWGYM_MODEL)
  --base-url URL                The endpoint (default $CLAWGYM_BASE_URL, $OPENAI_BASE_URL, else
                                https://api.openai.com/v1)
  --api-key-env VAR             The variable holding the key (default CLAWGYM_API_KEY, then
                                OPENAI_API_KEY; endpoints on 127.0.0.1 need none)
  --model-script FILE           Start the bundled scripted model server with FILE and use it
                                (offline demos and tests; see \`clawgym model serve\`)
  --temperature T, --max-tokens N
                                Sampling temperature; most tokens per reply
  --max-steps N                 Most model calls per run (default 50)
  --max-total-tokens N, --max-cost USD
                                Stop when the run's tokens or cost reach this
  --price IN,OUT                USD per million input and output tokens (for costs)
  --logprobs                    Ask for logprobs and token ids (kept in the trajectory)
  --no-stream                   Whole replies instead of streamed ones
  --max-reply-bytes SIZE, --max-reply-tokens N
                                Cut one reply there, aborting its request (default 1m, 65536)
  --max-observation N           Characters of one tool result shown to the model (default 12000)
  --max-trajectory-bytes SIZE   Text trajectory.json keeps (default 32m)

${RUN_COMMON}
Exit codes:
  0  every trial passed (reward >= the task's pass_threshold)
  1  a trial failed, or a task could not be loaded
  2  usage error
  3  a trial ended in error (the engine, a setup command, our code), whatever else happened
  130  cancelled (Ctrl-C)
`,
  check: `Usage: clawgym check [options] <tasks...>

Validates tasks the way the ClawGym paper filters synthesized ones: runs the oracle (the task's
reference solution) and nop (do nothing) on each task and rejects tasks whose oracle does not
score 1 or whose no-op scores above 0.

${RUN_COMMON}
Exit codes:
  0  every task passed the filter
  1  a task was rejected or could not be loaded
  2  usage error
  3  a trial ended in error (the engine, a setup command, our code)
  130  cancelled (Ctrl-C)
`,
  import: `Usage: clawgym import <split_dir or task dirs...> --out <dir> [--overwrite]

Converts ClawGym task directories (data_entry.json, input_files/, reward/) to .clawtask files:
<out>/<task_id>/<task_id>.clawtask with the task's folders copied beside it byte for byte. The
result runs to the same reward, and \`clawgym export\` gives back the same files.
`,
  export: `Usage: clawgym export --format clawgym <tasks...> --out <dir> [--overwrite]
       clawgym export sft <runs...> --out FILE [--format openai|sharegpt] [--min-reward X]
                          [--task ID]... [--solved] [--tokens]

Converts .clawtask files to ClawGym task directories (<out>/<id>/data_entry.json, input_files/,
reward/, solution/) that the authors' harness runs. Checks are compiled to reward/check.py.

\`export sft\` writes supervised fine-tuning data, one JSON line per trial, from the
trajectory.json of the trials under the given run folders (or trial folders, or folders of
runs); trials without one are skipped and named. Formats (docs/trajectories.md):
  openai     {"messages": [...], "tools": [...]}: OpenAI chat fine-tuning with tool calls (default)
  sharegpt   {"conversations": [{"from", "value"}...], "tools": "<JSON>"}: LLaMA-Factory's
             ShareGPT with function_call/observation turns

Options for sft:
  -o, --out FILE          The JSONL file (replaced atomically)
  --format openai|sharegpt
  --min-reward X          Only trials with reward >= X
  --task ID               Only these tasks (ids or globs such as 'csv-*'); repeatable
  --solved                Only solved trials
  --tokens                Keep token ids and logprobs under each assistant turn's "clawgym" key
  -h, --help              Show this help

Exit codes (sft): 0 at least one example written, 1 none written or a failure, 2 usage error.
`,
  image: `Usage: clawgym image build [--tag TAG] [--method auto|dockerfile|debootstrap] [--force]
       clawgym image build --agent openclaw [--tag TAG] [--force]

Builds the default sandbox image (bash, python3 with a python alias, PyYAML, coreutils):
  dockerfile    docker build of images/sandbox/Dockerfile (needs a reachable registry)
  debootstrap   a Debian rootfs from Debian's packages, imported as an image (needs root and
                the debootstrap command); the rootfs is cached in ~/.cache/clawgym/image
  auto          dockerfile, falling back to debootstrap when no registry answers (default)
Does nothing when the image exists, unless --force. Default tag clawgym/sandbox:latest.
--agent openclaw builds clawgym/openclaw:latest for black-box agents: the sandbox image plus
Node 24, OpenClaw and Qwen Code from the npm registry (cached in ~/.cache/clawgym/openclaw).
`,
  gc: `Usage: clawgym gc [--all] [--dry-run]

Removes sandbox containers (labelled dev.clawgym.run) whose clawgym process is gone, e.g. after
a kill -9. Containers of live runs and of other machines are kept unless --all.
  --all          remove every clawgym container, live runs included
  -n, --dry-run  list what would be removed
`,
  model: `Usage: clawgym model serve --script FILE [--port N] [--host 127.0.0.1] [--json]

Starts a scripted OpenAI-compatible model server on the loopback interface: POST
/v1/chat/completions (JSON and streaming) and GET /v1/models, answering with the replies (tool
calls included) a JSON or YAML script gives for each task, and injecting the faults it asks for
(429, 500, slow, malformed-args, truncate). Point an OpenAI client's base URL at the printed URL.
Prints \`model server listening on URL (N tasks scripted)\`, then one line per request on stderr.
Ctrl-C (SIGINT) or SIGTERM stops it. The script format is in docs/cli.md.

Options:
  --script FILE           The script (.json is read as JSON, anything else as YAML)
  --port N                The port (default 0: any free port)
  --host HOST             A loopback address: 127.0.0.1 (default), ::1 or localhost
  --json                  Print the listening line and the requests as JSON lines on stdout
  -h, --help              Show this help

Exit codes:
  0  stopped by SIGINT or SIGTERM
  1  the script is invalid or unreadable, or the port cannot be used
  2  usage error
`,
  schema: `Usage: clawgym schema [clawtask|data-entry]

Prints a JSON Schema on stdout, for editors and tools:
  clawtask     the .clawtask format (default; the same as schemas/clawtask.schema.json)
  data-entry   data_entry.json of a ClawGym task directory
`,
  help: `Usage: clawgym help [command]

Shows the help of a command (validate, run, check, import, export, image, gc, model, schema, help), or
the list of commands.
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
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const parsed = parseCommandLine(argv);
  if (!parsed.ok) {
    const hint = parsed.helpTopic ? `clawgym help ${parsed.helpTopic}` : 'clawgym --help';
    io.stderr(`clawgym: ${parsed.message}\nRun \`${hint}\` for usage.\n`);
    return EXIT_USAGE;
  }
  const cmd = parsed.command;
  const pathProblem = checkPathOptions(cmd, io.cwd);
  if (pathProblem) {
    io.stderr(`clawgym: ${pathProblem}\nRun \`clawgym help ${cmd.kind === 'export-sft' ? 'export' : cmd.kind}\` for usage.\n`);
    return EXIT_USAGE;
  }
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
    case 'run':
      return runRun(cmd.paths, cmd.options, io);
    case 'check':
      return runCheck(cmd.paths, cmd.options, io);
    case 'import':
      return runConvert('import', cmd.paths, cmd.out, cmd.overwrite, io);
    case 'export':
      return runConvert('export', cmd.paths, cmd.out, cmd.overwrite, io);
    case 'export-sft':
      return runExportSft(cmd, io);
    case 'image-build':
      return runImageBuild(cmd, io);
    case 'gc':
      return runGc(cmd, io);
    case 'model-serve':
      return runModelServe(cmd, io);
  }
}

if (require.main === module) {
  main(process.argv.slice(2), {
    cwd: process.cwd(),
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdoutIsTTY: process.stdout.isTTY === true,
  }).then(
    // exitCode (not exit()) so piped stdout is flushed before the process ends.
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`clawgym: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
