/**
 * Grading an agent cannot touch: what happens between the end of the agent phase and the first
 * verifier file entering a sandbox.
 *
 *   1. Quiesce: every process of the agent phase is killed and reaped (`Sandbox.quiesce`): in
 *      Docker by the session's supervisor, which no agent process can trace, or else by stopping
 *      the container.
 *   2. Look: the engine's diff of the container's file system (`Sandbox.changes`, computed by the
 *      engine, not by anything in the sandbox) is read. Changes outside the workspace are sorted
 *      into those that cannot affect grading (data in /tmp, an agent's own state), those that can
 *      (programs, libraries, Python's import path, loader configuration) and tampering (the
 *      grader's interpreters, Python's standard library, sitecustomize, ld.so.preload).
 *   3. Decide: when nothing that can affect grading changed and the quiesce was clean, grade in the
 *      agent's sandbox (the ClawGym way: identical rewards); otherwise in a fresh sandbox from the
 *      image holding a copy of the agent's workspace (`SandboxBackend.createGrader`).
 *
 * The decision and what led to it are the trial's `integrity`; tampering makes the trial
 * unsolved with reward 0 (the grade it would have had is kept for the record).
 */
import type { FileSystemChange, QuiesceReport, Sandbox, SandboxBackend } from '../sandbox/types';

export interface TrialIntegrity {
  /** Where the verifier ran. */
  gradedIn: 'agent-sandbox' | 'fresh-sandbox';
  /** Why grading moved to a fresh sandbox (absent when it did not). */
  why?: string;
  /** How the agent phase was ended. */
  quiesce: Pick<QuiesceReport, 'killed' | 'clean' | 'stopped' | 'detail'> | { unsupported: string };
  /** Changes outside the workspace the engine reported; null when the backend cannot tell. */
  outsideChanges: number | null;
  /** Those that can affect grading (at most 50 listed). */
  relevantChanges: string[];
  /** Evidence that the agent worked against the harness; non-empty: not solved, reward 0. */
  tampering: string[];
  /** The verifier's files were unchanged after grading (null: nothing ran in a sandbox). */
  verifierFilesIntact: boolean | null;
  /** The reward the verifier computed, when tampering zeroed the trial's. */
  gradedReward?: number;
}

const LISTED = 50;

/** Directories on the default PATH: what a grader's `bash`, `python3` or `env` resolves to. */
const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
/** Programs the graders run (reward.sh, check.py, command checks, the runner). */
const GRADER_PROGRAMS = /^(python3?(\.\d+)?|bash|sh|dash|env|timeout)$/;
/** Top-level trees whose content programs, libraries and their configuration come from. */
const SYSTEM_TREES = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt'];
/** In a home directory: what Python (user site) or a shell reads at start-up. */
const HOME_ENTRIES = ['.local', '.bashrc', '.bash_profile', '.bash_login', '.profile', '.pythonrc', '.pythonrc.py'];

/** Put there by the engine, not the agent: its init (bind-mounted) and the files it manages. */
const ENGINE_FILES = ['/usr/sbin/docker-init', '/.dockerenv', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf', '/etc/mtab'];

function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

function homeEntry(path: string): boolean {
  const m = /^(\/root|\/home\/[^/]+)\/([^/]+)/.exec(path);
  return m !== null && HOME_ENTRIES.includes(m[2]!);
}

export interface ClassifiedChanges {
  /** Outside the workspace (and its ancestors, and the sandbox's mounts). */
  outside: FileSystemChange[];
  /** Of those, the ones that can change what a grader does. */
  relevant: FileSystemChange[];
  /** Of those, the ones no honest agent makes: the grader's own interpreter and start-up hooks. */
  tampering: string[];
}

/** Sort the engine's diff (see the module comment). */
export function classifyChanges(changes: readonly FileSystemChange[], root: string, mounts: readonly string[] = []): ClassifiedChanges {
  const outside: FileSystemChange[] = [];
  const relevant: FileSystemChange[] = [];
  const tampering: string[] = [];
  // A directory is "modified" when something below it changed: that change is listed itself.
  const ancestors = new Set<string>();
  for (const c of changes) {
    for (let i = c.path.lastIndexOf('/'); i > 0; i = c.path.lastIndexOf('/', i - 1)) ancestors.add(c.path.slice(0, i));
  }
  for (const c of changes) {
    const p = c.path;
    if (under(p, root) || ENGINE_FILES.includes(p) || ['/dev', '/proc', '/sys'].some((d) => under(p, d))) continue;
    if (c.kind === 'modified' && (ancestors.has(p) || under(root, p) || mounts.some((m) => under(m, p)))) continue;
    if (mounts.some((m) => under(p, m))) continue;
    outside.push(c);
    const base = p.slice(p.lastIndexOf('/') + 1);
    const hook = base === 'sitecustomize.py' || base === 'usercustomize.py' || base.endsWith('.pth');
    const isRelevant = SYSTEM_TREES.some((t) => under(p, t)) || homeEntry(p) || hook;
    if (!isRelevant) continue;
    relevant.push(c);
    const dir = p.slice(0, p.lastIndexOf('/')) || '/';
    if (PATH_DIRS.includes(dir) && GRADER_PROGRAMS.test(base)) tampering.push(`${p} (a program the graders run) was ${c.kind}`);
    else if (p === '/etc/ld.so.preload') tampering.push(`${p} (preloaded into every program) was ${c.kind}`);
    else if (base === 'sitecustomize.py' || base === 'usercustomize.py') tampering.push(`${p} (run by every Python start) was ${c.kind}`);
    else if (/^\/usr(\/local)?\/lib\/python3[^/]*\/(?!site-packages\/|dist-packages\/).+\.(py|pyc|so)$/.test(p)) {
      tampering.push(`${p} (Python's standard library) was ${c.kind}`);
    } else if (/^\/(usr\/)?lib(32|64|x32)?\/([^/]+\/)?(ld-linux[^/]*|libc\.so[^/]*)$/.test(p)) tampering.push(`${p} (the C library or the loader) was ${c.kind}`);
  }
  return { outside, relevant, tampering };
}

export interface SecuredGrading {
  /** The sandbox to grade in: the agent's, or a fresh one the caller must dispose. */
  sandbox: Sandbox;
  fresh: boolean;
  integrity: TrialIntegrity;
}

/**
 * Steps 1 to 3 of the module comment. Throws only for cancellation and when no sandbox to grade
 * in can be had (the trial is then an error, not a wrong answer).
 */
export async function secureGrading(options: {
  backend: SandboxBackend;
  sandbox: Sandbox;
  root: string;
  signal?: AbortSignal;
  /** Grade in a fresh sandbox whatever the diff says. */
  forceFresh?: boolean;
  log: (line: string) => void;
}): Promise<SecuredGrading> {
  const { backend, sandbox, root, signal, log } = options;
  const integrity: TrialIntegrity = {
    gradedIn: 'agent-sandbox',
    quiesce: { unsupported: `the ${backend.name} backend cannot end the agent phase` },
    outsideChanges: null,
    relevantChanges: [],
    tampering: [],
    verifierFilesIntact: null,
  };
  const reasons: string[] = [];
  let stopped = false;
  let clean = false;
  if (!sandbox.quiesce) {
    log(`integrity: the ${backend.name} backend cannot end the agent phase: processes the agent left may still run`);
  } else {
    const q = await sandbox.quiesce(signal ? { signal } : {});
    integrity.quiesce = { killed: q.killed, clean: q.clean, stopped: q.stopped, detail: q.detail };
    integrity.tampering.push(...q.tampering);
    stopped = q.stopped;
    clean = q.clean;
    log(`integrity: agent phase ended: ${q.detail}${q.clean ? '' : ' (NOT clean)'}`);
    if (!q.clean) reasons.push(`the agent's processes could not all be killed (${q.detail})`);
    else if (q.stopped) reasons.push(q.detail);
  }
  if (sandbox.changes) {
    const mounts = (sandbox.spec.mounts ?? []).map((m) => m.containerPath);
    const c = classifyChanges(await sandbox.changes(signal ? { signal } : {}), root, mounts);
    integrity.outsideChanges = c.outside.length;
    integrity.relevantChanges = c.relevant.slice(0, LISTED).map((x) => `${x.kind} ${x.path}`);
    integrity.tampering.push(...c.tampering);
    if (c.relevant.length > 0) {
      const shown = c.relevant.slice(0, 3).map((x) => x.path).join(', ');
      reasons.push(`the agent changed what graders can run (${c.relevant.length} change${c.relevant.length === 1 ? '' : 's'}: ${shown}${c.relevant.length > 3 ? ', ...' : ''})`);
    }
    log(`integrity: ${c.outside.length} change(s) outside the workspace, ${c.relevant.length} that can affect grading`);
  }
  for (const t of integrity.tampering) log(`integrity: ! tampering: ${t}`);
  if (options.forceFresh) reasons.push('fresh grading was asked for');
  if (reasons.length === 0) return { sandbox, fresh: false, integrity };
  if (!backend.createGrader) {
    if (stopped) throw new Error(`cannot grade: ${reasons.join('; ')}, and the ${backend.name} backend cannot grade in a fresh sandbox`);
    // e.g. the local backend without isolation and without a keeper: said, not hidden
    integrity.why = `${reasons.join('; ')} (graded in place${sandbox.quiesce && !clean ? ', so NOT guaranteed free of the agent\'s processes' : ''}: the ${backend.name} backend has no fresh grading sandbox)`;
    return { sandbox, fresh: false, integrity };
  }
  integrity.gradedIn = 'fresh-sandbox';
  integrity.why = reasons.join('; ');
  log(`integrity: grading in a fresh sandbox: ${integrity.why}`);
  const grader = await backend.createGrader(sandbox, root, signal ? { signal } : {});
  return { sandbox: grader, fresh: true, integrity };
}
