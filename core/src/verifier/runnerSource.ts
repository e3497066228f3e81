/**
 * The in-sandbox half of the verifier: a Python program (standard library only, Python >= 3.9)
 * that runs `command` checks, `python` checks and the ClawGym reward script after the agent ended.
 *
 * How it gets there, and why (verifier integrity: nothing the verifier uses may be pre-planted):
 * the host runs `python3 -I -S -` in the sandbox and writes this program to its stdin, followed by
 * `main(<spec>)` where the spec is a Python literal holding the whole bundle (payload, python-check
 * sources, the reward folder). So no verifier file exists in the sandbox before the runner itself
 * creates it:
 *   - the runner makes its directory `$TMPDIR/clawgym-verifier-<128-bit random hex>` (TMPDIR
 *     defaults to /tmp) with a plain
 *     `os.mkdir` (never `-p`): if it already exists, something in the sandbox created it, and every
 *     in-sandbox check fails as `tampered` (the name is unguessable, so this only catches a process
 *     that watched for it);
 *   - it writes each file with O_CREAT|O_EXCL|O_NOFOLLOW (a planted file or symlink is an error,
 *     never followed), keeps the bytes in memory, and compares the file with them again right
 *     before using it, because a command check runs the agent's code, which could rewrite it;
 *   - `<root>/reward` (whatever the agent put there: files, a symlink) is removed and re-created
 *     from the bundle right before the reward script runs, then compared file by file;
 *   - `-I` keeps PYTHON* variables, the user site and the current folder off `sys.path`; python
 *     checks run with `-I` too, so a `json.py` in the workspace cannot shadow the standard library.
 * Copying a staged bundle in with `copyIn` and moving it would leave the files on disk between the
 * copy and the exec; stdin leaves no such window and saves a round trip to the engine.
 *
 * What it cannot stop: the agent runs as root in the same sandbox, so it can replace python3,
 * bash or the standard library itself, or leave a process running that races the verifier; the
 * graders must run in the sandbox (clawgym-task-dir.md), so that is the contract's limit.
 *
 * Speed: the runner is on every verification's critical path, so it imports only os, sys, time,
 * select and binascii (`subprocess` alone pulls in locale, re and enum: ~25 ms here), spawns with
 * fork/exec and reads output with poll, and writes its JSON by hand. `-S` skips site-packages for
 * the runner only; python checks get the normal path (PyYAML).
 *
 * Output: progress lines on stderr; on stdout, after each check, one line `<marker> <json>`, and a
 * final `<marker> {"done": ...}`, so results of finished checks survive an exec timeout.
 *
 * Keep the syntax parseable by old Python 3 so a too-old interpreter gets a clear message.
 */
import { PY_JSON_ENCODER as ENCODER } from '../sandbox/pyJson';

/**
 * The python-check child: import the check's source by path, call `grade(ws)`, write what came
 * back (tagged, so the host can classify it) to the result file. Runs with cwd = the workspace.
 */
const CHILD = String.raw`
import importlib.util, math, numbers, sys
${ENCODER}
src, ws, out = sys.argv[1], sys.argv[2], sys.argv[3]


def other(v):
    try:
        r = repr(v)
    except Exception:
        r = "<unprintable>"
    return {"t": "other", "type": type(v).__name__, "repr": r[:200]}


def tag(v, top):
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
        return {"t": "dict", "v": [[str(k), tag(x, False)] for k, x in v.items()]}
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
        res = {"kind": "value", "value": tag(grade(ws), True)}
except BaseException:
    import traceback
    res = {"kind": "exception", "traceback": traceback.format_exc()[-4000:]}
with open(out, "w") as f:
    f.write(jenc(res))
`;

export const RUNNER_SOURCE = String.raw`
import binascii, os, select, sys, time
${ENCODER}
KEEP_TAIL = 8192         # bytes of each stream's end kept for the report
REWARD_TAIL = 65536      # the reward script's stdout: its last line is the reward
KILL_BYTES = 64 << 20    # a check printing more than this is killed
LINGER = 2.0             # seconds to wait for output held open by a check's escaped children
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
MARKER = None


def emit(obj):
    sys.stdout.buffer.write((MARKER + " " + jenc(obj) + "\n").encode("utf-8", "replace"))
    sys.stdout.flush()


def progress(msg):
    sys.stderr.write("clawgym-verifier: " + msg + "\n")
    sys.stderr.flush()


class Tampered(Exception):
    pass


def text(b):
    return bytes(b).decode("utf-8", "replace")


def kill_group(pid):
    try:
        os.killpg(pid, 9)
    except OSError:
        pass


def spawn(argv, cwd, env):
    """fork/exec in a new session (so the whole group can be killed); stdin is /dev/null."""
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    r_x, w_x = os.pipe()  # exec failures come back here; close-on-exec closes it on success
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os.dup2(w_out, 1)
            os.dup2(w_err, 2)
            nul = os.open(os.devnull, os.O_RDONLY)
            os.dup2(nul, 0)
            os.chdir(cwd)
            os.execvpe(argv[0], argv, env)
        except BaseException as e:
            try:
                os.write(w_x, ("%s: %s" % (type(e).__name__, e)).encode("utf-8", "replace"))
            finally:
                os._exit(127)
    for fd in (w_out, w_err, w_x):
        os.close(fd)
    failure = b""
    while True:
        chunk = os.read(r_x, 4096)
        if not chunk:
            break
        failure += chunk
    os.close(r_x)
    if failure:
        os.waitpid(pid, 0)
        os.close(r_out)
        os.close(r_err)
        return None, failure.decode("utf-8", "replace")
    return (pid, r_out, r_err), None


def run_process(argv, cwd, env, limit, head_cap=0, out_tail=KEEP_TAIL):
    t0 = time.monotonic()
    res = {"status": "ok", "exit_code": None, "stdout": "", "stderr": "", "stdout_bytes": 0, "stderr_bytes": 0, "limit_ms": limit * 1000}
    spawned, failure = spawn(argv, cwd, env)
    if spawned is None:
        res["status"] = "crash"
        res["message"] = "could not start %s: %s" % (argv[0], failure)
        res["duration_ms"] = (time.monotonic() - t0) * 1000
        return res
    pid, r_out, r_err = spawned
    # per stream: head, tail, total bytes, head cap, tail cap
    streams = {r_out: [bytearray(), bytearray(), 0, head_cap, out_tail], r_err: [bytearray(), bytearray(), 0, 0, KEEP_TAIL]}
    poller = select.poll()
    for fd in streams:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    open_fds = set(streams)
    deadline = t0 + max(0.001, limit)
    code = None
    exited_at = None
    # until the process has exited and its output is closed (a check may close its output and go
    # on running: its time limit still applies)
    while open_fds or code is None:
        now = time.monotonic()
        if code is None:
            wpid, status = os.waitpid(pid, os.WNOHANG)
            if wpid:
                code = os.waitstatus_to_exitcode(status)
                exited_at = now
                kill_group(pid)  # leftovers of the check go too, and release the pipes
            elif now >= deadline:
                res["status"] = "timeout"
                kill_group(pid)
        elif now - exited_at > LINGER:
            break  # something that left the group still holds the output open: stop reading
        if not open_fds:
            wait_ms = 2  # output closed, exit not yet reaped: it usually follows at once
        elif code is not None:
            wait_ms = 50
        else:
            wait_ms = max(1, min(50, int((deadline - now) * 1000) + 1))
        for fd, _ev in poller.poll(wait_ms):
            chunk = os.read(fd, 65536)
            if not chunk:
                poller.unregister(fd)
                open_fds.discard(fd)
                continue
            s = streams[fd]
            s[2] += len(chunk)
            if len(s[0]) < s[3]:
                s[0] += chunk[: s[3] - len(s[0])]
            s[1] += chunk
            if len(s[1]) > s[4]:
                del s[1][: len(s[1]) - s[4]]
            if s[2] > KILL_BYTES and res["status"] == "ok":
                res["status"] = "too-large"
                kill_group(pid)
    if code is None:
        _pid, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        kill_group(pid)
    for fd in streams:
        os.close(fd)
    res["duration_ms"] = (time.monotonic() - t0) * 1000
    res["exit_code"] = code
    out, err = streams[r_out], streams[r_err]
    res["stdout"] = text(out[1])
    res["stderr"] = text(err[1])
    res["stdout_bytes"] = out[2]
    res["stderr_bytes"] = err[2]
    if head_cap:
        res["stdout_head"] = text(out[0])
    return res


def write_new(path, data, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.chmod(path, mode)


def read_file(path, limit=None):
    fd = os.open(path, os.O_RDONLY | NOFOLLOW)
    try:
        got = bytearray()
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return bytes(got)
            got += chunk
            if limit is not None and len(got) > limit:
                return None
    finally:
        os.close(fd)


def same_file(path, data):
    try:
        return read_file(path, len(data)) == data
    except OSError:
        return False


def rmtree(top):
    """Remove a folder without following symlinks in it."""
    for dirpath, dirnames, filenames in os.walk(top, topdown=False):
        for name in filenames:
            os.unlink(os.path.join(dirpath, name))
        for name in dirnames:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                os.unlink(p)
            else:
                os.rmdir(p)
    os.rmdir(top)


class Run(object):
    def __init__(self, spec):
        self.spec = spec
        self.t0 = time.monotonic()
        self.deadline = self.t0 + spec["timeout_ms"] / 1000.0
        # the local backend without bubblewrap runs on the host: the workspace is not at its
        # sandbox path (CLAWGYM_WORKSPACE says where it is) and /tmp is shared (TMPDIR is private)
        real = os.environ.get("CLAWGYM_WORKSPACE")
        root, wd = spec["root"], spec["workdir"].rstrip("/") or "/"
        if real and real != wd and (root == wd or root.startswith(wd + "/")):
            root = real + root[len(wd):]
        self.root = root
        self.dir = os.path.join(os.environ.get("TMPDIR") or "/tmp", spec["dir_name"])
        self.created = False
        self.files = {}
        self.placed = {}
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
            data = binascii.a2b_base64(f["data"])
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

    def commands(self):
        for c in self.spec["commands"]:
            if self.remaining() <= 0:
                emit({"id": c["id"], "kind": "command", "status": "deadline", "duration_ms": 0})
                continue
            if not os.path.isdir(self.root):
                emit({"id": c["id"], "kind": "command", "status": "no-workspace", "duration_ms": 0})
                continue
            progress("command %s" % c["id"])
            try:
                self.verify("payload.json")
            except Tampered as e:
                emit({"id": c["id"], "kind": "command", "status": "tampered", "message": str(e), "duration_ms": 0})
                continue
            r = run_process(["bash", "-c", c["command"]], self.root, self.env, self.limit(c["timeout_ms"]), c["head"])
            r["id"] = c["id"]
            r["kind"] = "command"
            emit(r)

    def python(self):
        for i, c in enumerate(self.spec["python"]):
            if self.remaining() <= 0:
                emit({"id": c["id"], "kind": "python", "status": "deadline", "duration_ms": 0})
                continue
            if not os.path.isdir(self.root):
                emit({"id": c["id"], "kind": "python", "status": "no-workspace", "duration_ms": 0})
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
            try:
                data = read_file(out, 1 << 20)
                r["result_json"] = text(data) if data is not None else None
            except OSError:
                r["result_json"] = None
            emit(r)

    def place_reward(self, rw):
        rd = os.path.join(self.root, "reward")
        if not os.path.isdir(self.root):
            os.makedirs(self.root)
        try:
            if os.path.islink(rd) or (os.path.lexists(rd) and not os.path.isdir(rd)):
                os.unlink(rd)
            elif os.path.isdir(rd):
                rmtree(rd)
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
                data = binascii.a2b_base64(e["data"])
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
        self.placed = want

    def intact(self):
        # After every check: the verifier's own files still hold what was written (what grading
        # added next to them, e.g. __pycache__, is not ours to judge).
        for rel in self.files:
            self.verify(rel)
        rd = os.path.join(self.root, "reward")
        for rel, data in self.placed.items():
            full = os.path.join(rd, rel)
            if data is None:
                if os.path.islink(full) or not os.path.isdir(full):
                    raise Tampered("reward/%s was replaced while the checks ran" % rel)
            elif os.path.islink(full) or not same_file(full, data):
                raise Tampered("reward/%s was changed while the checks ran" % rel)

    def reward(self):
        rw = self.spec["reward"]
        if not rw:
            return
        if self.remaining() <= 0:
            emit({"id": rw["id"], "kind": "reward_script", "status": "deadline", "duration_ms": 0})
            return
        progress("reward script reward/%s" % rw["script"])
        try:
            self.verify("payload.json")
            self.place_reward(rw)
        except Tampered as e:
            emit({"id": rw["id"], "kind": "reward_script", "status": "tampered", "message": str(e), "duration_ms": 0})
            return
        script = os.path.join(self.root, "reward", rw["script"])
        r = run_process(["bash", script], self.root, self.env, self.limit(rw["timeout_ms"]), 0, REWARD_TAIL)
        r["id"] = rw["id"]
        r["kind"] = "reward_script"
        emit(r)


def main(spec):
    global MARKER
    MARKER = spec["marker"]
    run = None
    fatal = None
    changed = None
    try:
        if sys.version_info < (3, 9):
            fatal = {"kind": "unavailable", "message": "the sandbox's python3 is %s; the verifier needs 3.9 or newer" % sys.version.split()[0]}
        else:
            run = Run(spec)
            run.setup()
            run.commands()
            run.python()
            run.reward()
            try:
                run.intact()
            except Tampered as e:
                changed = str(e)
    except Tampered as e:
        fatal = {"kind": "tampered", "message": str(e)}
    except BaseException:
        import traceback
        fatal = {"kind": "internal", "message": "the verifier's runner failed: " + traceback.format_exc()[-2000:]}
    finally:
        if run is not None and run.created:
            try:
                rmtree(run.dir)
            except OSError:
                pass
    took = (time.monotonic() - run.t0) * 1000 if run is not None else 0
    emit({"done": True, "fatal": fatal, "changed": changed, "python": sys.version.split()[0], "duration_ms": took})


CHILD = ${JSON.stringify(CHILD)}
`;
