/**
 * Reading and validating a ClawGym task directory:
 *
 * ```
 * task_0000/
 *   data_entry.json        task_id, user_query, metadata, input_mount_dir?
 *   input_files/           optional; copied to input_mount_dir
 *   reward/reward.sh       run after the agent ends; graders (check.py, ...) sit beside it
 * ```
 *
 * Validation never throws. Diagnostics on `data_entry.json` carry spans into its text; problems
 * with the folder or another file (a missing file, a symlink) are reported against that path with
 * an empty span at offset 0 (line 1, column 1).
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { inputProblemCode, inputProblemReport, MAX_TASK_FILE_BYTES, readInputText } from '../input';
import { didYouMean } from '../language/suggest';
import type { Diagnostic, DiagnosticCode, Severity, Span } from '../language/types';
import { jsonProperty, jsonTypeName, jsonValue, parseJson } from './json';
import { DATA_ENTRY_KEYS, DataEntry, hasParentSegment, USER_QUERY_MAX_CHARS } from './schema';

export const DATA_ENTRY_FILE = 'data_entry.json';
export const INPUT_FILES_DIR = 'input_files';
export const REWARD_DIR = 'reward';
export const REWARD_SCRIPT = 'reward/reward.sh';

/**
 * A ClawGym task as the rest of the engine sees it. Lossless: every key of data_entry.json is kept
 * (unknown ones in `extra`) and `raw` holds the exact text, because a JS object cannot preserve
 * everything JSON can (integer-like keys such as a rubric's `"0"`/`"1"` are reordered, `1.0` reads
 * as `1`); an exporter writes `raw` back when the fields are unchanged.
 */
export interface ClawGymTask {
  taskId: string;
  userQuery: string;
  metadata: Record<string, unknown>;
  /** Absent: the task has no inputs. Absolute, or relative to the workspace root. */
  inputMountDir?: string;
  /** data_entry.json keys beyond the four the format defines, verbatim. */
  extra: Record<string, unknown>;
  /** The exact text of data_entry.json. */
  raw: string;
  paths: ClawGymTaskPaths;
}

export interface ClawGymTaskPaths {
  /** The task directory (absolute). */
  dir: string;
  dataEntry: string;
  /** The `input_files/` folder, when the task has one. */
  inputFiles?: string;
  /** The `reward/` folder: it travels to `<root>/reward` as a whole. */
  rewardDir: string;
  rewardScript: string;
}

/** Diagnostics that belong to one file (or folder). */
export interface FileDiagnostics {
  /** Absolute path of the file or folder the diagnostics are about. */
  file: string;
  /**
   * The file's text, which the spans index into. Undefined for folder- or file-level problems:
   * their spans are empty at offset 0 (line 1, column 1).
   */
  text?: string;
  diagnostics: Diagnostic[];
}

export interface ClawGymReadResult {
  /** The task, when data_entry.json could be read into one (even with warnings). */
  task?: ClawGymTask;
  /** Per-file diagnostics; files without problems are left out. */
  reports: FileDiagnostics[];
}

const AT_START: Span = { start: 0, end: 0 };

function diag(span: Span, severity: Severity, code: DiagnosticCode, message: string, path?: (string | number)[]): Diagnostic {
  return path ? { span, severity, code, message, data: { path } } : { span, severity, code, message };
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Whether a folder looks like a ClawGym task directory: it has `data_entry.json`, or (broken
 * tasks included) a `reward/` or `input_files/` folder and no `.clawtask` file of its own (a
 * `.clawtask` task keeps its reward script in `reward/` too).
 */
export function isClawGymTaskDir(dir: string): boolean {
  try {
    if (isFile(nodePath.join(dir, DATA_ENTRY_FILE))) return true;
    const entries = fs.readdirSync(dir, { withFileTypes: true });
    if (entries.some((e) => e.name.endsWith('.clawtask'))) return false;
    return entries.some((e) => (e.name === REWARD_DIR || e.name === INPUT_FILES_DIR) && (e.isDirectory() || isDir(nodePath.join(dir, e.name))));
  } catch {
    return false;
  }
}

/** Read and validate a ClawGym task directory. Never throws. */
export function readClawGymTask(dirArg: string): ClawGymReadResult {
  const dir = nodePath.resolve(dirArg);
  const reports: FileDiagnostics[] = [];
  const folder: Diagnostic[] = [];
  const others = new Map<string, Diagnostic[]>();
  const addFileDiag = (file: string, d: Diagnostic): void => {
    const list = others.get(file) ?? [];
    list.push(d);
    others.set(file, list);
  };
  let task: ClawGymTask | undefined;
  try {
    const dataEntryPath = nodePath.join(dir, DATA_ENTRY_FILE);
    const inputFilesPath = nodePath.join(dir, INPUT_FILES_DIR);
    const rewardDir = nodePath.join(dir, REWARD_DIR);
    const rewardScript = nodePath.join(dir, REWARD_SCRIPT);
    const hasInputs = isDir(inputFilesPath) && fs.readdirSync(inputFilesPath).length > 0;

    // data_entry.json
    let text: string | undefined;
    if (!fs.existsSync(dataEntryPath)) {
      folder.push(diag(AT_START, 'error', 'missing-file', `missing \`${DATA_ENTRY_FILE}\`: a ClawGym task directory needs one`));
    } else if (!isFile(dataEntryPath)) {
      folder.push(diag(AT_START, 'error', 'missing-file', `\`${DATA_ENTRY_FILE}\` is not a file`));
    } else {
      const read = readInputText(dataEntryPath, { maxBytes: MAX_TASK_FILE_BYTES, label: `\`${DATA_ENTRY_FILE}\`` });
      if (read.ok) text = read.text;
      else if (read.kind === 'encoding') reports.push(inputProblemReport(dataEntryPath, read));
      else folder.push(diag(AT_START, 'error', inputProblemCode(read.kind), read.message));
    }
    if (text !== undefined) {
      const result = validateDataEntry(text, { folderName: nodePath.basename(dir), hasInputs });
      if (result.diagnostics.length) reports.push({ file: dataEntryPath, text, diagnostics: result.diagnostics });
      if (result.entry) {
        task = {
          ...result.entry,
          raw: text,
          paths: {
            dir,
            dataEntry: dataEntryPath,
            ...(isDir(inputFilesPath) ? { inputFiles: inputFilesPath } : {}),
            rewardDir,
            rewardScript,
          },
        };
      }
    }

    // reward/reward.sh
    if (!isFile(rewardScript)) {
      const what = isDir(rewardDir) ? `\`${REWARD_SCRIPT}\`` : `\`${REWARD_DIR}/\` (with \`reward.sh\`)`;
      folder.push(diag(AT_START, 'error', 'missing-file', `missing ${what}: the task cannot be graded without it`));
    }

    // Symlinks must not leave the task directory: the folders are copied into the sandbox.
    for (const link of escapingSymlinks(dir, [DATA_ENTRY_FILE, INPUT_FILES_DIR, REWARD_DIR])) {
      addFileDiag(link.path, diag(AT_START, 'error', 'symlink-escape', link.message));
    }
  } catch (e) {
    folder.push(diag(AT_START, 'error', 'missing-file', `cannot read the task directory: ${(e as Error).message}`));
  }
  if (folder.length) reports.unshift({ file: dir, diagnostics: folder });
  for (const [file, diagnostics] of others) reports.push({ file, diagnostics });
  return task ? { task, reports } : { reports };
}

export interface DataEntryContext {
  /** The task folder's name, compared with `task_id`. */
  folderName?: string;
  /** Whether the task has a non-empty `input_files/`. */
  hasInputs?: boolean;
}

export interface DataEntryResult {
  /** The fields, when the text is valid enough to build a task from. */
  entry?: Omit<ClawGymTask, 'raw' | 'paths'>;
  diagnostics: Diagnostic[];
}

/**
 * Validate the text of a data_entry.json. The zod schema ({@link DataEntry}) decides what is valid;
 * this function maps its verdict onto spans in the text and adds the warnings the schema cannot
 * express (folder name, ignored inputs, unknown keys, very long queries).
 */
export function validateDataEntry(text: string, ctx: DataEntryContext = {}): DataEntryResult {
  const diagnostics: Diagnostic[] = [];
  try {
    const parsed = parseJson(text);
    if (!parsed.root) {
      const err = parsed.error!;
      diagnostics.push(diag(err.span, 'error', 'json-syntax', `invalid JSON: ${err.message}`));
      return { diagnostics };
    }
    const root = parsed.root;
    // The opening brace: where "the whole entry" problems point.
    const head: Span = { start: root.span.start, end: root.span.start + 1 };
    if (root.type !== 'object') {
      diagnostics.push(diag(firstLine(text, root.span), 'error', 'not-a-mapping', `\`${DATA_ENTRY_FILE}\` must hold a JSON object, found ${jsonTypeName(root)}`, []));
      return { diagnostics };
    }

    // Duplicate keys: JSON.parse and Python keep the last one silently; say which one counts.
    const seen = new Set<string>();
    for (const p of root.properties) {
      if (seen.has(p.key)) diagnostics.push(diag(p.keySpan, 'error', 'duplicate-key', `duplicate key \`${p.key}\`: readers silently keep the last one`, [p.key]));
      seen.add(p.key);
    }

    const value = jsonValue(root) as Record<string, unknown>;
    const result = DataEntry.safeParse(value);
    if (!result.success) {
      const missing: string[] = [];
      for (const issue of result.error.issues) {
        const key = issue.path[0];
        if (typeof key !== 'string') continue;
        const prop = jsonProperty(root, key);
        if (!prop) {
          missing.push(key);
          continue;
        }
        const expected = issue.code === 'invalid_type' ? issue.expected : undefined;
        if (expected) {
          const want = expected === 'record' || expected === 'object' ? 'an object' : `a ${expected}`;
          diagnostics.push(diag(prop.value.span, 'error', 'invalid-type', `\`${key}\` must be ${want}, found ${jsonTypeName(prop.value)}`, [key]));
        } else if (key === 'input_mount_dir' && prop.value.type === 'string' && hasParentSegment(prop.value.value)) {
          diagnostics.push(diag(prop.value.span, 'error', 'path-escape', issue.message, [key]));
        } else {
          diagnostics.push(diag(prop.value.span, 'error', 'invalid-value', issue.message, [key]));
        }
      }
      if (missing.length) {
        const names = missing.map((m) => `\`${m}\``).join(', ');
        diagnostics.push({
          span: head,
          severity: 'error',
          code: 'missing-field',
          message: `missing required field${missing.length > 1 ? 's' : ''} ${names}`,
          data: { path: [], missing },
        });
      }
    }

    // Warnings the schema does not express.
    const taskId = jsonProperty(root, 'task_id');
    if (taskId?.value.type === 'string' && ctx.folderName !== undefined && taskId.value.value !== ctx.folderName) {
      diagnostics.push({
        span: taskId.value.span,
        severity: 'warning',
        code: 'task-id-mismatch',
        message: `\`task_id\` is \`${taskId.value.value}\` but the folder is \`${ctx.folderName}\`; published tasks use the folder name`,
        data: { path: ['task_id'], suggestion: JSON.stringify(ctx.folderName) },
      });
    }
    const query = jsonProperty(root, 'user_query');
    if (query?.value.type === 'string' && query.value.value.length > USER_QUERY_MAX_CHARS) {
      diagnostics.push(
        diag(firstLine(text, query.value.span), 'warning', 'invalid-value', `\`user_query\` is ${query.value.value.length.toLocaleString('en-US')} characters long; expected at most ${USER_QUERY_MAX_CHARS.toLocaleString('en-US')}`, ['user_query']),
      );
    }
    if (ctx.hasInputs && !jsonProperty(root, 'input_mount_dir')) {
      diagnostics.push(diag(head, 'warning', 'inputs-ignored', '`input_files/` is not empty but `input_mount_dir` is absent, so the inputs would be ignored; add `"input_mount_dir": "/root/.openclaw/workspace"`', ['input_mount_dir']));
    }
    const known: readonly string[] = DATA_ENTRY_KEYS;
    for (const p of root.properties) {
      if (known.includes(p.key)) continue;
      const suggestion = didYouMean(p.key, known);
      diagnostics.push({
        span: p.keySpan,
        severity: 'warning',
        code: 'unknown-key',
        message: suggestion
          ? `unknown key \`${p.key}\`: did you mean \`${suggestion}\`?`
          : `unknown key \`${p.key}\`: ClawGym's harness ignores it (it is kept as is)`,
        data: suggestion ? { path: [p.key], suggestion: JSON.stringify(suggestion) } : { path: [p.key] },
      });
    }

    if (!result.success) return { diagnostics };
    const extra: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!known.includes(k)) extra[k] = v;
    const d = result.data;
    return {
      entry: {
        taskId: d.task_id,
        userQuery: d.user_query,
        metadata: d.metadata,
        ...(d.input_mount_dir !== undefined ? { inputMountDir: d.input_mount_dir } : {}),
        extra,
      },
      diagnostics,
    };
  } catch (e) {
    // Features never throw; a bug here must not hide the file's other problems.
    diagnostics.push(diag(AT_START, 'error', 'json-syntax', `internal error while validating: ${String(e)}`));
    return { diagnostics };
  }
}

/** A span clipped to the line it starts on (a long string must not underline the whole file). */
function firstLine(text: string, span: Span): Span {
  let end = span.start;
  while (end < span.end && text.charCodeAt(end) !== 10 && text.charCodeAt(end) !== 13) end++;
  return { start: span.start, end: Math.max(end, span.start) };
}

interface EscapingLink {
  path: string;
  message: string;
}

/**
 * Every symlink under the given entries of `dir` (the entries themselves included) whose target
 * is absolute or resolves outside `dir`. Links are reported, never followed while walking.
 */
function escapingSymlinks(dir: string, entries: string[]): EscapingLink[] {
  const out: EscapingLink[] = [];
  let realDir: string;
  try {
    realDir = fs.realpathSync(dir);
  } catch {
    return out;
  }
  const inside = (p: string): boolean => p === realDir || p.startsWith(realDir + nodePath.sep);
  const visit = (p: string, depth: number): void => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) {
      let target: string;
      try {
        target = fs.readlinkSync(p);
      } catch {
        return;
      }
      const rel = nodePath.relative(dir, p);
      if (nodePath.isAbsolute(target)) {
        out.push({ path: p, message: `symbolic link \`${rel}\` has an absolute target \`${target}\`, which leaves the task directory` });
        return;
      }
      let resolved: string;
      try {
        resolved = fs.realpathSync(p);
      } catch {
        // Dangling: judge the target lexically, from the link's real folder.
        resolved = nodePath.resolve(fs.realpathSync(nodePath.dirname(p)), target);
      }
      if (!inside(resolved)) out.push({ path: p, message: `symbolic link \`${rel}\` points outside the task directory (\`${target}\`)` });
      return;
    }
    if (st.isDirectory() && depth < 64) {
      let names: string[];
      try {
        names = fs.readdirSync(p).sort();
      } catch {
        return;
      }
      for (const n of names) visit(nodePath.join(p, n), depth + 1);
    }
  };
  for (const e of entries) visit(nodePath.join(dir, e), 0);
  return out;
}

/** Validate a ClawGym task directory: the diagnostics of {@link readClawGymTask}. */
export function validateClawGymTaskDir(dir: string): FileDiagnostics[] {
  return readClawGymTask(dir).reports;
}
