/**
 * What the agent changed: the initial workspace (the files the runner put in) against the
 * verifier's snapshot of the root after the agent ended. Written to a run folder as
 * `workspace.diff` (unified, text files) and summarized in the trial's result.
 */
import type { SandboxEntry, SandboxFile } from '../sandbox/types';

export interface WorkspaceChange {
  path: string;
  change: 'added' | 'removed' | 'modified' | 'type-changed';
  /** Sizes in bytes before/after, where there was a file. */
  before?: number;
  after?: number;
}

export interface WorkspaceDiff {
  changes: WorkspaceChange[];
  /** Unified diff text of text files (binary and huge files get a one-line note). */
  unified: string;
}

/** Text files bigger than this are not diffed line by line. */
const MAX_DIFF_BYTES = 512 * 1024;
/** Above this many differing lines the diff says "too many changes" (memory grows with its square). */
const MAX_EDIT_LINES = 2_000;

function relativeToRoot(path: string, root: string): string | undefined {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
}

function isText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8000);
  for (let i = 0; i < n; i++) if (bytes[i] === 0) return false;
  return true;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

type Node = { type: 'file' | 'directory' | 'symlink' | 'other'; content?: Uint8Array; size: number; linkTarget?: string };

/** Compare the initial files (absolute sandbox paths) under `root` with a snapshot of `root`. */
export function diffWorkspace(initial: readonly SandboxFile[], root: string, snapshot: readonly SandboxEntry[]): WorkspaceDiff {
  const before = new Map<string, Node>();
  for (const f of initial) {
    const rel = relativeToRoot(f.path, root);
    if (rel === undefined || rel === '') continue;
    before.set(rel, f.type === 'directory' ? { type: 'directory', size: 0 } : { type: 'file', content: f.content, size: f.content.length });
  }
  const after = new Map<string, Node>();
  for (const e of snapshot) after.set(e.path, { type: e.type, content: e.content, size: e.size, linkTarget: e.linkTarget });

  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changes: WorkspaceChange[] = [];
  let unified = '';
  for (const path of paths) {
    const a = before.get(path);
    const b = after.get(path);
    if (a?.type === 'directory' && (!b || b.type === 'directory')) {
      if (!b) changes.push({ path, change: 'removed' });
      continue;
    }
    if (!a && b?.type === 'directory') continue; // a new folder shows through its files
    if (!a && b) {
      changes.push({ path, change: 'added', after: b.size });
      unified += fileDiff(path, undefined, b);
    } else if (a && !b) {
      changes.push({ path, change: 'removed', before: a.size });
      unified += fileDiff(path, a, undefined);
    } else if (a && b) {
      if (a.type !== b.type) {
        changes.push({ path, change: 'type-changed', before: a.size, after: b.size });
        unified += fileDiff(path, a, b);
      } else if (a.content && b.content ? !equalBytes(a.content, b.content) : a.size !== b.size) {
        changes.push({ path, change: 'modified', before: a.size, after: b.size });
        unified += fileDiff(path, a, b);
      }
    }
  }
  return { changes, unified };
}

function describe(node: Node): string {
  if (node.type === 'symlink') return `symlink -> ${node.linkTarget ?? '?'}`;
  if (node.type !== 'file') return node.type;
  return `${node.size} bytes`;
}

function fileDiff(path: string, a: Node | undefined, b: Node | undefined): string {
  const header = `--- ${a ? `a/${path}` : '/dev/null'}\n+++ ${b ? `b/${path}` : '/dev/null'}\n`;
  const textOf = (n: Node | undefined): string | undefined | null => {
    if (!n) return '';
    if (n.type !== 'file') return null;
    if (!n.content) return null; // over the snapshot's per-file cap
    if (n.content.length > MAX_DIFF_BYTES || !isText(n.content)) return null;
    return Buffer.from(n.content).toString('utf8');
  };
  const ta = textOf(a);
  const tb = textOf(b);
  if (ta === null || tb === null || ta === undefined || tb === undefined) {
    return `${header}@@ not a text diff: ${a ? describe(a) : 'absent'} -> ${b ? describe(b) : 'absent'} @@\n`;
  }
  const body = unifiedHunks(splitLines(ta), splitLines(tb));
  return body ? header + body : '';
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += '\n\\ No newline at end of file';
  return lines;
}

type Op = { kind: ' ' | '-' | '+'; line: string };

/** Myers' O(ND) line diff, then unified hunks with 3 lines of context. */
export function unifiedHunks(a: readonly string[], b: readonly string[], context = 3): string {
  const ops = editScript(a, b);
  if (ops === undefined) return `@@ too many changes to show (${a.length} -> ${b.length} lines) @@\n`;
  if (!ops.some((o) => o.kind !== ' ')) return '';
  let out = '';
  let i = 0;
  // Positions (1-based line numbers) at each op.
  const aLine: number[] = [];
  const bLine: number[] = [];
  let la = 1;
  let lb = 1;
  for (const o of ops) {
    aLine.push(la);
    bLine.push(lb);
    if (o.kind !== '+') la++;
    if (o.kind !== '-') lb++;
  }
  while (i < ops.length) {
    if (ops[i].kind === ' ') {
      i++;
      continue;
    }
    const start = Math.max(0, i - context);
    let end = i;
    // Extend while the next change is within 2*context lines.
    for (;;) {
      while (end < ops.length && ops[end].kind !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next].kind === ' ' && next - end < 2 * context) next++;
      if (next < ops.length && ops[next].kind !== ' ' && next - end <= 2 * context) end = next;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    const slice = ops.slice(start, stop);
    const aCount = slice.filter((o) => o.kind !== '+').length;
    const bCount = slice.filter((o) => o.kind !== '-').length;
    const aStart = aCount === 0 ? aLine[start] - 1 : aLine[start];
    const bStart = bCount === 0 ? bLine[start] - 1 : bLine[start];
    out += `@@ -${aStart},${aCount} +${bStart},${bCount} @@\n`;
    for (const o of slice) out += `${o.kind}${o.line}\n`;
    i = stop;
  }
  return out;
}

function editScript(a: readonly string[], b: readonly string[]): Op[] | undefined {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const v = new Int32Array(2 * max + 2);
  // trace[d] keeps v for diagonals -d-1..d+1 only (what backtracking reads): O(D^2) memory.
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(max - d - 1 < 0 ? 0 : max - d - 1, max + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[max + k - 1] < v[max + k + 1]) ? v[max + k + 1] : v[max + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[max + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
    if (found) break;
    if (d > MAX_EDIT_LINES) return undefined;
  }
  // Backtrack.
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const slice = trace[d];
    const base = max - d - 1 < 0 ? -max : -d - 1; // the diagonal at slice[0]
    const at = (kk: number): number => slice[kk - base];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ kind: ' ', line: a[x - 1] });
      x--;
      y--;
    }
    if (d > 0) {
      if (x === prevX) ops.push({ kind: '+', line: b[y - 1] });
      else ops.push({ kind: '-', line: a[x - 1] });
    }
    x = prevX;
    y = prevY;
  }
  return ops.reverse();
}
