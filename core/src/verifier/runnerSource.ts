/**
 * The in-sandbox half of the verifier: a Python program (standard library only, Python >= 3.9)
 * that runs `command` checks, `python` checks and the ClawGym reward script after the agent ended.
 *
 * How it gets there, and why (verifier integrity: nothing the verifier uses may be pre-planted):
 * the host runs `python3 -I -` in the sandbox and writes this program to its stdin, with the whole
 * bundle (payload, python-check sources, the reward folder) appended as one base64 literal. So no
 * verifier file exists in the sandbox before the runner itself creates it:
 *   - the runner makes its directory `/tmp/clawgym-verifier-<128-bit random hex>` with a plain
 *     `os.mkdir` (never `-p`): if it already exists, something in the sandbox created it, and every
 *     in-sandbox check fails as `tampered` (the name is unguessable, so this only catches a process
 *     that watched for it);
 *   - it writes each file with O_CREAT|O_EXCL|O_NOFOLLOW (a planted file or symlink is an error,
 *     never followed), keeps the bytes in memory, and compares the file with them again right
 *     before using it, because a command check runs the agent's code, which could rewrite it;
 *   - `<root>/reward` (whatever the agent put there: files, a symlink) is removed and re-created
 *     from the bundle right before the reward script runs, then compared file by file;
 *   - `-I` keeps PYTHON* variables, the user site and the current folder off the runner's
 *     `sys.path`; python checks run with `-I` too, so a `json.py` in the workspace cannot shadow
 *     the standard library.
 * Copying a staged bundle in with `copyIn` and moving it would leave the files on disk between the
 * copy and the exec; stdin leaves no such window and saves a round trip to the engine.
 *
 * What it cannot stop: the agent runs as root in the same sandbox, so it can replace python3,
 * bash or the standard library itself; the graders must run in the sandbox (clawgym-task-dir.md),
 * so that is the contract's limit, not this runner's.
 *
 * Output: progress lines on stderr; on stdout, after each check, one line `<marker> <json>`, and a
 * final `<marker> {"done": ...}`, so results of finished checks survive an exec timeout.
 *
 * Keep the syntax parseable by old Python 3 so a too-old interpreter gets a clear message.
 */
export const RUNNER_SOURCE = String.raw`
import base64, json, os, shutil, signal, subprocess, sys, threading, time, traceback

KEEP_TAIL = 65536        # bytes of each stream kept (the reward line is parsed from this)
KILL_BYTES = 64 << 20    # a check printing more than this is killed
MARKER = None


def emit(obj):
    sys.stdout.write(MARKER + " " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def progress(msg):
    sys.stderr.write("clawgym-verifier: " + msg + "\n")
    sys.stderr.flush()


class Tampered(Exception):
    pass


class Capture(object):
    def __init__(self, stream, head_cap, on_over):
        self.stream = stream
        self.head_cap = head_cap
        self.on_over = on_over
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.over = False

    def run(self):
        fd = self.stream.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.total += len(chunk)
            if len(self.head) < self.head_cap:
                self.head += chunk[: self.head_cap - len(self.head)]
            self.tail += chunk
            if len(self.tail) > KEEP_TAIL:
                del self.tail[: len(self.tail) - KEEP_TAIL]
            if self.total > KILL_BYTES and not self.over:
                self.over = True
                self.on_over()


def text(b):
    return bytes(b).decode("utf-8", "replace")


def run_process(argv, cwd, env, limit, head_cap=0):
    t0 = time.monotonic()
    res = {"status": "ok", "exit_code": None, "stdout": "", "stderr": "", "stdout_bytes": 0, "stderr_bytes": 0}
    try:
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
    except OSError as e:
        res["status"] = "crash"
        res["message"] = "could not start %s: %s" % (argv[0], e)
        res["duration_ms"] = (time.monotonic() - t0) * 1000
        return res

    def kill():
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass

    out = Capture(p.stdout, head_cap, kill)
    err = Capture(p.stderr, 0, kill)
    threads = [threading.Thread(target=c.run, daemon=True) for c in (out, err)]
    for t in threads:
        t.start()
    try:
        code = p.wait(timeout=max(0.001, limit))
    except subprocess.TimeoutExpired:
        res["status"] = "timeout"
        kill()
        code = p.wait()
    res["duration_ms"] = (time.monotonic() - t0) * 1000
    # whatever the check left running in its process group goes too (and releases the pipes)
    kill()
    for t in threads:
        t.join(2.0)
    if out.over or err.over:
        res["status"] = "too-large"
    res["exit_code"] = code
    res["stdout"] = text(out.tail)
    res["stderr"] = text(err.tail)
    res["stdout_bytes"] = out.total
    res["stderr_bytes"] = err.total
    if head_cap:
        res["stdout_head"] = text(out.head)
    return res


def write_new(path, data, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    finally:
        os.close(fd)
    os.chmod(path, mode)


def same_file(path, data):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        got = bytearray()
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            got += chunk
            if len(got) > len(data):
                return False
        return bytes(got) == data
    finally:
        os.close(fd)


CHILD = r'''
import importlib.util, json, math, numbers, sys, traceback
src, ws, out = sys.argv[1], sys.argv[2], sys.argv[3]

def other(v):
    try:
        r = repr(v)
    except Exception:
        r = "<unprintable>"
    return {"t": "other", "type": type(v).__name__, "repr": r[:200]}

def enc(v, top):
    if isinstance(v, bool):
        return {"t": "bool", "v": v}
    if isinstance(v, numbers.Real):
        try:
            f = float(v)
        except Exception:
            return other(v)
        if math.isfinite(f):
            return {"t": "num", "v": f}
        return {"t": "nonfinite", "v": repr(f)}
    if top and isinstance(v, dict):
        return {"t": "dict", "v": [[str(k), enc(x, False)] for k, x in v.items()]}
    return other(v)

try:
    spec = importlib.util.spec_from_file_location("clawgym_check", src)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["clawgym_check"] = mod
    spec.loader.exec_module(mod)
    grade = getattr(mod, "grade", None)
    if not callable(grade):
        res = {"kind": "no-grade"}
    else:
        res = {"kind": "value", "value": enc(grade(ws), True)}
except BaseException:
    res = {"kind": "exception", "traceback": traceback.format_exc()[-4000:]}
with open(out, "w") as f:
    json.dump(res, f)
'''


class Run(object):
    def __init__(self, spec):
        self.spec = spec
        self.t0 = time.monotonic()
        self.deadline = self.t0 + spec["timeout_ms"] / 1000.0
        self.dir = spec["dir"]
        self.root = spec["root"]
        self.files = {}
        env = dict(os.environ)
        env.update(spec["env"])
        env["OPENCLAW_REWARD_PAYLOAD"] = os.path.join(self.dir, "payload.json")
        env.setdefault("OPENCLAW_WORKSPACE", self.root)
        self.env = env

    def remaining(self):
        return self.deadline - time.monotonic()

    def setup(self):
        parent = os.path.dirname(self.dir)
        if not os.path.isdir(parent):
            os.makedirs(parent)
        try:
            os.mkdir(self.dir, 0o700)
        except FileExistsError:
            raise Tampered("the verifier directory %s already exists: something in the sandbox created it before the verifier ran" % self.dir)
        self.created = True
        for f in self.spec["files"]:
            data = base64.b64decode(f["data"])
            path = os.path.join(self.dir, f["path"])
            if not os.path.isdir(os.path.dirname(path)):
                os.makedirs(os.path.dirname(path), 0o700)
            try:
                write_new(path, data, 0o600)
            except FileExistsError:
                raise Tampered("%s appeared in the verifier directory before the verifier wrote it" % path)
            self.files[f["path"]] = data

    def verify(self, rel):
        if not same_file(os.path.join(self.dir, rel), self.files[rel]):
            raise Tampered("the verifier's file %s was changed after it was written (by a command check or a process left running)" % rel)

    def limit(self, ms):
        return min(ms / 1000.0, self.remaining())

    def out_of_time(self, check, kind):
        return {"id": check["id"], "kind": kind, "status": "deadline", "duration_ms": 0}

    def commands(self):
        for c in self.spec["commands"]:
            if self.remaining() <= 0:
                emit(self.out_of_time(c, "command"))
                continue
            progress("command %s" % c["id"])
            try:
                self.verify("payload.json")
            except Tampered as e:
                emit({"id": c["id"], "kind": "command", "status": "tampered", "message": str(e), "duration_ms": 0})
                continue
            r = run_process(["bash", "-c", c["command"]], self.root, self.env, self.limit(c["timeout_ms"]), c.get("head", 0))
            r["id"] = c["id"]
            r["kind"] = "command"
            emit(r)

    def python(self):
        for i, c in enumerate(self.spec["python"]):
            if self.remaining() <= 0:
                emit(self.out_of_time(c, "python"))
                continue
            progress("python %s" % c["id"])
            out = os.path.join(self.dir, "result-%d.json" % i)
            try:
                self.verify(c["file"])
                self.verify("payload.json")
            except Tampered as e:
                emit({"id": c["id"], "kind": "python", "status": "tampered", "message": str(e), "duration_ms": 0})
                continue
            argv = [sys.executable, "-I", "-c", CHILD, os.path.join(self.dir, c["file"]), self.root, out]
            r = run_process(argv, self.root, self.env, self.limit(c["timeout_ms"]))
            r["id"] = c["id"]
            r["kind"] = "python"
            r["result"] = None
            try:
                fd = os.open(out, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
                with os.fdopen(fd) as f:
                    r["result"] = json.load(f)
            except (OSError, ValueError):
                pass
            emit(r)

    def place_reward(self, rw):
        rd = os.path.join(self.root, "reward")
        if not os.path.isdir(self.root):
            os.makedirs(self.root)
        try:
            if os.path.islink(rd) or (os.path.lexists(rd) and not os.path.isdir(rd)):
                os.unlink(rd)
            elif os.path.isdir(rd):
                shutil.rmtree(rd)
        except OSError as e:
            raise Tampered("could not remove the reward/ folder left in the workspace: %s" % e)
        try:
            os.mkdir(rd, 0o700)
        except FileExistsError:
            raise Tampered("%s was re-created while the verifier was replacing it" % rd)
        want = {}
        dirs = [(rd, rw["mode"])]
        for e in rw["entries"]:
            path = os.path.join(rd, e["path"])
            if e["type"] == "directory":
                os.mkdir(path, 0o700)
                dirs.append((path, e["mode"]))
                want[e["path"]] = None
            else:
                data = base64.b64decode(e["data"])
                write_new(path, data, e["mode"])
                want[e["path"]] = data
        for path, mode in reversed(dirs):
            os.chmod(path, mode)
        # compare the placed folder with the bundle: nothing more, nothing less, same bytes
        seen = set()
        for dirpath, dirnames, filenames in os.walk(rd):
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, rd)
                seen.add(rel)
                if rel not in want:
                    raise Tampered("an extra file %s appeared in reward/ while it was being placed" % rel)
                if want[rel] is None:
                    if os.path.islink(full) or not os.path.isdir(full):
                        raise Tampered("reward/%s is not the folder the verifier made" % rel)
                elif not same_file(full, want[rel]):
                    raise Tampered("reward/%s differs from the task's file after it was placed" % rel)
        if seen != set(want):
            raise Tampered("reward/ lost files while it was being placed: %s" % ", ".join(sorted(set(want) - seen)))

    def reward(self):
        rw = self.spec.get("reward")
        if not rw:
            return
        c = {"id": rw["id"]}
        if self.remaining() <= 0:
            emit(self.out_of_time(c, "reward_script"))
            return
        progress("reward script reward/%s" % rw["script"])
        try:
            self.verify("payload.json")
            self.place_reward(rw)
        except Tampered as e:
            emit({"id": rw["id"], "kind": "reward_script", "status": "tampered", "message": str(e), "duration_ms": 0})
            return
        script = os.path.join(self.root, "reward", rw["script"])
        r = run_process(["bash", script], self.root, self.env, self.limit(rw["timeout_ms"]))
        r["id"] = rw["id"]
        r["kind"] = "reward_script"
        emit(r)


def main(bundle):
    global MARKER
    spec = json.loads(base64.b64decode(bundle).decode("utf-8"))
    MARKER = spec["marker"]
    run = None
    fatal = None
    try:
        if sys.version_info < (3, 9):
            fatal = {"kind": "unavailable", "message": "the sandbox's python3 is %s; the verifier needs 3.9 or newer" % sys.version.split()[0]}
        else:
            run = Run(spec)
            run.setup()
            run.commands()
            run.python()
            run.reward()
    except Tampered as e:
        fatal = {"kind": "tampered", "message": str(e)}
    except BaseException:
        fatal = {"kind": "internal", "message": "the verifier's runner failed: " + traceback.format_exc()[-2000:]}
    finally:
        if run is not None and getattr(run, "created", False):
            shutil.rmtree(run.dir, ignore_errors=True)
    emit({"done": True, "fatal": fatal, "python": sys.version.split()[0], "duration_ms": (time.monotonic() - (run.t0 if run else time.monotonic())) * 1000})
`;
