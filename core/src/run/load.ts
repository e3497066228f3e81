/**
 * Loading a task for running: a `.clawtask` file or a ClawGym task directory becomes a
 * {@link ResolvedTask} with its initial workspace materialized byte for byte.
 *
 * A `.clawtask` file is validated with the language engine first (the same diagnostics the editor
 * and `clawgym validate` show); any error refuses the task. A ClawGym directory is read with
 * {@link readClawGymTask}; its errors refuse it too.
 *
 * Folders copied into the workspace (`from_dir`, ClawGym `input_files/`) are walked on the real
 * disk, whatever `options.host` is (the host only answers the validator's stat/readDir questions):
 * - every directory becomes a `type: 'directory'` entry (so empty folders and folder modes
 *   survive), every regular file its exact bytes with its permission bits (`mode & 0o777`);
 * - names are kept as they are (spaces, dot-files, deep paths), in code-unit sorted order;
 * - a symbolic link that stays inside the copied folder is copied as what it points to (a file's
 *   bytes and mode, a folder's tree); a link that leaves the folder, dangles or loops is an error,
 *   and its target is never read. The sandbox gets no symlinks from a task: a link that is fine on
 *   the author's machine could point anywhere inside the container;
 * - sockets, FIFOs and devices are errors, as are names that are not valid UTF-8.
 * The same rule (stay inside the task's folder) applies to `from` files, the reward script's folder
 * and the solution file. Every file is read through input.ts: a regular file under its cap
 * ({@link MAX_TASK_FILE_BYTES} for the task file, {@link MAX_SOURCE_FILE_BYTES} for each file copied
 * in), checked before it is read; a task file must be valid UTF-8.
 *
 * With `contents: false` nothing but the task file is read: the same checks run on what stat says,
 * so `clawgym validate` reports every file problem (symlinks included) that `run` refuses.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { DATA_ENTRY_FILE, readClawGymTask, type ClawGymTask, type FileDiagnostics } from '../clawgym/task';
import type { TaskEntry } from '../clawgym/find';
import { CLAWGYM_WORKSPACE } from '../clawgym/schema';
import { createTaskDocument } from '../language/documents';
import { nodeFileSystem } from '../language/fsHost';
import { stripExtensionKeys, validateTask } from '../language/diagnostics';
import type { Diagnostic, DiagnosticCode, FileSystemHost } from '../language/types';
import { DEFAULT_WORKSPACE_ROOT, DURATION_RE, SIZE_RE, Task, type TaskModel } from '../model/schema';
import { checkInputStat, describeFileType, inputProblemCode, inputProblemReport, MAX_SOURCE_FILE_BYTES, MAX_TASK_FILE_BYTES, readInputBytes, readInputText } from '../input';
import { LineIndex } from '../syntax';
import type { SandboxFile, SandboxResources } from '../sandbox/types';
import type { ResolvedTask, ResolvedVerifier, RubricModel } from './types';

export interface LoadOptions {
  /** Answers the validator's stat/readDir questions (default: the real disk). Bytes are always read from disk. */
  host?: FileSystemHost;
  /**
   * Default true. False: check every file the task names (kind, cap, symlinks) without reading it;
   * the task's files then have empty contents (for validation only).
   */
  contents?: boolean;
}

export interface LoadResult {
  /** The task, unless it was refused. */
  task?: ResolvedTask;
  /** Diagnostics per file (warnings too, also when the task loads). */
  reports: FileDiagnostics[];
  /** A one-line summary when the task was refused. */
  error?: string;
}

/** The verifier's default time limit (ClawGym's harness gives reward.sh 120 s). */
export const DEFAULT_VERIFIER_TIMEOUT_MS = 120_000;
/** The ClawGym solution script, beside `reward/` (our extension; Harbor uses the same name). */
export const CLAWGYM_SOLUTION_SCRIPT = 'solution/solve.sh';
/** The authors' hybrid blend, used when a task has a rubric and no explicit weights. */
export const HYBRID_WEIGHTS = { code: 0.7, rubric: 0.3 } as const;
/** Caps on a materialized workspace: a task folder is small; a huge one is a mistake. */
export const MAX_WORKSPACE_ENTRIES = 100_000;
export const MAX_WORKSPACE_BYTES = 512 * 1024 * 1024;

/** Load one task found by `findTasks`. Never throws. */
export function loadTask(entry: TaskEntry, options: LoadOptions = {}): LoadResult {
  try {
    return entry.kind === 'clawtask' ? loadClawtask(nodePath.resolve(entry.path), options) : loadClawGymDir(nodePath.resolve(entry.path), options);
  } catch (e) {
    // Only a bug lands here; say so instead of throwing into the runner.
    const message = `internal error while loading the task: ${e instanceof Error ? e.message : String(e)}`;
    return { reports: [{ file: entry.path, diagnostics: [atStart('error', 'missing-file', message)] }], error: `${entry.path}: ${message}` };
  }
}

// ---------------------------------------------------------------------------------------------
// Durations and sizes

/** Milliseconds of a schema `Duration` (`30s`, `15m`, `1h`, `500ms`, or seconds). */
export function parseDuration(v: string | number): number {
  if (typeof v === 'number') return v * 1000;
  const m = DURATION_RE.exec(v.trim());
  if (!m) throw new Error(`invalid duration ${JSON.stringify(v)}`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(n * unit);
}

/** Bytes of a schema `Size` (`512m`, `2g`, `1.5GiB`, or bytes). Units are binary, as Docker reads them. */
export function parseSize(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = SIZE_RE.exec(v.trim());
  if (!m) throw new Error(`invalid size ${JSON.stringify(v)}`);
  const power = m[2] ? 'kmgt'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.round(Number(m[1]) * 1024 ** power);
}

// ---------------------------------------------------------------------------------------------
// Problems

class Problems {
  readonly byFile = new Map<string, Diagnostic[]>();
  add(file: string, code: DiagnosticCode, message: string): void {
    const list = this.byFile.get(file) ?? [];
    list.push(atStart('error', code, message));
    this.byFile.set(file, list);
  }
  get size(): number {
    return this.byFile.size;
  }
  reports(): FileDiagnostics[] {
    return [...this.byFile].map(([file, diagnostics]) => ({ file, diagnostics }));
  }
}

function atStart(severity: Diagnostic['severity'], code: DiagnosticCode, message: string): Diagnostic {
  return { span: { start: 0, end: 0 }, severity, code, message };
}

/** `file:line:col: message (and N more errors)` for the first error of the reports. */
export function summarizeErrors(reports: readonly FileDiagnostics[]): string | undefined {
  let first: string | undefined;
  let count = 0;
  for (const r of reports) {
    const index = r.text !== undefined ? new LineIndex(r.text) : undefined;
    for (const d of r.diagnostics) {
      if (d.severity !== 'error') continue;
      count++;
      if (first !== undefined) continue;
      const p = index ? index.positionAt(d.span.start) : undefined;
      first = `${r.file}${p ? `:${p.line + 1}:${p.character + 1}` : ''}: ${d.message} [${d.code}]`;
    }
  }
  if (first === undefined) return undefined;
  return count > 1 ? `${first} (and ${count - 1} more error${count > 2 ? 's' : ''})` : first;
}

// ---------------------------------------------------------------------------------------------
// Paths on disk

/** Whether `p` (absolute) is `dir` or below it. */
function isInside(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(nodePath.sep) ? dir : dir + nodePath.sep);
}

/**
 * Resolve a task-relative path and make sure it exists and stays inside `baseDir` once symlinks
 * are resolved. Returns the absolute path, or undefined after adding a problem.
 */
function resolveInside(baseDir: string, rel: string, want: 'file' | 'dir', what: string, problems: Problems, reportAs: string): string | undefined {
  const abs = nodePath.resolve(baseDir, rel);
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    problems.add(reportAs, 'from-missing', `${what} \`${rel}\` does not exist (or is a dangling symbolic link)`);
    return undefined;
  }
  if (!isInside(real, fs.realpathSync(baseDir))) {
    problems.add(reportAs, 'symlink-escape', `${what} \`${rel}\` resolves to \`${real}\`, outside the task's folder`);
    return undefined;
  }
  const st = fs.statSync(real);
  if (want === 'file') {
    const bad = checkInputStat(st, { path: real, label: `${what} \`${rel}\``, maxBytes: MAX_SOURCE_FILE_BYTES });
    if (bad) {
      problems.add(reportAs, inputProblemCode(bad.kind), bad.message);
      return undefined;
    }
  }
  if (want === 'dir' && !st.isDirectory()) {
    problems.add(reportAs, 'from-missing', `${what} \`${rel}\` is not a folder`);
    return undefined;
  }
  return abs;
}

/** Names compared by code unit, not locale: the same order on every machine. */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export interface MaterializeResult {
  files: SandboxFile[];
  /** Problems, each about a host path (symlink escapes, special files, caps). */
  problems: { path: string; code: DiagnosticCode; message: string }[];
  totalBytes: number;
}

/**
 * Read a host folder into sandbox entries under `sandboxDir` (absolute POSIX), byte for byte (see
 * the module comment for the rules). The folder itself is not an entry. Never throws.
 */
export function materializeDir(hostDir: string, sandboxDir: string, options: { contents?: boolean } = {}): MaterializeResult {
  const read = options.contents ?? true;
  const files: SandboxFile[] = [];
  const problems: MaterializeResult['problems'] = [];
  let totalBytes = 0;
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(hostDir);
  } catch (e) {
    problems.push({ path: hostDir, code: 'from-missing', message: `cannot read the folder: ${(e as Error).message}` });
    return { files, problems, totalBytes };
  }
  const problem = (path: string, code: DiagnosticCode, message: string): void => {
    problems.push({ path, code, message });
  };
  let capped = false;
  const visit = (abs: string, rel: string, ancestors: Set<string>): void => {
    let names: string[];
    try {
      names = fs.readdirSync(abs).sort(byName);
    } catch (e) {
      problem(abs, 'from-missing', `cannot list \`${rel || '.'}\`: ${(e as Error).message}`);
      return;
    }
    for (const name of names) {
      if (capped) return;
      const p = nodePath.join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      if (name.includes('\uFFFD')) {
        problem(p, 'invalid-value', `\`${r}\`: the file name is not valid UTF-8, so it cannot be copied exactly`);
        continue;
      }
      let st: fs.Stats;
      let real = p;
      try {
        const lst = fs.lstatSync(p);
        st = lst;
        if (lst.isSymbolicLink()) {
          const target = fs.readlinkSync(p);
          try {
            real = fs.realpathSync(p);
          } catch {
            const lexical = nodePath.resolve(nodePath.dirname(p), target);
            if (nodePath.isAbsolute(target) || !isInside(lexical, hostDir)) {
              problem(p, 'symlink-escape', `symbolic link \`${r}\` points outside the copied folder (\`${target}\`)`);
            } else {
              problem(p, 'from-missing', `symbolic link \`${r}\` is dangling (\`${target}\` does not exist)`);
            }
            continue;
          }
          if (!isInside(real, realRoot)) {
            problem(p, 'symlink-escape', `symbolic link \`${r}\` points outside the copied folder (\`${target}\`)`);
            continue;
          }
          st = fs.statSync(real);
        }
      } catch (e) {
        problem(p, 'from-missing', `cannot read \`${r}\`: ${(e as Error).message}`);
        continue;
      }
      const sandboxPath = nodePath.posix.join(sandboxDir, r);
      if (files.length >= MAX_WORKSPACE_ENTRIES) {
        problem(hostDir, 'invalid-value', `the folder holds more than ${MAX_WORKSPACE_ENTRIES.toLocaleString('en-US')} entries`);
        capped = true;
        return;
      }
      if (st.isDirectory()) {
        let realDir: string;
        try {
          realDir = real === p ? fs.realpathSync(p) : real;
        } catch (e) {
          problem(p, 'from-missing', `cannot read \`${r}\`: ${(e as Error).message}`);
          continue;
        }
        if (ancestors.has(realDir)) {
          problem(p, 'symlink-escape', `symbolic link \`${r}\` makes a loop (it points to a folder that contains it)`);
          continue;
        }
        files.push({ path: sandboxPath, content: new Uint8Array(0), mode: st.mode & 0o777, type: 'directory' });
        visit(p, r, new Set([...ancestors, realDir]));
      } else if (st.isFile()) {
        totalBytes += st.size;
        if (totalBytes > MAX_WORKSPACE_BYTES) {
          problem(hostDir, 'invalid-value', `the folder holds more than ${MAX_WORKSPACE_BYTES / 1024 / 1024} MiB`);
          capped = true;
          return;
        }
        if (!read) {
          const bad = checkInputStat(st, { path: real, label: `\`${r}\``, maxBytes: MAX_SOURCE_FILE_BYTES });
          if (bad) problem(p, inputProblemCode(bad.kind), bad.message);
          else files.push({ path: sandboxPath, content: new Uint8Array(0), mode: st.mode & 0o777 });
          continue;
        }
        // Checked again on the open file: it may have been swapped for a FIFO since the stat.
        const got = readInputBytes(real, { label: `\`${r}\``, maxBytes: MAX_SOURCE_FILE_BYTES });
        if (!got.ok) {
          problem(p, inputProblemCode(got.kind), got.message);
          continue;
        }
        files.push({ path: sandboxPath, content: toBytes(got.bytes), mode: st.mode & 0o777 });
      } else {
        problem(p, 'special-file', `\`${r}\` is ${describeFileType(st)}, not a regular file or folder (it cannot be copied)`);
      }
    }
  };
  visit(hostDir, '', new Set([realRoot]));
  return { files, problems, totalBytes };
}

/**
 * Merge workspace entries: a later file replaces an earlier one at the same path (inline `files`
 * win over `from_dir`), keeping the first position so the order stays stable. A file where a
 * folder is (or below a file) cannot be built: that is a problem, reported against `reportAs`.
 */
function mergeEntries(lists: SandboxFile[][], problems: Problems, reportAs: string, root: string): SandboxFile[] {
  const at = new Map<string, number>();
  const out: SandboxFile[] = [];
  const rel = (p: string): string => nodePath.posix.relative(root, p) || '.';
  for (const list of lists) {
    for (const f of list) {
      const i = at.get(f.path);
      if (i === undefined) {
        at.set(f.path, out.length);
        out.push(f);
      } else if ((out[i]!.type ?? 'file') !== (f.type ?? 'file')) {
        problems.add(reportAs, 'invalid-value', `workspace path \`${rel(f.path)}\` is both a file and a folder (\`workspace.files\` and \`from_dir\` disagree)`);
      } else out[i] = f;
    }
  }
  for (const f of out) {
    for (let d = nodePath.posix.dirname(f.path); d !== '/' && d !== '.'; d = nodePath.posix.dirname(d)) {
      const i = at.get(d);
      if (i !== undefined && (out[i]!.type ?? 'file') === 'file') {
        problems.add(reportAs, 'invalid-value', `workspace path \`${rel(f.path)}\` is below \`${rel(d)}\`, which is a file`);
        break;
      }
    }
  }
  return out;
}

function toBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

// ---------------------------------------------------------------------------------------------
// .clawtask

/** The two forms of `workspace.from_dir`, as one. `to` is relative to the root ('' = the root). */
export function fromDirOf(ws: TaskModel['workspace']): { path: string; to: string } | undefined {
  const v = ws?.from_dir as unknown;
  if (typeof v === 'string') return { path: v, to: '' };
  if (v && typeof v === 'object' && typeof (v as { path?: unknown }).path === 'string') {
    const o = v as { path: string; to?: unknown };
    return { path: o.path, to: typeof o.to === 'string' ? o.to : '' };
  }
  return undefined;
}

/** An absolute sandbox path under `root` for a workspace-relative path. */
function underRoot(root: string, rel: string): string {
  return nodePath.posix.join(root, rel.replace(/\\/g, '/')).replace(/(.)\/+$/, '$1');
}

/**
 * Read a task file (`.clawtask`) as text: a regular file under {@link MAX_TASK_FILE_BYTES}, valid
 * UTF-8, without its byte-order mark (editors drop it; columns must agree with them). A file that
 * cannot be read is a report instead (an encoding error at the first bad byte).
 */
export function readTaskFile(file: string): { text: string } | { report: FileDiagnostics } {
  const r = readInputText(file, { maxBytes: MAX_TASK_FILE_BYTES, label: 'the file' });
  if (!r.ok) return { report: inputProblemReport(file, r) };
  return { text: r.text.charCodeAt(0) === 0xfeff ? r.text.slice(1) : r.text };
}

function loadClawtask(file: string, options: LoadOptions): LoadResult {
  const read = readTaskFile(file);
  if ('report' in read) return { reports: [read.report], error: summarizeErrors([read.report]) };
  const text = read.text;
  const contents = options.contents ?? true;
  const doc = createTaskDocument(file, 0, text);
  const diagnostics = validateTask(doc, options.host ?? nodeFileSystem);
  const reports: FileDiagnostics[] = diagnostics.length ? [{ file, text, diagnostics }] : [];
  const refused = summarizeErrors(reports);
  if (refused) return { reports, error: refused };

  const parsed = Task.safeParse(stripExtensionKeys(doc.parsed.value));
  if (!parsed.success) {
    // The validator reports everything the schema rejects; landing here is a bug, but say what.
    const issue = parsed.error.issues[0];
    const message = `the task does not match the format: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown reason'}`;
    return { reports: [...reports, { file, diagnostics: [atStart('error', 'invalid-value', message)] }], error: `${file}: ${message}` };
  }
  const model = parsed.data;
  const baseDir = nodePath.dirname(file);
  const problems = new Problems();
  const ws = model.workspace;
  const root = nodePath.posix.normalize(ws?.root ?? DEFAULT_WORKSPACE_ROOT).replace(/(.)\/+$/, '$1');

  // from_dir first, then the listed files over it.
  const lists: SandboxFile[][] = [];
  const fromDir = fromDirOf(ws);
  if (fromDir) {
    const abs = resolveInside(baseDir, fromDir.path, 'dir', '`workspace.from_dir`', problems, file);
    if (abs) {
      const target = underRoot(root, fromDir.to);
      const m = materializeDir(abs, target, { contents });
      for (const p of m.problems) problems.add(p.path, p.code, p.message);
      const self: SandboxFile[] = target !== root ? [{ path: target, content: new Uint8Array(0), mode: fs.statSync(abs).mode & 0o777, type: 'directory' }] : [];
      lists.push([...self, ...m.files]);
    }
  }
  const listed: SandboxFile[] = [];
  for (const [key, entry] of Object.entries(ws?.files ?? {})) {
    const path = underRoot(root, key);
    if (typeof entry === 'string') {
      listed.push({ path, content: toBytes(Buffer.from(entry, 'utf8')), mode: 0o644 });
      continue;
    }
    const abs = resolveInside(baseDir, entry.from, 'file', `\`workspace.files\` entry \`${key}\`: \`from\``, problems, file);
    if (!abs) continue;
    const mode = entry.mode !== undefined ? parseInt(entry.mode, 8) : 0o644;
    if (!contents) {
      listed.push({ path, content: new Uint8Array(0), mode });
      continue;
    }
    const got = readInputBytes(abs, { label: `\`workspace.files\` entry \`${key}\`: \`from\` \`${entry.from}\``, maxBytes: MAX_SOURCE_FILE_BYTES });
    if (!got.ok) {
      problems.add(file, inputProblemCode(got.kind), got.message);
      continue;
    }
    listed.push({ path, content: toBytes(got.bytes), mode });
  }
  lists.push(listed);

  const v = model.verifier;
  let rewardScript: ResolvedVerifier['rewardScript'];
  if (v.reward_script !== undefined) {
    const abs = resolveInside(baseDir, v.reward_script, 'file', '`verifier.reward_script`', problems, file);
    if (abs) {
      const hostDir = nodePath.dirname(abs);
      checkFolderLinks(hostDir, 'the reward script\'s folder', problems);
      rewardScript = { hostDir, script: nodePath.basename(abs), weight: v.reward_weight ?? 1 };
    }
  }
  let solution: ResolvedTask['solution'];
  if (model.solution?.script !== undefined) {
    solution = { script: model.solution.script, origin: `${file} (solution.script)` };
  } else if (model.solution?.from !== undefined) {
    const abs = resolveInside(baseDir, model.solution.from, 'file', '`solution.from`', problems, file);
    if (abs) solution = readSolution(abs, '`solution.from`', problems, file, contents);
  }

  const files = mergeEntries(lists, problems, file, root);
  if (problems.size) {
    const all = [...reports, ...problems.reports()];
    return { reports: all, error: summarizeErrors(all) };
  }

  const rubric = v.rubric ?? [];
  const resources: SandboxResources = {};
  if (ws?.resources?.cpus !== undefined) resources.cpus = ws.resources.cpus;
  if (ws?.resources?.memory !== undefined) resources.memoryBytes = parseSize(ws.resources.memory);
  if (ws?.resources?.pids !== undefined) resources.pids = ws.resources.pids;
  const agent: ResolvedTask['agent'] = {};
  if (model.agent?.max_steps !== undefined) agent.maxSteps = model.agent.max_steps;
  if (model.agent?.timeout !== undefined) agent.timeoutMs = parseDuration(model.agent.timeout);

  const task: ResolvedTask = {
    id: model.id,
    source: { kind: 'clawtask', path: file },
    baseDir,
    intent: model.intent,
    metadata: model.metadata ?? {},
    root,
    ...(ws?.image !== undefined ? { image: ws.image } : {}),
    files,
    setup: ws?.setup === undefined ? [] : typeof ws.setup === 'string' ? [ws.setup] : [...ws.setup],
    env: Object.fromEntries(Object.entries(ws?.env ?? {}).map(([k, x]) => [k, String(x)])),
    network: ws?.network ?? 'none',
    resources,
    agent,
    verifier: {
      timeoutMs: v.timeout !== undefined ? parseDuration(v.timeout) : DEFAULT_VERIFIER_TIMEOUT_MS,
      passThreshold: v.pass_threshold ?? 1,
      checks: v.checks ?? [],
      ...(rewardScript ? { rewardScript } : {}),
      rubric,
      weights: v.weights ?? (rubric.length ? { ...HYBRID_WEIGHTS } : { code: 1, rubric: 0 }),
    },
    ...(solution ? { solution } : {}),
  };
  return { task, reports };
}

/** Report symlinks under a folder that leave it (the folder is copied into the sandbox whole). */
function checkFolderLinks(dir: string, what: string, problems: Problems): void {
  for (const p of materializeDir(dir, '/', { contents: false }).problems) {
    if (p.code === 'symlink-escape') problems.add(p.path, p.code, `${what}: ${p.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// ClawGym task directories

/**
 * The rubric of a ClawGym task: `metadata.rule` items `{name, file_path, scores}` become rubric
 * entries (id from the name, criterion = the name, the five score bands kept). Anything else in
 * `rule` is ignored here (metadata itself is passed through untouched).
 */
export function rubricFromMetadata(metadata: Record<string, unknown>, root: string = CLAWGYM_WORKSPACE): RubricModel[] {
  const rules = metadata.rule;
  if (!Array.isArray(rules)) return [];
  const out: RubricModel[] = [];
  const used = new Set<string>();
  rules.forEach((rule: unknown, i) => {
    if (!rule || typeof rule !== 'object' || Array.isArray(rule)) return;
    const r = rule as Record<string, unknown>;
    const name = typeof r.name === 'string' ? r.name.trim() : '';
    let id = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60).replace(/-+$/, '') || `rule-${i + 1}`;
    if (used.has(id)) {
      let n = 2;
      while (used.has(`${id}-${n}`)) n++;
      id = `${id}-${n}`;
    }
    used.add(id);
    const item: RubricModel = { id, criterion: name || `Rule ${i + 1}` };
    if (typeof r.file_path === 'string' && r.file_path !== '') {
      const fp = r.file_path;
      const rootSlash = root.replace(/\/+$/, '') + '/';
      if (!fp.startsWith('/')) item.file = fp;
      else if (fp.startsWith(rootSlash)) item.file = fp.slice(rootSlash.length);
      // an absolute path outside the workspace cannot be a rubric file: name it in the criterion
      else item.criterion = `${item.criterion} (file: ${fp})`;
    }
    if (r.scores && typeof r.scores === 'object' && !Array.isArray(r.scores)) {
      const scores: NonNullable<RubricModel['scores']> = {};
      for (const band of ['0', '0.25', '0.5', '0.75', '1'] as const) {
        const s = (r.scores as Record<string, unknown>)[band];
        if (typeof s === 'string') scores[band] = s;
      }
      if (Object.keys(scores).length) item.scores = scores;
    }
    out.push(item);
  });
  return out;
}

/** Where `input_files/` goes in the sandbox (absolute), or undefined when the task has no inputs. */
export function inputMountPath(task: Pick<ClawGymTask, 'inputMountDir'>, root: string = CLAWGYM_WORKSPACE): string | undefined {
  const m = task.inputMountDir;
  if (m === undefined) return undefined;
  return nodePath.posix.normalize(m.startsWith('/') ? m : nodePath.posix.join(root, m)).replace(/(.)\/+$/, '$1');
}

/** A solution script: text under the source cap (empty without `contents`), or a problem. */
function readSolution(abs: string, what: string, problems: Problems, reportAs: string, contents: boolean): ResolvedTask['solution'] {
  if (!contents) return { script: '', origin: abs };
  const got = readInputText(abs, { label: what, maxBytes: MAX_SOURCE_FILE_BYTES });
  if (!got.ok) {
    problems.add(reportAs, inputProblemCode(got.kind), got.message);
    return undefined;
  }
  return { script: got.text, origin: abs };
}

function loadClawGymDir(dir: string, options: LoadOptions): LoadResult {
  const contents = options.contents ?? true;
  const read = readClawGymTask(dir);
  const reports = read.reports;
  const refused = summarizeErrors(reports);
  if (refused) return { reports, error: refused };
  if (!read.task) {
    const message = `cannot read \`${DATA_ENTRY_FILE}\``;
    return { reports, error: `${dir}: ${message}` };
  }
  const cg = read.task;
  const root = CLAWGYM_WORKSPACE;
  const problems = new Problems();

  let files: SandboxFile[] = [];
  const mount = inputMountPath(cg, root);
  if (mount !== undefined && cg.paths.inputFiles) {
    const m = materializeDir(cg.paths.inputFiles, mount, { contents });
    for (const p of m.problems) problems.add(p.path, p.code, p.message);
    const self: SandboxFile[] = mount !== root ? [{ path: mount, content: new Uint8Array(0), mode: fs.statSync(cg.paths.inputFiles).mode & 0o777, type: 'directory' }] : [];
    files = [...self, ...m.files];
  }
  checkFolderLinks(cg.paths.rewardDir, '`reward/`', problems);

  let solution: ResolvedTask['solution'];
  const solve = nodePath.join(dir, CLAWGYM_SOLUTION_SCRIPT);
  if (fs.existsSync(solve) || isSymlink(solve)) {
    const abs = resolveInside(dir, CLAWGYM_SOLUTION_SCRIPT, 'file', 'the solution', problems, solve);
    if (abs) solution = readSolution(abs, 'the solution', problems, solve, contents);
  }
  if (problems.size) {
    const all = [...reports, ...problems.reports()];
    return { reports: all, error: summarizeErrors(all) };
  }

  const rubric = rubricFromMetadata(cg.metadata, root);
  const task: ResolvedTask = {
    id: cg.taskId,
    source: { kind: 'clawgym', path: dir },
    baseDir: dir,
    intent: cg.userQuery,
    metadata: cg.metadata,
    root,
    files,
    setup: [],
    env: {},
    network: 'none',
    resources: {},
    agent: {},
    verifier: {
      timeoutMs: DEFAULT_VERIFIER_TIMEOUT_MS,
      passThreshold: 1,
      checks: [],
      rewardScript: { hostDir: cg.paths.rewardDir, script: 'reward.sh', weight: 1 },
      rubric,
      weights: rubric.length ? { ...HYBRID_WEIGHTS } : { code: 1, rubric: 0 },
    },
    ...(solution ? { solution } : {}),
  };
  return { task, reports };
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
