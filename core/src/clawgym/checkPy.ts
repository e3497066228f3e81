/**
 * Exporting `.clawtask` checks to a ClawGym grader: `reward/reward.sh` in the authors' style plus a
 * `reward/check.py` (Python standard library; PyYAML only for `.yaml` files in `json` checks) that
 * implements our check kinds and prints one JSON object `{check_id: score}`.
 *
 * The semantics follow the verifier (`core/src/verifier/`, `language/diagnostics/evaluate.ts`):
 * file checks run first, on the workspace as the agent left it, then `command` and `python` checks;
 * reward.sh then takes the weighted mean with the task's weights. Where Python differs from
 * JavaScript, the difference is closed here when that is cheap and documented otherwise
 * (docs/clawtask-format.md, "Import and export"):
 * - regular expressions (`file_matches`, `stdout_matches`) are JavaScript's: {@link jsRegexToPython}
 *   rewrites them into Python `re` syntax with the same meaning for `.`, `^`, `$`, `\d`, `\w`,
 *   `\s`, `\b`, named groups and identity escapes; `\p{...}` and `\cX` cannot be exported;
 * - YAML files are read with PyYAML, restricted to YAML 1.2 booleans and no timestamps (the `yaml`
 *   package reads 1.2); other YAML 1.1 forms (`0o17`, `1:20`) may still read differently.
 */
import type { CheckModel } from '../run/types';
import { compileGlob, globToRegexSource, isGlob, normalizeRelPath } from '../language/diagnostics/evaluate';
import { CHECK_KIND_NAMES, type CheckKind } from '../model/schema';
import { parseDuration } from '../run/load';

export interface PythonRegex {
  pattern: string;
  /** `re` flag names: IGNORECASE, DOTALL. */
  flags: string[];
}

const LINE_TERMINATORS = '\\n\\r\\u2028\\u2029';
const WORD = 'A-Za-z0-9_';
const SPACE = '\\t\\n\\u000b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/**
 * Rewrite a JavaScript regular expression (as `new RegExp(pattern, flags)` reads it, flags from
 * `imsu`) into Python `re` syntax with the same meaning. Returns an error for constructs Python
 * cannot express.
 */
export function jsRegexToPython(pattern: string, flags = ''): PythonRegex | { error: string } {
  const multiline = flags.includes('m');
  const dotAll = flags.includes('s');
  const unicode = flags.includes('u');
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined) return { error: 'the pattern ends with a lone backslash' };
      i++;
      if (n === 'p' || n === 'P') {
        if (unicode) return { error: `\`\\${n}{...}\` (Unicode property classes) has no equivalent in Python's re` };
        out += n; // without `u`, JavaScript reads `\p` as `p`
      } else if (n === 'c') {
        const letter = pattern[i + 1];
        if (!letter || !/[A-Za-z]/.test(letter)) return { error: '`\\c` without a control letter cannot be exported' };
        out += `\\x${(letter.charCodeAt(0) % 32).toString(16).padStart(2, '0')}`;
        i++;
      } else if (n === 'k' && !inClass && pattern[i + 1] === '<') {
        const close = pattern.indexOf('>', i);
        if (close < 0) return { error: 'unterminated `\\k<name>`' };
        out += `(?P=${pattern.slice(i + 2, close)})`;
        i = close;
      } else if (n === 'u' && pattern[i + 1] === '{' && unicode) {
        const close = pattern.indexOf('}', i);
        const hex = close > 0 ? pattern.slice(i + 2, close) : '';
        if (!/^[0-9a-fA-F]{1,6}$/.test(hex)) return { error: 'invalid `\\u{...}` escape' };
        out += `\\U${hex.padStart(8, '0')}`;
        i = close;
      } else if (n === 'd') out += inClass ? '0-9' : '[0-9]';
      else if (n === 'w') out += inClass ? WORD : `[${WORD}]`;
      else if (n === 's') out += inClass ? SPACE : `[${SPACE}]`;
      else if (n === 'D' && !inClass) out += '[^0-9]';
      else if (n === 'W' && !inClass) out += `[^${WORD}]`;
      else if (n === 'S' && !inClass) out += `[^${SPACE}]`;
      else if (n === 'b' && !inClass) out += `(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`;
      else if (n === 'B' && !inClass) out += `(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`;
      else if (n === 'b') out += '\\x08'; // in a class, JavaScript's \b is a backspace
      else if ('DWSfnrtvxu0123456789'.includes(n)) out += `\\${n}`;
      else if (/[A-Za-z]/.test(n)) out += n; // an identity escape (`\a` is `a`); Python would read a control character or fail
      else out += `\\${n}`;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c === '[' ? '\\[' : c;
      continue;
    }
    if (c === '[') {
      // JavaScript's empty classes; Python would read a leading `]` as a member
      if (pattern.startsWith('[^]', i)) {
        out += '[\\s\\S]';
        i += 2;
      } else if (pattern.startsWith('[]', i)) {
        out += '(?!)';
        i += 1;
      } else {
        inClass = true;
        out += '[';
        if (pattern[i + 1] === '^') {
          out += '^';
          i++;
        }
      }
      continue;
    }
    if (c === '{' || c === '}') {
      // a quantifier only in JavaScript's own form (`{2}`, `{2,}`, `{2,5}`): Python also reads `{,5}`
      const q = c === '{' ? /^\{\d+(,\d*)?\}/.exec(pattern.slice(i)) : null;
      if (q) {
        out += q[0];
        i += q[0].length - 1;
      } else out += `\\${c}`;
      continue;
    }
    if (c === '(' && pattern.startsWith('(?<', i) && pattern[i + 3] !== '=' && pattern[i + 3] !== '!') {
      out += '(?P<';
      i += 2;
    } else if (c === '.') out += dotAll ? '.' : `[^${LINE_TERMINATORS}]`;
    else if (c === '$') out += multiline ? `(?=[${LINE_TERMINATORS}]|\\Z)` : '\\Z';
    else if (c === '^') out += multiline ? `(?<![^${LINE_TERMINATORS}])` : '^';
    else out += c;
  }
  if (inClass) return { error: 'unterminated character class' };
  const pyFlags: string[] = [];
  if (flags.includes('i')) pyFlags.push('IGNORECASE');
  if (dotAll) pyFlags.push('DOTALL');
  return { pattern: out, flags: pyFlags };
}

/** One check as check.py reads it. */
export type PyCheck = { id: string; kind: CheckKind; timeout: number } & Record<string, unknown>;

/** A workspace path or glob, as check.py needs it: the normalized path, or the glob's regex. */
function pathSpec(p: string): { path: string } | { glob: string; path: string } | { error: string } {
  if (!isGlob(p)) return { path: normalizeRelPath(p) };
  const source = globToRegexSource(p);
  if (source === undefined || !compileGlob(p)) return { error: `\`${p}\` is not a valid glob` };
  // globToRegexSource's output uses only syntax Python reads the same way; drop the anchors, check.py uses fullmatch
  return { glob: source.slice(1, -1), path: p };
}

/**
 * The spec check.py runs: one entry per check, in the task's order. `fixtures` supplies the text of
 * `file_equals.from` files (relative to the task's folder). Errors name the check.
 */
export function checkPySpec(checks: readonly CheckModel[], verifierTimeoutMs: number, fixtures: (from: string) => string): { checks: PyCheck[] } | { error: string } {
  const out: PyCheck[] = [];
  for (const check of checks) {
    const c = check as Record<string, unknown>;
    const id = String(c.id);
    const kind = CHECK_KIND_NAMES.find((k) => c[k] !== undefined);
    if (!kind) return { error: `check \`${id}\` has no check kind` };
    const timeout = (c.timeout !== undefined ? parseDuration(c.timeout as string | number) : verifierTimeoutMs) / 1000;
    const v = c[kind];
    const base = { id, kind, timeout };
    const withPath = pathSpec;
    const regex = (pattern: string, flags: string | undefined, what: string): PythonRegex | { error: string } => {
      const r = jsRegexToPython(pattern, flags ?? '');
      return 'error' in r ? { error: `check \`${id}\`: ${what} /${pattern}/ cannot be exported: ${r.error}` } : r;
    };
    switch (kind) {
      case 'file_exists':
      case 'file_absent': {
        const s = withPath(v as string);
        if ('error' in s) return { error: `check \`${id}\`: ${String(s.error)}` };
        out.push({ ...base, ...s });
        break;
      }
      case 'file_matches': {
        const f = v as { path: string; pattern: string; flags?: string };
        const s = withPath(f.path);
        if ('error' in s) return { error: `check \`${id}\`: ${String(s.error)}` };
        const r = regex(f.pattern, f.flags, 'the pattern');
        if ('error' in r) return r;
        out.push({ ...base, ...s, regex: r, source: f.pattern });
        break;
      }
      case 'file_equals': {
        const f = v as { path: string; text?: string; from?: string };
        const s = withPath(f.path);
        if ('error' in s) return { error: `check \`${id}\`: ${String(s.error)}` };
        let text: string;
        try {
          text = f.text ?? fixtures(f.from!);
        } catch (e) {
          return { error: `check \`${id}\`: cannot read \`${f.from}\`: ${(e as Error).message}` };
        }
        out.push({ ...base, ...s, text });
        break;
      }
      case 'json': {
        const f = v as { path: string; query: string; equals?: unknown; type?: string; between?: [number, number] };
        const s = withPath(f.path);
        if ('error' in s) return { error: `check \`${id}\`: ${String(s.error)}` };
        out.push({
          ...base,
          ...s,
          query: f.query,
          ...(f.equals !== undefined ? { equals: f.equals } : {}),
          ...(f.type !== undefined ? { type: f.type } : {}),
          ...(f.between !== undefined ? { between: f.between } : {}),
        });
        break;
      }
      case 'csv': {
        const f = v as { path: string; columns?: string[]; rows?: number; where?: Record<string, unknown> };
        const s = withPath(f.path);
        if ('error' in s) return { error: `check \`${id}\`: ${String(s.error)}` };
        out.push({ ...base, ...s, ...(f.columns ? { columns: f.columns } : {}), ...(f.rows !== undefined ? { rows: f.rows } : {}), ...(f.where ? { where: f.where } : {}) });
        break;
      }
      case 'command': {
        const entry: PyCheck = { ...base, command: v as string, exit_code: typeof c.exit_code === 'number' ? c.exit_code : 0 };
        if (typeof c.stdout_matches === 'string') {
          const r = regex(c.stdout_matches, '', '`stdout_matches`');
          if ('error' in r) return r;
          entry.stdout_regex = r;
          entry.source = c.stdout_matches;
        }
        out.push(entry);
        break;
      }
      case 'python':
        out.push({ ...base, python: v as string });
        break;
    }
  }
  return { checks: out };
}

/** `check.py` for a spec: the program below with the spec embedded as JSON. */
export function checkPySource(taskId: string, spec: { checks: PyCheck[] }): string {
  const json = JSON.stringify(spec, null, 1);
  // A raw triple-quoted string keeps the JSON readable; JSON never holds `'''` unescaped except inside
  // strings, where the escaped form below is used instead.
  const literal = json.includes("'''") ? JSON.stringify(json) : `r'''${json}'''`;
  return CHECK_PY.replace('__TASK_ID__', taskId).replace('__SPEC__', () => literal);
}

/** `reward.sh` in the authors' style, with the checks' weights (the authors' script is the all-1 case). */
export function rewardShSource(taskId: string, weights: Record<string, number>): string {
  return REWARD_SH.replace('__TASK_ID__', taskId).replace('__WEIGHTS__', () => JSON.stringify(weights));
}

const REWARD_SH = `#!/usr/bin/env bash
# ClawGym reward entry point, generated by \`clawgym export\` from __TASK_ID__.clawtask: grade the
# workspace with check.py (beside this script) and print the weighted mean of the values of the JSON
# object it prints (the .clawtask's check weights; booleans count 0/1) as the last line of stdout.
# Any failure prints 0.0, so the harness always reads a number.
set -u

WORKSPACE="\${OPENCLAW_WORKSPACE:-/root/.openclaw/workspace}"
REWARD_DIR="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"

RESULT="$(cd "$WORKSPACE" 2>/dev/null && python3 "$REWARD_DIR/check.py" "$WORKSPACE" 2>/dev/null)" || true

python3 - "$RESULT" <<'PY'
import json
import math
import sys

WEIGHTS = __WEIGHTS__

try:
    scores = json.loads(sys.argv[1])
except ValueError:
    print(0.0)
    sys.exit(0)
if not isinstance(scores, dict) or not scores:
    print(0.0)
    sys.exit(0)
total = 0.0
weight = 0.0
for key, value in scores.items():
    w = float(WEIGHTS.get(key, 1))
    if isinstance(value, bool):
        v = 1.0 if value else 0.0
    elif isinstance(value, (int, float)) and math.isfinite(value):
        v = min(1.0, max(0.0, float(value)))
    else:
        v = 0.0
    total += w * v
    weight += w
print(round(total / weight, 6) if weight > 0 else 0.0)
PY
`;

const CHECK_PY = String.raw`"""Grader for __TASK_ID__, generated by ` + '`clawgym export --format clawgym`' + String.raw` from its .clawtask checks.

Usage: python3 check.py WORKSPACE
Prints one JSON object {check_id: score}, scores in [0, 1]; reward.sh takes their weighted mean.
File checks run first, on the workspace as the agent left it, then command and python checks.
Standard library only (PyYAML reads .yaml files in json checks when it is installed).
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

SPEC = json.loads(__SPEC__)

MATCH_HEAD_BYTES = 1 << 20
EPS = 1e-9


def log(msg):
    sys.stderr.write("check.py: " + msg + "\n")


class Escape(Exception):
    pass


# -- the workspace -------------------------------------------------------------------------------

def all_paths(ws):
    """Every path under the workspace (files, folders, symlinks), relative, never following links.
    The top-level reward/ folder is ClawGym's grader, placed there before grading: not the agent's work."""
    out = []
    for top, dirs, files in os.walk(ws):
        rel = os.path.relpath(top, ws)
        rel = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        if rel == "":
            dirs[:] = [d for d in dirs if d != "reward"]
            files = [f for f in files if f != "reward"]
        for name in dirs + files:
            out.append(rel + name)
    return sorted(out)


def resolve(ws, rel):
    """(kind, real path): kind is file, dir or missing; a link out of the workspace raises Escape."""
    base = os.path.realpath(ws)
    real = os.path.realpath(os.path.join(base, rel))
    if real != base and not real.startswith(base + os.sep):
        raise Escape("%s leads outside the workspace" % rel)
    if os.path.isdir(real):
        return "dir", real
    if os.path.isfile(real):
        return "file", real
    return "missing", real


def expand(ws, c):
    if "glob" in c:
        rx = re.compile(c["glob"], re.DOTALL)
        return [p for p in all_paths(ws) if rx.fullmatch(p)]
    return [c["path"]]


def read_text(path):
    with open(path, "rb") as f:
        # like TextDecoder: a leading byte-order mark is dropped, invalid bytes become U+FFFD
        return f.read().decode("utf-8-sig", "replace")


def existence(ws, c, want):
    found = False
    escape = False
    for p in expand(ws, c):
        try:
            kind, _ = resolve(ws, p)
        except Escape as e:
            log(str(e))
            escape = True
            continue
        if kind != "missing":
            found = True
    if escape and not found:
        return 0.0
    return 1.0 if found == want else 0.0


def each_file(ws, c, test):
    """The condition on the file at path; with a glob, on every file it matches (at least one)."""
    glob = "glob" in c
    files = 0
    for p in expand(ws, c):
        try:
            kind, real = resolve(ws, p)
        except Escape as e:
            log(str(e))
            return 0.0
        if kind != "file":
            if glob:
                continue
            log("%s is %s" % (p, "a directory" if kind == "dir" else "missing"))
            return 0.0
        files += 1
        if not test(read_text(real), p):
            return 0.0
    return 1.0 if files > 0 else 0.0


def compile_regex(r):
    flags = 0
    for name in r["flags"]:
        flags |= getattr(re, name)
    return re.compile(r["pattern"], flags)


def strip_one_newline(s):
    if s.endswith("\r\n"):
        return s[:-2]
    if s.endswith("\n"):
        return s[:-1]
    return s


# -- JSON and YAML -------------------------------------------------------------------------------

def reject_constant(name):
    raise ValueError("%s is not JSON" % name)


def load_yaml(text):
    import yaml  # PyYAML; a missing module fails the check

    class Loader(yaml.SafeLoader):
        pass

    # YAML 1.2 like the editor: only true/false are booleans, and timestamps stay strings
    Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    return yaml.load(text, Loader=Loader)


def parse_query(q):
    q = q.strip()
    segs = []
    if q in ("", ".", "$"):
        return segs
    i = 0
    if q.startswith("$."):
        i = 2
    elif q.startswith("$["):
        i = 1
    elif q.startswith("."):
        i = 1
    while i < len(q):
        if q[i] == "[":
            close = q.find("]", i)
            if close < 0:
                return None
            inner = q[i + 1:close].strip()
            m = re.fullmatch(r"""(["'])(.*)\1""", inner, re.DOTALL)
            if m:
                segs.append(m.group(2))
            elif re.fullmatch(r"-?[0-9]+", inner):
                segs.append(int(inner))
            else:
                return None
            i = close + 1
            if i < len(q) and q[i] == ".":
                i += 1
                if i >= len(q):
                    return None
        else:
            j = i
            while j < len(q) and q[j] not in ".[":
                j += 1
            name = q[i:j]
            if name == "":
                return None
            segs.append(name)
            i = j
            if i < len(q) and q[i] == ".":
                i += 1
                if i >= len(q):
                    return None
    return segs


def query(doc, q):
    segs = parse_query(q)
    if segs is None:
        return False, None
    cur = doc
    for s in segs:
        if isinstance(cur, list):
            if isinstance(s, int):
                idx = s
            elif re.fullmatch(r"[0-9]+", s):
                idx = int(s)
            else:
                return False, None
            k = len(cur) + idx if idx < 0 else idx
            if k < 0 or k >= len(cur):
                return False, None
            cur = cur[k]
        elif isinstance(cur, dict):
            key = str(s)
            if key not in cur:
                return False, None
            cur = cur[key]
        else:
            return False, None
    return True, cur


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def same(a, b):
    """JavaScript-style deep equality: a boolean is never a number, 1 equals 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return float(a) == float(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(same(a[k], b[k]) for k in a)
    if type(a) is not type(b):
        return False
    return a == b


def type_ok(v, t):
    if t == "integer":
        return is_number(v) and math.isfinite(v) and float(v).is_integer()
    if t == "number":
        return is_number(v)
    if t == "string":
        return isinstance(v, str)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, dict)
    if t == "null":
        return v is None
    return False


def json_holds(text, path, c):
    if re.search(r"\.ya?ml$", path, re.IGNORECASE):
        doc = load_yaml(text)
    else:
        doc = json.loads(text, parse_constant=reject_constant)
    found, v = query(doc, c["query"])
    if not found:
        return False
    if "equals" in c and not same(v, c["equals"]):
        return False
    if "type" in c and not type_ok(v, c["type"]):
        return False
    if "between" in c:
        lo, hi = c["between"]
        if not is_number(v) or not (lo <= v <= hi):
            return False
    return True


# -- CSV -----------------------------------------------------------------------------------------

def parse_csv(t):
    """RFC 4180 (quoted fields, doubled quotes, CRLF or LF); blank lines are not rows."""
    if t.startswith("\ufeff"):
        t = t[1:]
    rows, row, field, quoted, i = [], [], "", False, 0
    while i < len(t):
        ch = t[i]
        if quoted:
            if ch == '"':
                if i + 1 < len(t) and t[i + 1] == '"':
                    field += '"'
                    i += 1
                else:
                    quoted = False
            else:
                field += ch
        elif ch == '"' and field == "":
            quoted = True
        elif ch == ",":
            row.append(field)
            field = ""
        elif ch in "\r\n":
            if ch == "\r" and i + 1 < len(t) and t[i + 1] == "\n":
                i += 1
            row.append(field)
            rows.append(row)
            row, field = [], ""
        else:
            field += ch
        i += 1
    if field != "" or row:
        row.append(field)
        rows.append(row)
    return [r for r in rows if not (len(r) == 1 and r[0] == "")]


def js_number(s):
    """Number(s) in JavaScript for a trimmed, non-empty cell; None when it is NaN."""
    if re.fullmatch(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", s):
        return float(s)
    if re.fullmatch(r"0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+", s):
        return float(int(s, 0))
    if re.fullmatch(r"[+-]?Infinity", s):
        return float(s.replace("Infinity", "inf"))
    return None


def cell_equals(cell, want):
    if isinstance(want, bool):
        return cell.strip().lower() == ("true" if want else "false")
    if is_number(want):
        s = cell.strip()
        return s != "" and js_number(s) == float(want)
    return cell == want


def csv_holds(text, c):
    rows = parse_csv(text)
    if not rows:
        return False
    header, data = rows[0], rows[1:]
    if "columns" in c:
        cols = c["columns"]
        if len(header) != len(cols) or any(h.strip() != cols[i] for i, h in enumerate(header)):
            return False
    if "rows" in c and len(data) != c["rows"]:
        return False
    if "where" in c:
        want = list(c["where"].items())
        idx = []
        for k, _ in want:
            hit = [i for i, h in enumerate(header) if h.strip() == k]
            if not hit:
                return False
            idx.append(hit[0])
        if not any(all(cell_equals(r[idx[j]] if idx[j] < len(r) else "", v) for j, (_, v) in enumerate(want)) for r in data):
            return False
    return True


# -- commands and python checks ------------------------------------------------------------------

def run(argv, ws, timeout):
    p = subprocess.Popen(argv, cwd=ws, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=max(0.001, timeout))
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        p.communicate()
        raise
    finally:
        try:
            os.killpg(p.pid, 9)  # whatever the check left running in its group goes too
        except OSError:
            pass
    return p.returncode, out, err


def command_score(ws, c):
    code, out, err = run(["bash", "-c", c["command"]], ws, c["timeout"])
    if code != c["exit_code"]:
        log("%s: exit code %s, expected %s: %s" % (c["id"], code, c["exit_code"], err.decode("utf-8", "replace").strip()[-200:]))
        return 0.0
    if "stdout_regex" in c:
        text = out[:MATCH_HEAD_BYTES].decode("utf-8", "replace")
        return 1.0 if compile_regex(c["stdout_regex"]).search(text) else 0.0
    return 1.0


CHILD = r'''
import importlib.util, json, math, numbers, sys
src, ws, out = sys.argv[1], sys.argv[2], sys.argv[3]
spec = importlib.util.spec_from_file_location("clawgym_check", src)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
def enc(v, top):
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, numbers.Real):
        return float(v)
    if top and isinstance(v, dict):
        return {str(k): enc(x, False) for k, x in v.items()}
    raise TypeError("grade() returned %s, not a score" % type(v).__name__)
with open(out, "w") as f:
    json.dump(enc(mod.grade(ws), True), f)
'''


def score_value(v):
    if not isinstance(v, float) or not math.isfinite(v) or v < -EPS or v > 1 + EPS:
        raise ValueError("score %r is not a finite number in [0, 1]" % (v,))
    return min(1.0, max(0.0, v))


def python_score(ws, c):
    tmp = tempfile.mkdtemp(prefix="clawgym-check-")
    try:
        src = os.path.join(tmp, "check.py")
        out = os.path.join(tmp, "result.json")
        with open(src, "w", encoding="utf-8") as f:
            f.write(c["python"])
        code, _, err = run([sys.executable, "-I", "-B", "-c", CHILD, src, ws, out], ws, c["timeout"])
        if code != 0 or not os.path.exists(out):
            log("%s: grade() failed: %s" % (c["id"], err.decode("utf-8", "replace").strip()[-300:]))
            return 0.0
        with open(out) as f:
            v = json.load(f)
        if isinstance(v, dict):
            if not v:
                raise ValueError("grade() returned an empty dict")
            return sum(score_value(x) for x in v.values()) / len(v)
        return score_value(v)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- main ----------------------------------------------------------------------------------------

def grade(ws, c):
    k = c["kind"]
    if k == "file_exists":
        return existence(ws, c, True)
    if k == "file_absent":
        return existence(ws, c, False)
    if k == "file_matches":
        rx = compile_regex(c["regex"])
        return each_file(ws, c, lambda text, p: rx.search(text) is not None)
    if k == "file_equals":
        return each_file(ws, c, lambda text, p: strip_one_newline(text) == strip_one_newline(c["text"]))
    if k == "json":
        return each_file(ws, c, lambda text, p: json_holds(text, p, c))
    if k == "csv":
        return each_file(ws, c, lambda text, p: csv_holds(text, c))
    if k == "command":
        return command_score(ws, c)
    if k == "python":
        return python_score(ws, c)
    raise ValueError("unknown check kind %s" % k)


def main():
    ws = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OPENCLAW_WORKSPACE", "/root/.openclaw/workspace"))
    checks = SPEC["checks"]
    scores = {c["id"]: 0.0 for c in checks}
    later = ("command", "python")
    for c in [c for c in checks if c["kind"] not in later] + [c for c in checks if c["kind"] in later]:
        try:
            scores[c["id"]] = float(grade(ws, c))
        except Exception as e:  # a check that cannot be graded scores 0, the others still count
            log("%s: %s: %s" % (c["id"], type(e).__name__, e))
            scores[c["id"]] = 0.0
    print(json.dumps(scores))


if __name__ == "__main__":
    main()
`;
