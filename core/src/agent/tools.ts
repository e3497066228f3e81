/**
 * The built-in agent's tools, executed in the sandbox: `exec` (a shell whose working directory and
 * exported variables carry over from one call to the next, as agents expect of a terminal),
 * `read_file`, `write_file`, `edit_file` (exact-match replace), `list_dir` and `finish`.
 *
 * Each call is one sandbox exec (two for `edit_file`), which on the Docker backend goes over the
 * sandbox's persistent session (no `docker exec`). What a tool returns to the model is text, cut
 * to the observation cap with the middle left out; what went wrong is said in the text, never
 * thrown (a model reads its mistakes and tries again), except that the sandbox's engine is gone
 * (`unavailable`) or the call was cancelled: those end the agent's run.
 */
import { randomBytes } from 'node:crypto';
import * as posix from 'node:path/posix';
import { SandboxError, type ExecResult, type Sandbox } from '../sandbox/types';
import type { ToolDefinition } from '../trajectory/atif';

/** Characters of one observation the model sees (head and tail kept, the middle cut). */
export const DEFAULT_OBSERVATION_CHARS = 12_000;
/** Default and largest time limit of one `exec` call. */
export const DEFAULT_EXEC_TIMEOUT_S = 120;
export const MAX_EXEC_TIMEOUT_S = 900;
/** Largest file `read_file` returns whole (it is cut to the observation cap after that). */
const READ_CAP_BYTES = 4 * 1024 * 1024;

export const TOOL_DEFINITIONS: ToolDefinition[] = [
  {
    type: 'function',
    function: {
      name: 'exec',
      description:
        'Run a bash command in the sandbox. The working directory and exported environment variables persist between calls (it starts in the workspace root). Returns the exit code, stdout and stderr (long output is cut in the middle). Commands get no stdin: do not start interactive programs.',
      parameters: {
        type: 'object',
        properties: {
          command: { type: 'string', description: 'The bash command line to run.' },
          timeout_s: { type: 'number', description: `Time limit in seconds (default ${DEFAULT_EXEC_TIMEOUT_S}, at most ${MAX_EXEC_TIMEOUT_S}); the command and everything it started are killed then.` },
        },
        required: ['command'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'read_file',
      description: 'Read a text file. Relative paths are relative to the workspace root. Optionally a range of lines (1-based).',
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string' },
          start_line: { type: 'integer', minimum: 1 },
          end_line: { type: 'integer', minimum: 1 },
        },
        required: ['path'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'write_file',
      description: 'Create or overwrite a file with the given content (parent folders are created). Relative paths are relative to the workspace root.',
      parameters: {
        type: 'object',
        properties: { path: { type: 'string' }, content: { type: 'string' } },
        required: ['path', 'content'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'edit_file',
      description:
        'Replace an exact piece of text in a file. old_string must occur exactly once (include surrounding lines to make it unique) unless replace_all is true.',
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string' },
          old_string: { type: 'string' },
          new_string: { type: 'string' },
          replace_all: { type: 'boolean' },
        },
        required: ['path', 'old_string', 'new_string'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'list_dir',
      description: 'List a folder (default: the workspace root) recursively to a depth (default 2): one entry a line, folders ending in /, files with their size.',
      parameters: {
        type: 'object',
        properties: { path: { type: 'string' }, depth: { type: 'integer', minimum: 1, maximum: 10 } },
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'finish',
      description: 'End the task. Call it once the work is done, with your final answer or a summary for the user.',
      parameters: {
        type: 'object',
        properties: { message: { type: 'string', description: 'The final reply to the user.' } },
        required: ['message'],
        additionalProperties: false,
      },
    },
  },
];

export const TOOL_NAMES = TOOL_DEFINITIONS.map((t) => t.function.name);

export interface ToolOutcome {
  /** What the model is shown. */
  content: string;
  /** The tool call was not usable (bad arguments, unknown tool): counts towards the malformed cap. */
  malformed?: boolean;
  /** `finish` was called: the run ends with this message. */
  finish?: string;
  /** The command's own result, for the transcript. */
  exec?: Pick<ExecResult, 'exitCode' | 'timedOut' | 'durationMs'>;
  /** The content was over the observation cap and cut in the middle: characters left out. */
  cut?: number;
}

/** Keep the head and the tail of a long text, saying how much of the middle went. */
export function cutMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor((max - 80) / 2);
  const cut = text.length - 2 * half;
  return `${text.slice(0, half)}\n[… ${cut} characters cut …]\n${text.slice(text.length - half)}`;
}

/**
 * The shell around every `exec` command: restores the previous call's exported variables and
 * working directory, and saves them again when the command's shell exits (also through `exit`).
 * Only bash builtins, so a call costs no extra process. The exec's own CLAWGYM_EXEC_ID (how the
 * sandbox finds what a command started) is kept, not the saved one.
 */
const SHELL_WRAPPER = `__cg_s=$1; __cg_cmd=$2; shift 2
__cg_id=$CLAWGYM_EXEC_ID
if [ -f "$__cg_s/env" ]; then . "$__cg_s/env" 2>/dev/null; fi
export CLAWGYM_EXEC_ID=$__cg_id
if [ -f "$__cg_s/cwd" ]; then IFS= read -r __cg_cwd < "$__cg_s/cwd" && cd -- "$__cg_cwd" 2>/dev/null; fi
trap 'export -p > "$__cg_s/env"; pwd > "$__cg_s/cwd"' EXIT
unset __cg_cwd __cg_id
eval "$__cg_cmd"`;

export interface ToolBoxOptions {
  sandbox: Sandbox;
  /** The workspace root: relative paths and the shell's first working directory. */
  root: string;
  observationChars?: number;
  /** Raw output of commands, as it arrives. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Uint8Array) => void;
}

type Args = Record<string, unknown>;

export class ToolBox {
  /** Where the shell's state lives: outside the workspace, unguessable. */
  private readonly stateDir = `/tmp/.clawgym-shell-${randomBytes(6).toString('hex')}`;
  private stateReady = false;
  private readonly cap: number;

  constructor(private readonly options: ToolBoxOptions) {
    this.cap = options.observationChars ?? DEFAULT_OBSERVATION_CHARS;
  }

  /** The observation cap (characters). */
  get observationChars(): number {
    return this.cap;
  }

  /**
   * Run one tool call; its content is cut to the observation cap (`cut` says by how much). Rejects
   * only when cancelled, or when the sandbox's engine is gone (a SandboxError of kind `cancelled`
   * or `unavailable`): the model is not the one to be told that the infrastructure failed.
   */
  async call(name: string, rawArguments: string, signal?: AbortSignal): Promise<ToolOutcome> {
    const outcome = await this.callUncut(name, rawArguments, signal);
    if (outcome.content.length <= this.cap) return outcome;
    return { ...outcome, content: cutMiddle(outcome.content, this.cap), cut: outcome.content.length - 2 * Math.floor((this.cap - 80) / 2) };
  }

  private async callUncut(name: string, rawArguments: string, signal?: AbortSignal): Promise<ToolOutcome> {
    if (!TOOL_NAMES.includes(name)) {
      return { malformed: true, content: `error: there is no tool named ${JSON.stringify(name)}; the tools are ${TOOL_NAMES.join(', ')}` };
    }
    let args: Args;
    try {
      const parsed: unknown = rawArguments.trim() === '' ? {} : JSON.parse(rawArguments);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the arguments must be a JSON object');
      args = parsed as Args;
    } catch (e) {
      return {
        malformed: true,
        content: `error: the arguments of ${name} are not valid JSON (${(e as Error).message}). Call ${name} again with a JSON object, e.g. ${EXAMPLES[name]}`,
      };
    }
    const bad = checkArgs(name, args);
    if (bad) return { malformed: true, content: `error: ${bad}. Example: ${EXAMPLES[name]}` };
    try {
      switch (name) {
        case 'exec':
          return await this.exec(String(args.command), typeof args.timeout_s === 'number' ? args.timeout_s : DEFAULT_EXEC_TIMEOUT_S, signal);
        case 'read_file':
          return await this.readFile(String(args.path), args.start_line as number | undefined, args.end_line as number | undefined, signal);
        case 'write_file':
          return await this.writeFile(String(args.path), String(args.content), signal);
        case 'edit_file':
          return await this.editFile(String(args.path), String(args.old_string), String(args.new_string), args.replace_all === true, signal);
        case 'list_dir':
          return await this.listDir(typeof args.path === 'string' ? args.path : '.', typeof args.depth === 'number' ? args.depth : 2, signal);
        default:
          return { content: 'finished', finish: String(args.message) };
      }
    } catch (e) {
      if (e instanceof SandboxError && (e.kind === 'cancelled' || e.kind === 'unavailable')) throw e;
      if (signal?.aborted) throw new SandboxError('cancelled', `${name} was cancelled`);
      return { content: `error: ${name} failed in the sandbox: ${(e as Error).message}` };
    }
  }

  private resolve(p: string): string {
    return posix.resolve(this.options.root, p);
  }

  private async run(argv: string[], opts: { stdin?: string; timeoutMs?: number; signal?: AbortSignal; stream?: boolean; cwd?: string }): Promise<ExecResult> {
    return this.options.sandbox.exec(argv, {
      cwd: opts.cwd ?? '/',
      timeoutMs: opts.timeoutMs ?? 60_000,
      stdin: opts.stdin ?? '',
      maxOutputBytes: READ_CAP_BYTES,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.stream && this.options.onOutput
        ? { onStdout: (c: Uint8Array) => this.options.onOutput!('stdout', c), onStderr: (c: Uint8Array) => this.options.onOutput!('stderr', c) }
        : {}),
    });
  }

  private async exec(command: string, timeoutS: number, signal?: AbortSignal): Promise<ToolOutcome> {
    const seconds = Math.min(Math.max(timeoutS, 1), MAX_EXEC_TIMEOUT_S);
    if (!this.stateReady) {
      // The state folder, and the shell's first working directory: the workspace root.
      const made = await this.run(['sh', '-c', 'mkdir -p "$1" && printf "%s\\n" "$2" > "$1/cwd"', 'sh', this.stateDir, this.options.root], { ...(signal ? { signal } : {}) });
      if (made.exitCode !== 0) return { content: `error: cannot prepare the shell: ${made.stderr.trim()}` };
      this.stateReady = true;
    }
    this.options.onOutput?.('stdout', Buffer.from(`$ ${command}\n`));
    const r = await this.run(['bash', '-c', SHELL_WRAPPER, 'bash', this.stateDir, command], {
      timeoutMs: seconds * 1000,
      stream: true,
      cwd: this.options.root,
      ...(signal ? { signal } : {}),
    });
    const parts = [r.timedOut ? `timed out after ${seconds} s (killed)` : `exit code ${r.exitCode}`];
    if (r.outputLimitExceeded) parts.push('the command printed too much and was killed');
    if (r.stdout) parts.push(r.stdout.replace(/\n$/, ''));
    if (r.stderr) parts.push(`[stderr]\n${r.stderr.replace(/\n$/, '')}`);
    if (r.truncated) parts.push(`[output over ${READ_CAP_BYTES} bytes was not kept: ${r.stdoutBytes + r.stderrBytes} bytes in all]`);
    return { content: parts.join('\n'), exec: { exitCode: r.exitCode, timedOut: r.timedOut, durationMs: r.durationMs } };
  }

  private async readBytes(path: string, signal?: AbortSignal): Promise<{ ok: true; data: string } | { ok: false; message: string }> {
    const r = await this.run(['sh', '-c', 'if [ -d "$1" ]; then echo "is a folder (use list_dir)" >&2; exit 3; fi; exec cat -- "$1"', 'sh', path], { ...(signal ? { signal } : {}) });
    if (r.exitCode !== 0) return { ok: false, message: r.stderr.trim().replace(/^cat: /, '') || `cannot read (exit code ${r.exitCode})` };
    if (r.truncated) return { ok: false, message: `the file is larger than ${READ_CAP_BYTES} bytes: read parts of it with exec (head, sed -n)` };
    return { ok: true, data: r.stdout };
  }

  private async readFile(p: string, start: number | undefined, end: number | undefined, signal?: AbortSignal): Promise<ToolOutcome> {
    const path = this.resolve(p);
    const read = await this.readBytes(path, signal);
    if (!read.ok) return { content: `error: ${p}: ${read.message}` };
    if (read.data.includes('\0')) return { content: `${p} is a binary file (${Buffer.byteLength(read.data)} bytes); inspect it with exec (xxd, file, python3)` };
    let text = read.data;
    if (start !== undefined || end !== undefined) {
      const lines = text.split('\n');
      const from = (start ?? 1) - 1;
      text = lines.slice(from, end ?? lines.length).join('\n');
      if (from >= lines.length) return { content: `${p} has ${lines.length} lines; nothing from line ${start}` };
    }
    return { content: text === '' ? `(${p} is empty)` : text };
  }

  private async writeFile(p: string, content: string, signal?: AbortSignal): Promise<ToolOutcome> {
    const path = this.resolve(p);
    const r = await this.run(['sh', '-c', 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"', 'sh', path], { stdin: content, ...(signal ? { signal } : {}) });
    if (r.exitCode !== 0) return { content: `error: cannot write ${p}: ${r.stderr.trim() || `exit code ${r.exitCode}`}` };
    return { content: `wrote ${Buffer.byteLength(content)} bytes to ${p}` };
  }

  private async editFile(p: string, oldString: string, newString: string, all: boolean, signal?: AbortSignal): Promise<ToolOutcome> {
    if (oldString === '') return { malformed: true, content: 'error: old_string is empty; to create a file use write_file' };
    const path = this.resolve(p);
    const read = await this.readBytes(path, signal);
    if (!read.ok) return { content: `error: ${p}: ${read.message}` };
    const count = read.data.split(oldString).length - 1;
    if (count === 0) return { content: `error: old_string was not found in ${p} (it must match exactly, whitespace included); read the file again` };
    if (count > 1 && !all) return { content: `error: old_string occurs ${count} times in ${p}; include more surrounding text to make it unique, or set replace_all` };
    const updated = all ? read.data.split(oldString).join(newString) : read.data.replace(oldString, () => newString);
    const written = await this.writeFile(path, updated, signal);
    if (written.content.startsWith('error')) return written;
    return { content: `replaced ${count} occurrence${count === 1 ? '' : 's'} in ${p}` };
  }

  private async listDir(p: string, depth: number, signal?: AbortSignal): Promise<ToolOutcome> {
    const path = this.resolve(p);
    const r = await this.run(['find', path, '-mindepth', '1', '-maxdepth', String(Math.min(Math.max(depth, 1), 10)), '-printf', '%y %s %P\\n'], { ...(signal ? { signal } : {}) });
    if (r.exitCode !== 0 && !r.stdout) return { content: `error: ${p}: ${r.stderr.trim().replace(/^find: /, '') || `exit code ${r.exitCode}`}` };
    const lines = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [type, size, ...rest] = l.split(' ');
        const name = rest.join(' ');
        return type === 'd' ? `${name}/` : type === 'l' ? `${name} -> (symlink)` : `${name} (${size} bytes)`;
      })
      .sort();
    return { content: lines.length ? lines.join('\n') : `(${p} is empty)` };
  }
}

const EXAMPLES: Record<string, string> = {
  exec: '{"command": "ls -la"}',
  read_file: '{"path": "notes/todo.md"}',
  write_file: '{"path": "output/report.md", "content": "# Report\\n"}',
  edit_file: '{"path": "config.json", "old_string": "\\"debug\\": true", "new_string": "\\"debug\\": false"}',
  list_dir: '{"path": ".", "depth": 2}',
  finish: '{"message": "Done: wrote output/report.md"}',
};

/** The arguments against the tool's schema: a sentence for the model, or undefined when fine. */
function checkArgs(name: string, args: Args): string | undefined {
  const def = TOOL_DEFINITIONS.find((t) => t.function.name === name)!.function.parameters as {
    properties: Record<string, { type: string }>;
    required?: string[];
  };
  for (const key of def.required ?? []) {
    if (!(key in args)) return `${name} needs "${key}"`;
  }
  for (const [key, value] of Object.entries(args)) {
    const prop = def.properties[key];
    if (!prop) return `${name} has no argument "${key}" (it takes ${Object.keys(def.properties).join(', ')})`;
    const ok =
      prop.type === 'string' ? typeof value === 'string' : prop.type === 'boolean' ? typeof value === 'boolean' : prop.type === 'integer' ? Number.isInteger(value) : typeof value === 'number' && Number.isFinite(value);
    if (!ok) return `"${key}" of ${name} must be ${prop.type === 'integer' ? 'a whole number' : `a ${prop.type}`}, not ${JSON.stringify(value)?.slice(0, 60)}`;
  }
  return undefined;
}
