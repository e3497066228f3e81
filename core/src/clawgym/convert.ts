/**
 * Converting between ClawGym task directories and `.clawtask` files (`clawgym import`,
 * `clawgym export --format clawgym`).
 *
 * Import writes `<out>/<task_id>/<task_id>.clawtask` and copies the task directory's content beside
 * it byte for byte (`data_entry.json` included, so export can give back its exact text). Export
 * writes `<out>/<id>/` as a ClawGym task directory: `data_entry.json`, `input_files/` materialized
 * from the workspace, `reward/` (the reward script's folder, or a generated `reward.sh` +
 * `check.py` for tasks graded by checks) and `solution/solve.sh`.
 *
 * Both directions are self-checking: a converted task is loaded back with {@link loadTask} and
 * compared with the source (workspace bytes and modes, intent, metadata, grader, solution) before
 * it is moved into place, so a conversion either gives an equivalent task or reports why not.
 * Every task ends up in the report, converted or failed; output is written to a temporary folder
 * first, so a failure leaves nothing half-written.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { createTaskDocument } from '../language/documents';
import { nodeFileSystem } from '../language/fsHost';
import { stripExtensionKeys, validateTask } from '../language/diagnostics';
import { deepEqual } from '../language/diagnostics/evaluate';
import { Task, TaskId, type TaskModel } from '../model/schema';
import { MAX_SOURCE_FILE_BYTES, MAX_TASK_FILE_BYTES, readInputText } from '../input';
import { fromDirOf, HYBRID_WEIGHTS, inputMountPath, loadTask, readTaskFile, rubricFromMetadata, summarizeErrors, CLAWGYM_SOLUTION_SCRIPT, DEFAULT_VERIFIER_TIMEOUT_MS } from '../run/load';
import type { ResolvedTask, RubricModel } from '../run/types';
import type { SandboxFile } from '../sandbox/types';
import { parseTask, stringifyYaml } from '../syntax';
import { checkPySource, checkPySpec, rewardShSource } from './checkPy';
import { findTasks } from './find';
import { jsonProperty, parseJson, type JsonNode } from './json';
import { CLAWGYM_WORKSPACE } from './schema';
import { DATA_ENTRY_FILE, INPUT_FILES_DIR, isClawGymTaskDir, readClawGymTask, REWARD_DIR, REWARD_SCRIPT, validateDataEntry, type ClawGymTask, type FileDiagnostics } from './task';

export interface ConvertProgress {
  /** Tasks handled so far (this one included) and in all. */
  done: number;
  total: number;
  source: string;
  ok: boolean;
}

export interface ConvertOptions {
  /** Replace an existing `<out>/<id>/` (default: refuse, per task). */
  overwrite?: boolean;
  onProgress?: (p: ConvertProgress) => void;
}

export interface ConvertedTask {
  /** The source: a ClawGym task directory (import) or a `.clawtask` file (export). */
  source: string;
  id: string;
  /** The written folder, `<out>/<id>`. */
  dir: string;
  /** Import: the written `.clawtask` file. */
  file?: string;
  /** Things the user should know (validation warnings, settings ClawGym cannot express). */
  warnings: string[];
}

export interface ConvertFailure {
  /** The source path (as found), or the argument that named nothing. */
  source: string;
  id?: string;
  /** One line. */
  error: string;
  /** Diagnostics behind the error, when there are any. */
  reports?: FileDiagnostics[];
}

export interface ConvertReport {
  converted: ConvertedTask[];
  failed: ConvertFailure[];
}
export type ImportReport = ConvertReport;
export type ExportReport = ConvertReport;

class ConvertError extends Error {
  constructor(
    message: string,
    readonly reports?: FileDiagnostics[],
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** Names compared by code unit, not locale: the same order on every machine. */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function isInside(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(nodePath.sep) ? dir : dir + nodePath.sep);
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Copy a folder byte for byte: file bytes and permission bits, folder modes, empty folders, and
 * symlinks as symlinks (same target text), which must stay inside `src` (checked on the real
 * paths). `skip` names top-level entries to leave out.
 */
function copyTree(src: string, dst: string, skip: readonly string[] = []): void {
  const realSrc = fs.realpathSync(src);
  const walk = (from: string, to: string, top: boolean): void => {
    const st = fs.lstatSync(from);
    if (st.isSymbolicLink()) {
      const target = fs.readlinkSync(from);
      const rel = nodePath.relative(src, from);
      if (nodePath.isAbsolute(target)) throw new ConvertError(`symbolic link \`${rel}\` has an absolute target \`${target}\``);
      let real: string;
      try {
        real = fs.realpathSync(from);
      } catch {
        real = nodePath.resolve(fs.realpathSync(nodePath.dirname(from)), target);
      }
      if (!isInside(real, realSrc)) throw new ConvertError(`symbolic link \`${rel}\` points outside \`${src}\` (\`${target}\`)`);
      fs.symlinkSync(target, to);
    } else if (st.isDirectory()) {
      fs.mkdirSync(to);
      for (const name of fs.readdirSync(from).sort(byName)) {
        if (top && skip.includes(name)) continue;
        walk(nodePath.join(from, name), nodePath.join(to, name), false);
      }
      fs.chmodSync(to, st.mode & 0o777);
    } else if (st.isFile()) {
      fs.copyFileSync(from, to);
      fs.chmodSync(to, st.mode & 0o777);
    } else {
      throw new ConvertError(`\`${nodePath.relative(src, from)}\` is not a regular file, folder or symlink`);
    }
  };
  walk(src, dst, true);
}

/** A fresh temporary folder next to `dest` (same file system, so the final rename is atomic). */
function stagingDir(outDir: string, id: string): string {
  fs.mkdirSync(outDir, { recursive: true });
  return fs.mkdtempSync(nodePath.join(outDir, `.${id}.partial-`));
}

/** Move a finished staging folder to `dest`, replacing an old one only when allowed. */
function commit(staging: string, dest: string, overwrite: boolean): void {
  if (exists(dest)) {
    if (!overwrite) throw new ConvertError(`\`${dest}\` already exists (pass overwrite to replace it)`);
    fs.rmSync(dest, { recursive: true, force: true });
  }
  fs.renameSync(staging, dest);
}

/** Where a task's output goes; refuses outputs that overlap the source or exist without overwrite. */
function destination(outDir: string, id: string, sourceDir: string, overwrite: boolean): string {
  const dest = nodePath.join(outDir, id);
  const realSource = fs.realpathSync(sourceDir);
  const real = (p: string): string | undefined => {
    try {
      return fs.realpathSync(p);
    } catch {
      return undefined;
    }
  };
  // not there yet: compare through the resolved output folder
  const realDest = real(dest) ?? nodePath.join(real(outDir) ?? outDir, id);
  if (isInside(realDest, realSource) || isInside(realSource, realDest)) {
    throw new ConvertError(`the output \`${dest}\` overlaps the task's own folder \`${sourceDir}\`; choose another output folder`);
  }
  if (exists(dest) && !overwrite) throw new ConvertError(`\`${dest}\` already exists (pass overwrite to replace it)`);
  return dest;
}

function warningsOf(reports: readonly FileDiagnostics[]): string[] {
  return reports.flatMap((r) => r.diagnostics.filter((d) => d.severity !== 'error').map((d) => `${nodePath.basename(r.file)}: ${d.message} [${d.code}]`));
}

/** How two materialized workspaces differ, or undefined when `b` holds every entry of `a` exactly. */
function workspaceDifference(a: readonly SandboxFile[], b: readonly SandboxFile[], strict: boolean): string | undefined {
  const index = new Map(b.map((f) => [f.path, f]));
  for (const f of a) {
    const g = index.get(f.path);
    if (!g) return `\`${f.path}\` is missing`;
    if ((f.type ?? 'file') !== (g.type ?? 'file')) return `\`${f.path}\` changed type`;
    if ((f.mode ?? 0) !== (g.mode ?? 0)) return `\`${f.path}\` changed mode (${(f.mode ?? 0).toString(8)} -> ${(g.mode ?? 0).toString(8)})`;
    if ((f.type ?? 'file') === 'file' && !Buffer.from(f.content).equals(Buffer.from(g.content))) return `\`${f.path}\` changed content`;
  }
  const have = new Set(a.map((f) => f.path));
  for (const g of b) {
    if (have.has(g.path)) continue;
    // folders implied by a file's path are real folders in input_files/
    const implied = g.type === 'directory' && a.some((f) => f.path.startsWith(g.path + '/'));
    if (strict || !implied) return `\`${g.path}\` appeared`;
  }
  return undefined;
}

/** Every file of a folder (relative path -> bytes and mode), for comparing reward folders. */
function treeDigest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (abs: string, rel: string): void => {
    for (const name of fs.readdirSync(abs).sort(byName)) {
      const p = nodePath.join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) out.set(r, `link ${fs.readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.set(r, `dir ${(st.mode & 0o777).toString(8)}`);
        walk(p, r);
      } else out.set(r, `file ${(st.mode & 0o777).toString(8)} ${fs.readFileSync(p).toString('base64')}`);
    }
  };
  walk(dir, '');
  return out;
}

function runEach<T>(items: readonly T[], source: (t: T) => string, one: (t: T) => ConvertedTask, report: ConvertReport, options: ConvertOptions): void {
  items.forEach((item, i) => {
    let ok = false;
    try {
      report.converted.push(one(item));
      ok = true;
    } catch (e) {
      const err = e instanceof ConvertError ? e : undefined;
      report.failed.push({
        source: source(item),
        error: err ? err.message : `internal error: ${e instanceof Error ? e.message : String(e)}`,
        ...(err?.reports?.length ? { reports: err.reports } : {}),
      });
    }
    options.onProgress?.({ done: i + 1, total: items.length, source: source(item), ok });
  });
}

// ---------------------------------------------------------------------------------------------
// Import: ClawGym task directory -> .clawtask

/**
 * Import ClawGym task directories. `paths` are task directories, split folders holding them
 * (searched recursively), or `data_entry.json` files. Never throws for a task's problem: each one
 * is a `failed` entry.
 */
export function importClawGym(paths: readonly string[], outDir: string, options: ConvertOptions = {}): ImportReport {
  const report: ImportReport = { converted: [], failed: [] };
  const out = nodePath.resolve(outDir);
  const dirs: string[] = [];
  const seen = new Set<string>();
  for (const arg of paths) {
    const abs = nodePath.resolve(arg);
    if (!exists(abs)) {
      report.failed.push({ source: arg, error: 'path not found' });
      continue;
    }
    const found = findTasks([abs]).tasks.filter((t) => t.kind === 'clawgym');
    if (found.length === 0) {
      report.failed.push({ source: arg, error: fs.statSync(abs).isDirectory() ? 'no ClawGym task directories (with data_entry.json or reward/) found here' : 'not a ClawGym task directory' });
      continue;
    }
    for (const t of found) {
      if (seen.has(t.path)) continue;
      seen.add(t.path);
      dirs.push(t.path);
    }
  }
  const ids = new Map<string, string>();
  runEach(dirs, (d) => d, (dir) => importOne(dir, out, options, ids), report, options);
  return report;
}

function importOne(dir: string, outDir: string, options: ConvertOptions, ids: Map<string, string>): ConvertedTask {
  const read = readClawGymTask(dir);
  const refused = summarizeErrors(read.reports);
  if (refused || !read.task) throw new ConvertError(refused ?? `cannot read \`${DATA_ENTRY_FILE}\``, read.reports);
  const cg = read.task;
  const id = cg.taskId;
  if (!TaskId.safeParse(id).success) throw new ConvertError(`task_id \`${id}\` cannot be a .clawtask id (letters, digits, \`.\`, \`_\`, \`-\`, starting with a letter or digit)`);
  const previous = ids.get(id);
  if (previous !== undefined) throw new ConvertError(`task_id \`${id}\` was already imported from \`${previous}\``);
  ids.set(id, dir);
  const fileName = `${id}.clawtask`;
  if (exists(nodePath.join(dir, fileName))) throw new ConvertError(`the task directory already holds \`${fileName}\``);
  const dest = destination(outDir, id, dir, options.overwrite ?? false);

  const generated = clawtaskFromClawGym(cg);
  const warnings = [...warningsOf(read.reports), ...generated.warnings];
  const staging = stagingDir(outDir, id);
  try {
    fs.rmdirSync(staging);
    copyTree(dir, staging);
    const file = nodePath.join(staging, fileName);
    fs.writeFileSync(file, generated.text);

    // The .clawtask must validate where it now lives, and load to the same task as the directory.
    const doc = createTaskDocument(file, 0, generated.text);
    const diagnostics = validateTask(doc, nodeFileSystem);
    const vreports: FileDiagnostics[] = diagnostics.length ? [{ file: nodePath.join(dest, fileName), text: generated.text, diagnostics }] : [];
    const invalid = summarizeErrors(vreports);
    if (invalid) throw new ConvertError(`the generated .clawtask does not validate: ${invalid}`, vreports);
    warnings.push(...warningsOf(vreports));
    const mine = loadTask({ kind: 'clawtask', path: file });
    const theirs = loadTask({ kind: 'clawgym', path: dir });
    if (!theirs.task) throw new ConvertError(theirs.error ?? 'the task directory cannot be loaded', theirs.reports);
    if (!mine.task) throw new ConvertError(`the generated .clawtask cannot be loaded: ${mine.error}`, mine.reports);
    const diff = taskDifference(theirs.task, mine.task);
    if (diff) throw new ConvertError(`the imported task would differ from the original: ${diff}`);

    commit(staging, dest, options.overwrite ?? false);
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  return { source: dir, id, dir: dest, file: nodePath.join(dest, fileName), warnings };
}

/** The JSON tree as plain data whose objects are Maps (key order kept, even `"1"` before `"0"`). */
function orderedValue(node: JsonNode): unknown {
  switch (node.type) {
    case 'object': {
      const m = new Map<string, unknown>();
      for (const p of node.properties) {
        m.delete(p.key); // the last duplicate wins, at its own position (as JSON.parse does)
        m.set(p.key, orderedValue(p.value));
      }
      return m;
    }
    case 'array':
      return node.items.map(orderedValue);
    default:
      return node.value;
  }
}

/**
 * The `.clawtask` text for a ClawGym task: version 1, id, metadata (as is, key order kept), intent
 * (a block scalar with the exact text, or a quoted string where YAML cannot hold it as a block),
 * workspace root and from_dir, the reward script (with ClawGym's 120 s), the rubric rules, and
 * `solution/solve.sh` when present. An absolute `input_mount_dir` outside the workspace root
 * cannot be expressed (from_dir lands under the root) and is refused.
 */
export function clawtaskFromClawGym(cg: ClawGymTask): { text: string; warnings: string[] } {
  const warnings: string[] = [];
  const root = CLAWGYM_WORKSPACE;
  const workspace = new Map<string, unknown>([['root', root]]);
  if (cg.paths.inputFiles && cg.inputMountDir !== undefined) {
    const mount = inputMountPath(cg, root)!;
    if (mount === root) workspace.set('from_dir', INPUT_FILES_DIR);
    else if (mount.startsWith(root + '/')) {
      const to = cg.inputMountDir.startsWith('/') ? mount.slice(root.length + 1) : cg.inputMountDir;
      workspace.set('from_dir', new Map([['path', INPUT_FILES_DIR], ['to', to]]));
    } else {
      throw new ConvertError(`input_mount_dir \`${cg.inputMountDir}\` is outside the workspace root \`${root}\`: a .clawtask can only copy inputs under workspace.root`);
    }
  } else if (cg.paths.inputFiles && fs.readdirSync(cg.paths.inputFiles).length > 0) {
    warnings.push(`\`${INPUT_FILES_DIR}/\` is not used (no input_mount_dir), as in the original`);
  }

  const verifier = new Map<string, unknown>([
    ['timeout', '2m'],
    ['reward_script', REWARD_SCRIPT],
  ]);
  const rubric = rubricFromMetadata(cg.metadata, root);
  if (rubric.length) verifier.set('rubric', rubric.map(rubricItemValue));

  const parsed = parseJson(cg.raw);
  const metaNode = jsonProperty(parsed.root, 'metadata')?.value;
  const doc = new Map<string, unknown>([
    ['version', 1],
    ['id', cg.taskId],
    ['metadata', metaNode ? orderedValue(metaNode) : cg.metadata],
    ['intent', cg.userQuery],
    ['workspace', workspace],
    ['verifier', verifier],
  ]);
  if (exists(nodePath.join(cg.paths.dir, CLAWGYM_SOLUTION_SCRIPT))) doc.set('solution', new Map([['from', CLAWGYM_SOLUTION_SCRIPT]]));
  const text = stringifyYaml(doc, (path) => path.length === 1 && path[0] === 'intent');

  // The text must read back to the same intent and metadata (the importer's promise).
  const back = parseTask(text).value as Record<string, unknown> | null;
  if (!back || back.intent !== cg.userQuery) throw new ConvertError('internal error: the intent does not survive YAML (please report this task)');
  if (!deepEqual(back.metadata, cg.metadata)) throw new ConvertError('internal error: the metadata does not survive YAML (please report this task)');
  return { text, warnings };
}

function rubricItemValue(r: RubricModel): Map<string, unknown> {
  const m = new Map<string, unknown>([['id', r.id]]);
  if (r.file !== undefined) m.set('file', r.file);
  m.set('criterion', r.criterion);
  if (r.scores) m.set('scores', new Map(['0', '0.25', '0.5', '0.75', '1'].filter((k) => r.scores![k as '0'] !== undefined).map((k) => [k, r.scores![k as '0']])));
  return m;
}

/** What differs between two loaded tasks that should be the same task, or undefined. */
function taskDifference(a: ResolvedTask, b: ResolvedTask): string | undefined {
  if (a.id !== b.id) return `id \`${a.id}\` -> \`${b.id}\``;
  if (a.intent !== b.intent) return 'the intent text';
  if (!deepEqual(a.metadata, b.metadata)) return 'the metadata';
  if (a.root !== b.root) return `the root \`${a.root}\` -> \`${b.root}\``;
  const files = workspaceDifference(a.files, b.files, true);
  if (files) return `the workspace: ${files}`;
  const ra = a.verifier.rewardScript;
  const rb = b.verifier.rewardScript;
  if (!ra !== !rb || (ra && rb && (ra.script !== rb.script || ra.weight !== rb.weight || !deepEqual([...treeDigest(ra.hostDir)], [...treeDigest(rb.hostDir)])))) return 'the reward script or its folder';
  if (a.verifier.timeoutMs !== b.verifier.timeoutMs) return 'the verifier timeout';
  if (!deepEqual(a.verifier.rubric, b.verifier.rubric) || !deepEqual(a.verifier.weights, b.verifier.weights)) return 'the rubric';
  if (a.solution?.script !== b.solution?.script) return 'the solution';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Export: .clawtask -> ClawGym task directory

/**
 * Export `.clawtask` tasks as ClawGym task directories under `outDir`. `paths` are `.clawtask`
 * files or folders searched for them. Never throws for a task's problem: each one is a `failed`
 * entry with the reason.
 */
export function exportClawGym(clawtaskPaths: readonly string[], outDir: string, options: ConvertOptions = {}): ExportReport {
  const report: ExportReport = { converted: [], failed: [] };
  const out = nodePath.resolve(outDir);
  const files: string[] = [];
  const seen = new Set<string>();
  for (const arg of clawtaskPaths) {
    const abs = nodePath.resolve(arg);
    if (!exists(abs)) {
      report.failed.push({ source: arg, error: 'path not found' });
      continue;
    }
    const found = findTasks([abs]);
    const tasks = found.tasks.filter((t) => t.kind === 'clawtask');
    if (tasks.length === 0) {
      const isDir = fs.statSync(abs).isDirectory();
      report.failed.push({
        source: arg,
        error: isDir && isClawGymTaskDir(abs) ? 'already a ClawGym task directory (nothing to export)' : isDir ? 'no .clawtask files found here' : 'not a .clawtask file',
      });
      continue;
    }
    for (const t of tasks) {
      if (seen.has(t.path)) continue;
      seen.add(t.path);
      files.push(t.path);
    }
  }
  const ids = new Map<string, string>();
  runEach(files, (f) => f, (file) => exportOne(file, out, options, ids), report, options);
  return report;
}

/** Where the workspace goes in the exported directory: the mount (relative to the root, '' = root). */
function exportMount(model: TaskModel, task: ResolvedTask): { base: string } | undefined {
  const fromDir = fromDirOf(model.workspace);
  if (!fromDir && task.files.length === 0) return undefined;
  const to = fromDir ? fromDir.to.replace(/\\/g, '/').split('/').filter((s) => s !== '' && s !== '.').join('/') : '';
  if (to !== '') {
    // input_files/ can mirror `to` only when every file is below it; else it mirrors the root
    const prefix = `${task.root === '/' ? '' : task.root}/${to}`;
    if (task.files.every((f) => f.path === prefix || f.path.startsWith(prefix + '/'))) return { base: to };
  }
  return { base: '' };
}

function exportOne(file: string, outDir: string, options: ConvertOptions, ids: Map<string, string>): ConvertedTask {
  const loaded = loadTask({ kind: 'clawtask', path: file });
  if (!loaded.task) throw new ConvertError(loaded.error ?? 'the task cannot be loaded', loaded.reports);
  const task = loaded.task;
  const warnings = warningsOf(loaded.reports);
  const v = task.verifier;
  const id = task.id;

  // What a ClawGym task directory cannot express.
  if (v.checks.length === 0 && !v.rewardScript) {
    throw new ConvertError('the task has no checks and no reward script (only a rubric): a ClawGym task is graded by reward/reward.sh, so there is no code score to export');
  }
  if (v.checks.length > 0 && v.rewardScript) {
    throw new ConvertError('the task has both checks and a reward script: ClawGym runs one reward/reward.sh; export tasks with one or the other');
  }
  if (v.rewardScript && v.rewardScript.script !== 'reward.sh') {
    throw new ConvertError(`the reward script is \`${v.rewardScript.script}\`: ClawGym runs \`reward/reward.sh\`; rename it`);
  }
  if (task.setup.length) throw new ConvertError('workspace.setup has no place in a ClawGym task directory (no setup step); put its result in the workspace files instead');
  if (Object.keys(task.env).length) throw new ConvertError('workspace.env has no place in a ClawGym task directory (the harness sets no variables)');
  const previous = ids.get(id);
  if (previous !== undefined) throw new ConvertError(`id \`${id}\` was already exported from \`${previous}\``);
  ids.set(id, file);
  const dest = destination(outDir, id, task.baseDir, options.overwrite ?? false);

  // What it drops, said out loud.
  if (task.root !== CLAWGYM_WORKSPACE) warnings.push(`workspace.root \`${task.root}\` becomes \`${CLAWGYM_WORKSPACE}\` (paths relative to the root keep working; absolute ones in commands or scripts do not)`);
  if (task.image !== undefined) warnings.push(`workspace.image \`${task.image}\` is not kept (the harness picks the image)`);
  if (task.network !== 'none') warnings.push(`workspace.network \`${task.network}\` is not kept (the harness decides)`);
  if (Object.keys(task.resources).length) warnings.push('workspace.resources are not kept (the harness decides)');
  if (task.agent.maxSteps !== undefined || task.agent.timeoutMs !== undefined) warnings.push('agent limits are not kept (the harness decides)');
  if (v.passThreshold !== 1) warnings.push(`pass_threshold ${v.passThreshold} is not kept (ClawGym reports the reward only)`);
  if (v.timeoutMs !== DEFAULT_VERIFIER_TIMEOUT_MS) warnings.push(`the verifier timeout (${v.timeoutMs / 1000} s) becomes ClawGym's 120 s`);
  if (v.rubric.length && !deepEqual(v.weights, HYBRID_WEIGHTS)) warnings.push(`rubric weights ${v.weights.code}/${v.weights.rubric} become ClawGym's 0.7/0.3`);

  const read = readTaskFile(file);
  if ('report' in read) throw new ConvertError(read.report.diagnostics[0]?.message ?? 'cannot read the task file', [read.report]);
  const text = read.text;
  const model = Task.parse(stripExtensionKeys(parseTask(text).value));
  const mount = exportMount(model, task);

  // metadata, with the rubric as ClawGym rules when the metadata has none
  let metadata = task.metadata;
  if (v.rubric.length) {
    if (metadata.rule === undefined) {
      metadata = { ...metadata, rule: v.rubric.map((r) => ({ name: r.criterion, ...(r.file !== undefined ? { file_path: r.file } : {}), ...(r.scores ? { scores: r.scores } : {}) })) };
    } else if (!deepEqual(rubricFromMetadata(metadata), v.rubric)) {
      warnings.push('metadata.rule is exported as is, but it differs from verifier.rubric');
    }
  }
  const mountAbs = mount ? (mount.base === '' ? CLAWGYM_WORKSPACE : `${CLAWGYM_WORKSPACE}/${mount.base}`) : undefined;
  const dataEntry = dataEntryText(task, metadata, mount, mountAbs, warnings);

  const staging = stagingDir(outDir, id);
  try {
    fs.writeFileSync(nodePath.join(staging, DATA_ENTRY_FILE), dataEntry);
    // input_files/
    if (mount) {
      const inputs = nodePath.join(staging, INPUT_FILES_DIR);
      fs.mkdirSync(inputs);
      const base = `${task.root === '/' ? '' : task.root}${mount.base ? `/${mount.base}` : ''}`;
      const dirModes: [string, number][] = [];
      for (const f of task.files) {
        const rel = nodePath.posix.relative(base, f.path);
        const abs = rel === '' ? inputs : nodePath.join(inputs, ...rel.split('/'));
        if (f.type === 'directory') {
          fs.mkdirSync(abs, { recursive: true });
          dirModes.push([abs, f.mode ?? 0o755]);
        } else {
          fs.mkdirSync(nodePath.dirname(abs), { recursive: true });
          fs.writeFileSync(abs, f.content);
          fs.chmodSync(abs, f.mode ?? 0o644);
        }
      }
      // deepest first, so a read-only folder does not block writing its children
      for (const [abs, mode] of dirModes.reverse()) fs.chmodSync(abs, mode);
    }
    // reward/
    const reward = nodePath.join(staging, REWARD_DIR);
    if (v.rewardScript) {
      copyTree(v.rewardScript.hostDir, reward);
    } else {
      const spec = checkPySpec(v.checks, v.timeoutMs, (from) => readFixture(task.baseDir, from));
      if ('error' in spec) throw new ConvertError(spec.error);
      fs.mkdirSync(reward);
      const weights = Object.fromEntries(v.checks.map((c) => [String((c as { id: unknown }).id), typeof (c as { weight?: unknown }).weight === 'number' ? ((c as { weight: number }).weight) : 1]));
      fs.writeFileSync(nodePath.join(reward, 'reward.sh'), rewardShSource(id, weights), { mode: 0o644 });
      fs.writeFileSync(nodePath.join(reward, 'check.py'), checkPySource(id, spec), { mode: 0o644 });
    }
    // solution/solve.sh: the file as is when it is one, else the inline script
    if (task.solution) {
      const solve = nodePath.join(staging, ...CLAWGYM_SOLUTION_SCRIPT.split('/'));
      fs.mkdirSync(nodePath.dirname(solve));
      if (model.solution?.from !== undefined) {
        const src = nodePath.resolve(task.baseDir, model.solution.from);
        fs.copyFileSync(src, solve);
        fs.chmodSync(solve, fs.statSync(src).mode & 0o777);
      } else {
        fs.writeFileSync(solve, task.solution.script, { mode: 0o755 });
      }
    }

    // The directory must load to the same task.
    const back = loadTask({ kind: 'clawgym', path: staging });
    if (!back.task) throw new ConvertError(`the exported directory cannot be loaded: ${back.error}`, back.reports);
    const moved = task.files.map((f) => ({ ...f, path: CLAWGYM_WORKSPACE + f.path.slice(task.root === '/' ? 0 : task.root.length) }));
    const files = workspaceDifference(moved, back.task.files, false);
    if (files) throw new ConvertError(`the exported workspace would differ: ${files}`);
    if (back.task.intent !== task.intent) throw new ConvertError('the exported user_query would differ from the intent');
    if (back.task.solution?.script !== task.solution?.script) throw new ConvertError('the exported solution would differ');

    commit(staging, dest, options.overwrite ?? false);
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  return { source: file, id, dir: dest, warnings };
}

/** A `file_equals.from` fixture, which must stay inside the task's folder. */
function readFixture(baseDir: string, from: string): string {
  const base = fs.realpathSync(baseDir);
  const real = fs.realpathSync(nodePath.resolve(baseDir, from));
  if (!isInside(real, base)) throw new Error('it leaves the task\'s folder');
  const got = readInputText(real, { maxBytes: MAX_SOURCE_FILE_BYTES });
  if (!got.ok) throw new Error(got.message);
  return got.text;
}

/**
 * data_entry.json: the exact text of the one beside the `.clawtask` when it agrees with the task
 * (the lossless round trip), else a generated one (2-space JSON, the format's key order).
 */
function dataEntryText(task: ResolvedTask, metadata: Record<string, unknown>, mount: { base: string } | undefined, mountAbs: string | undefined, warnings: string[]): string {
  const beside = nodePath.join(task.baseDir, DATA_ENTRY_FILE);
  const read = fs.existsSync(beside) ? readInputText(beside, { maxBytes: MAX_TASK_FILE_BYTES }) : undefined;
  const text = read?.ok ? read.text : undefined;
  if (text !== undefined) {
    const entry = validateDataEntry(text).entry;
    const disagree = !entry
      ? 'it is not valid'
      : entry.taskId !== task.id
        ? 'task_id'
        : entry.userQuery !== task.intent
          ? 'user_query'
          : !deepEqual(entry.metadata, metadata)
            ? 'metadata'
            : mount && inputMountPath(entry) !== mountAbs
              ? 'input_mount_dir'
              : undefined;
    if (!disagree) return text;
    warnings.push(`the ${DATA_ENTRY_FILE} beside the task was not used (${disagree === 'it is not valid' ? disagree : `its ${disagree} differs from the task`}); a new one was generated`);
  }
  const out: Record<string, unknown> = { task_id: task.id, user_query: task.intent, metadata };
  if (mount) out.input_mount_dir = mount.base === '' ? CLAWGYM_WORKSPACE : mount.base;
  return JSON.stringify(out, null, 2) + '\n';
}
