/**
 * The in-sandbox command supervisor (Python 3, stdlib only), started once per sandbox as the
 * container's keep-alive so that a command costs a line on its stdin instead of a `docker exec`
 * (a runc exec: the costliest part of a short command) and a copy-out needs no getArchive.
 * The host side of the protocol is session.ts, which documents the frames.
 *
 * argv: [lc_ctype_was_set ('set' or ''), original LC_CTYPE]: Python's locale coercion adds
 * LC_CTYPE to its own environment; commands must get the container's environment as it was.
 *
 * Kept compatible with Python 3.5 (no f-strings, no walrus) so old images still get a session.
 */
import { PY_JSON_ENCODER } from './pyJson';

export const SUPERVISOR_SOURCE = String.raw`
import os, sys, struct, select, stat, time
from binascii import a2b_base64
try:
    import _signal as signal  # the C module: 'signal' imports enum (and re), a third of our start-up
except ImportError:
    import signal

OUT = 1
ENV = dict(os.environ)
# LC_CTYPE that this interpreter's locale coercion added (argv says it was not set before).
COERCED = ENV.get('LC_CTYPE') if not (len(sys.argv) > 1 and sys.argv[1] == 'set') else None
ENV.pop('PWD', None)  # set by the sh that started us; docker exec does not have it
if len(sys.argv) > 1 and sys.argv[1] == 'set':
    ENV['LC_CTYPE'] = sys.argv[2] if len(sys.argv) > 2 else ''
else:
    ENV.pop('LC_CTYPE', None)

# Every frame ends with a tag: the first 16 bytes of HMAC-SHA256(KEY, frame number | frame). KEY
# (prepended to this source by the host, never on a command line or in the environment) lives only
# in this process, which is not dumpable (see harden): processes of the agent can write to the
# container's stdout through /proc/1/fd/1, but not make a frame the host accepts.
try:
    from _hashlib import hmac_digest as _hmac_digest

    def tag_of(msg):
        return _hmac_digest(KEY, msg, 'sha256')[:16]
except ImportError:
    import hmac as _hmac
    import hashlib as _hashlib

    def tag_of(msg):
        return _hmac.new(KEY, msg, _hashlib.sha256).digest()[:16]

SEQ = [0]

def send(kind, ident, payload=b''):
    head = struct.pack('>cII', kind, ident, len(payload))
    tag = tag_of(struct.pack('>Q', SEQ[0]) + head + payload)
    SEQ[0] += 1
    data = head + payload + tag
    view = memoryview(data)
    while view:
        n = os.write(OUT, view)
        view = view[n:]

# JSON out without the json module (which imports re: ~15 ms of start-up per sandbox).
${PY_JSON_ENCODER}
def send_json(kind, ident, obj):
    send(kind, ident, jenc(obj).encode('utf-8', 'replace'))

def parse_request(line):
    # One request a line: space-separated name=value fields. Values named in LISTS are
    # NUL-separated lists and values named in TEXT are strings, both base64 of UTF-8; the others
    # are whole numbers. Anything else is not a request (None).
    req = {}
    for field in line.split(b' '):
        name, eq, value = field.partition(b'=')
        if not eq:
            return None
        name = name.decode('ascii', 'replace')
        if name in LISTS or name in TEXT or name == 'stdin':
            raw = a2b_base64(value)
            if name == 'stdin':
                req[name] = raw
            else:
                text = raw.decode('utf-8', 'surrogateescape')
                req[name] = (text.split('\0') if text else []) if name in LISTS else text
        else:
            req[name] = int(value)
    return req

LISTS = ('argv', 'env')
TEXT = ('op', 'cwd', 'marker', 'dir')

def kill_marker(marker):
    # Everything the command started, including what left its process group (setsid, daemons).
    needle = ('CLAWGYM_EXEC_ID=' + marker).encode()
    me = os.getpid()
    for _ in range(20):
        n = 0
        for d in os.listdir('/proc'):
            if not d.isdigit() or int(d) == me:
                continue
            try:
                with open('/proc/' + d + '/environ', 'rb') as f:
                    env = f.read()
            except OSError:
                continue
            if needle in env.split(b'\0'):
                try:
                    os.kill(int(d), signal.SIGKILL)
                    n += 1
                except OSError:
                    pass
        if n == 0:
            return

class Job:
    def __init__(self, ident, req):
        self.id = ident
        self.marker = str(req.get('marker') or ('s' + str(ident)))
        self.kill_after = int(req.get('kill_after') or 64 * 1024 * 1024)
        t = req.get('timeout_ms')
        self.deadline = time.monotonic() + t / 1000.0 if t else None
        self.pid = None
        self.status = None
        self.fds = {}
        self.counts = {b'o': 0, b'e': 0}
        self.stdin = b''
        self.stdin_fd = None
        self.timed_out = False
        self.output_limit = False
        self.killed = False

    def kill(self):
        self.killed = True
        self.deadline = None
        if self.pid is not None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
        kill_marker(self.marker)

jobs = {}
fd_owner = {}
snapshots = {}
poller = select.poll()

def close_fd(fd):
    fd_owner.pop(fd, None)
    try:
        poller.unregister(fd)
    except (KeyError, ValueError):
        pass
    os.close(fd)

# Output pipes still held open by processes a command left running after it exited: read and
# dropped until they close, so that an exec ends when its command does (\`sleep 300 & echo hi\`).
detached = set()

def drain_exited(job):
    # The command exited: what it wrote before is in its pipes. Forward that (at most 1 MiB more a
    # stream), then detach the pipes that processes it started still hold open.
    for fd in list(job.fds):
        kind = job.fds[fd]
        try:
            os.set_blocking(fd, False)
        except OSError:
            pass
        got = 0
        while got < (1 << 20) and fd in job.fds:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                data = b''
            if not data:
                del job.fds[fd]
                close_fd(fd)
                break
            got += len(data)
            forward(job, kind, data)
    for fd in list(job.fds):
        del job.fds[fd]
        detached.add(fd)
    maybe_done(job)

def maybe_done(job):
    if job.status is None or job.fds or job.id not in jobs:
        return
    if job.stdin_fd is not None:
        close_fd(job.stdin_fd)
        job.stdin_fd = None
    del jobs[job.id]
    st = job.status
    if job.killed:
        code = 137
    elif os.WIFSIGNALED(st):
        code = 128 + os.WTERMSIG(st)
    else:
        code = os.WEXITSTATUS(st)
    send_json(b'x', job.id, {'exit': code, 'timed_out': job.timed_out, 'output_limit': job.output_limit})

def run_python(env):
    # In the forked child: run the Python program that arrives on stdin as \`python3 -I -S -\`
    # would (this interpreter was started with -I -S too), without starting an interpreter.
    # Nothing of the supervisor's is left open or installed: its fds, its SIGCHLD wake-up.
    signal.set_wakeup_fd(-1)
    os.closerange(3, 1 << 16)  # the exec-failure pipe too: the parent now sees a start
    os.environ.clear()
    os.environ.update(env)
    if COERCED is not None and not env.get('LC_ALL') and 'LC_CTYPE' not in env and env.get('LANG', 'C') in ('', 'C', 'POSIX'):
        os.environ['LC_CTYPE'] = COERCED  # what a new interpreter's locale coercion would add
    chunks = []
    while True:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    sys.argv = ['-']
    code = 0
    try:
        exec(compile(b''.join(chunks), '<stdin>', 'exec'), {'__name__': '__main__', '__builtins__': __builtins__})
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:
            sys.stderr.write(str(e.code) + '\n')
            code = 1
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    os._exit(code & 255)

def spawn(ident, req):
    job = Job(ident, req)
    argv = [str(a) for a in req['argv']]
    env = dict(ENV)
    for kv in req.get('env') or []:
        k, _, v = kv.partition('=')
        env[k] = v
    env['CLAWGYM_EXEC_ID'] = job.marker
    cwd = req.get('cwd') or None
    stdin = req.get('stdin') or b''
    python = req.get('op') == 'py'
    r_in, w_in = os.pipe()
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    r_ex, w_ex = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        for fd in (r_in, w_in, r_out, w_out, r_err, w_err, r_ex, w_ex):
            os.close(fd)
        raise
    if pid == 0:
        try:
            os.setsid()
            os.dup2(r_in, 0)
            os.dup2(w_out, 1)
            os.dup2(w_err, 2)
            # Python ignores these; the command must get the defaults (yes | head needs SIGPIPE).
            for s in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD):
                signal.signal(s, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            if cwd:
                os.chdir(cwd)
            if python:
                # As an exec of argv would: no python3 on PATH (the agent removed it), no start.
                path = env.get('PATH', os.defpath).split(':')
                if not any(os.access(os.path.join(d or '.', argv[0]), os.X_OK) for d in path):
                    raise OSError(2, 'No such file or directory')
                run_python(env)
            os.execvpe(argv[0], argv, env)
        except BaseException as e:
            try:
                where = 'cwd' if isinstance(e, OSError) and cwd and e.filename == cwd else 'exec'
                err = getattr(e, 'errno', 0) or 0
                os.write(w_ex, ('%s %d %s' % (where, err, getattr(e, 'strerror', None) or e)).encode('utf-8', 'replace'))
            finally:
                os._exit(127)
    for fd in (r_in, w_out, w_err, w_ex):
        os.close(fd)
    failure = b''
    while True:
        chunk = os.read(r_ex, 4096)
        if not chunk:
            break
        failure += chunk
    os.close(r_ex)
    if failure:
        os.close(w_in)
        os.close(r_out)
        os.close(r_err)
        os.waitpid(pid, 0)
        parts = failure.decode('utf-8', 'replace').split(' ', 2)
        where, err, msg = parts[0], int(parts[1]), parts[2] if len(parts) > 2 else ''
        if where == 'cwd':
            text = 'clawgym: cannot enter the working directory %s: %s\n' % (cwd, msg)
        elif err == 2:
            text = 'clawgym: %s: executable file not found in $PATH\n' % argv[0]
        else:
            text = 'clawgym: cannot run %s: %s\n' % (argv[0], msg)
        send(b'e', ident, text.encode())
        send_json(b'x', ident, {'exit': 127 if err == 2 else 126, 'timed_out': False, 'output_limit': False})
        return
    job.pid = pid
    jobs[ident] = job
    for fd, kind in ((r_out, b'o'), (r_err, b'e')):
        job.fds[fd] = kind
        fd_owner[fd] = job
        poller.register(fd, select.POLLIN)
    if stdin:
        os.set_blocking(w_in, False)
        job.stdin = stdin
        job.stdin_fd = w_in
        fd_owner[w_in] = job
        poller.register(w_in, select.POLLOUT)
    else:
        os.close(w_in)

def on_output(job, fd):
    if fd in detached:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            detached.discard(fd)
            close_fd(fd)
        return
    kind = job.fds[fd]
    try:
        data = os.read(fd, 65536)
    except OSError:
        data = b''
    if not data:
        del job.fds[fd]
        close_fd(fd)
        maybe_done(job)
        return
    forward(job, kind, data)

def forward(job, kind, data):
    if job.output_limit:
        return  # killed for its output: drain without forwarding
    job.counts[kind] += len(data)
    send(kind, job.id, data)
    if job.counts[kind] > job.kill_after:
        job.output_limit = True
        job.kill()

def on_stdin(job, fd):
    try:
        n = os.write(fd, job.stdin[:65536])
    except BlockingIOError:
        return
    except OSError:
        n = len(job.stdin)  # the command closed its stdin
    job.stdin = job.stdin[n:]
    if not job.stdin:
        close_fd(fd)
        job.stdin_fd = None

def reap():
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        for job in list(jobs.values()):
            if job.pid == pid:
                job.status = st
                drain_exited(job)

def snapshot(ident, req):
    # Entries in pre-order, names sorted, never following a symlink; a file's content follows
    # its entry in 'd' frames of exactly the size announced.
    root = os.fsencode(req['dir'])
    max_total = int(req['max_total'])
    max_file = int(req['max_file'])
    try:
        st = os.lstat(root)
    except FileNotFoundError:
        send_json(b'z', ident, {'error': 'missing'})
        return
    if stat.S_ISLNK(st.st_mode):
        send_json(b'z', ident, {'error': 'symlink', 'target': os.readlink(root).decode('utf-8', 'replace')})
        return
    if not stat.S_ISDIR(st.st_mode):
        send_json(b'z', ident, {'error': 'notdir'})
        return
    total = 0
    try:
        names = sorted(os.listdir(root))
    except OSError:
        names = []
    stack = [(root, b'', iter(names))]
    while stack:
        dirpath, rel, it = stack[-1]
        name = next(it, None)
        if name is None:
            stack.pop()
            continue
        path = dirpath + b'/' + name
        relpath = rel + b'/' + name if rel else name
        try:
            st = os.lstat(path)
        except OSError:
            continue  # removed meanwhile
        shown = relpath.decode('utf-8', 'replace')
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            send_json(b'n', ident, {'p': shown, 't': 'd', 'm': mode})
            try:
                names = sorted(os.listdir(path))
            except OSError:
                names = []
            stack.append((path, relpath, iter(names)))
        elif stat.S_ISLNK(st.st_mode):
            try:
                target = os.readlink(path).decode('utf-8', 'replace')
            except OSError:
                target = ''
            send_json(b'n', ident, {'p': shown, 't': 'l', 'm': mode, 'l': target})
        elif stat.S_ISREG(st.st_mode):
            size = st.st_size
            if total + size > max_total:
                send_json(b'z', ident, {'error': 'too-large', 'path': shown, 'size': size, 'before': total})
                return
            total += size
            fd = None
            if size <= max_file:
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                except OSError:
                    fd = None
            send_json(b'n', ident, {'p': shown, 't': 'f', 'm': mode, 's': size, 'c': 0 if fd is None else 1})
            if fd is not None:
                try:
                    left = size
                    while left > 0:
                        try:
                            chunk = os.read(fd, min(left, 262144))
                        except OSError:
                            chunk = b''
                        if not chunk:
                            chunk = bytes(min(left, 262144))  # shrank meanwhile: pad, as tar does
                        send(b'd', ident, chunk)
                        left -= len(chunk)
                        if left > 0:
                            yield
                finally:
                    os.close(fd)
        else:
            send_json(b'n', ident, {'p': shown, 't': 'o', 'm': mode})
        yield
    send_json(b'z', ident, {'total': total})

def harden():
    # Not dumpable: changing the effective gid resets the dumpable flag to fs.suid_dumpable (0 or
    # 2, never 1), so processes of the agent (root in the container, without CAP_SYS_PTRACE) can
    # neither ptrace this process nor open its /proc/<pid>/mem, environ or fd/. Its forks (the
    # verifier's runner) inherit it; commands it executes become dumpable again.
    try:
        gid = os.getegid()
        os.setegid(65534 if gid != 65534 else 65533)
        os.setegid(gid)
        return True
    except OSError:
        return False

def proc_state(pid):
    # What a kept process (Docker's init, the shell that started us) looks like: its program, its
    # thread count and the system call it waits in. Code injected through /proc/<pid>/mem shows
    # as a change of one of them.
    state = []
    try:
        state.append(os.readlink('/proc/%d/exe' % pid))
    except OSError:
        state.append(None)
    try:
        state.append(len(os.listdir('/proc/%d/task' % pid)))
    except OSError:
        state.append(None)
    try:
        with open('/proc/%d/syscall' % pid, 'rb') as f:
            state.append(f.read().split(b' ', 1)[0])
    except OSError:
        state.append(None)
    return state

KEPT = {}

def quiesce(ident):
    # The agent phase is over: stop then kill every process but Docker's init, our shell and us,
    # whatever session, group or signal mask it has, until /proc shows none (reaped).
    me = os.getpid()
    keep = set([me]) | set(KEPT)
    seen = set()
    deadline = time.monotonic() + 5.0
    clean = False
    while True:
        pids = [int(d) for d in os.listdir('/proc') if d.isdigit() and int(d) not in keep]
        if not pids:
            clean = True
            break
        if time.monotonic() > deadline:
            break
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for p in pids:
                try:
                    os.kill(p, sig)
                    seen.add(p)
                except OSError:
                    pass
        reap()
        time.sleep(0.001)
    problems = []
    if not clean:
        problems.append('%d processes still there after 5 s' % len(pids))
    for pid, base in KEPT.items():
        for _ in range(50):
            now = proc_state(pid)
            if now == base:
                break
            time.sleep(0.004)
        else:
            problems.append('process %d is not as it was before the agent started (%r, was %r)' % (pid, now, base))
    send_json(b'q', ident, {'killed': len(seen), 'clean': clean and not problems, 'problems': problems, 'hardened': HARDENED})

HARDENED = False

# Where what a grader runs comes from: programs, libraries, Python's import path, loader and
# shell configuration. No process can set a ctime (it needs CAP_SYS_TIME), so anything created,
# written, renamed, linked, chmod-ed or removed there after the agent phase began has a ctime (or
# its directory has) at or after T0. On overlayfs (Docker's usual root), a change anywhere below a
# directory of the image copies that directory up, which gives it a new ctime: a directory whose
# ctime is older than the container is untouched below, and its subtree is not walked.
SYSTEM_TREES = ('/usr/bin', '/usr/sbin', '/usr/lib', '/usr/lib32', '/usr/lib64', '/usr/libx32', '/usr/libexec',
                '/usr/local', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt')
HOME_ENTRIES = ('.local', '.bashrc', '.bash_profile', '.bash_login', '.profile', '.pythonrc', '.pythonrc.py')
ENGINE_FILES = ('/etc/hostname', '/etc/hosts', '/etc/resolv.conf', '/etc/mtab')
# T0 (ns): the start of the agent phase, less the coarse clock's lag behind the real time.
T0 = [None]

def container_born():
    # When this container started (PID 1's start), less a margin for what the engine copied in
    # before starting it; None when it cannot be told, or when the root is not overlayfs.
    try:
        with open('/proc/self/mountinfo', 'rb') as f:
            for line in f:
                left, _, right = line.partition(b' - ')
                if left.split(b' ')[4] == b'/':
                    if right.split(b' ')[0] != b'overlay':
                        return None
        with open('/proc/stat', 'rb') as f:
            btime = [int(l.split()[1]) for l in f if l.startswith(b'btime ')][0]
        with open('/proc/1/stat', 'rb') as f:
            ticks = int(f.read().rpartition(b')')[2].split()[19])
        return int((btime + ticks / float(os.sysconf('SC_CLK_TCK')) - 30) * 1e9)
    except Exception:
        return None

def baseline(ident, req):
    T0[0] = time.time_ns() - 20 * 1000000 if hasattr(time, 'time_ns') else int((time.time() - 0.02) * 1e9)
    send_json(b'b', ident, {'t0': T0[0]})

def changes(ident, req):
    t0 = T0[0]
    if t0 is None:
        send_json(b'!', ident, {'message': 'no baseline'})
        return
    started = time.monotonic()
    skip = set(req.get('argv') or [])
    born = container_born()
    tops = list(SYSTEM_TREES)
    for home in ['/root'] + ['/home/' + n for n in (os.listdir('/home') if os.path.isdir('/home') else [])]:
        tops.extend(home + '/' + e for e in HOME_ENTRIES)
    out = []
    seen = [0]

    def visit(p, st):
        seen[0] += 1
        if p in skip or p in ENGINE_FILES:
            return
        if st.st_ctime_ns >= t0:
            out.append([p, 'modified'])
        if stat.S_ISDIR(st.st_mode) and not (born is not None and st.st_ctime_ns < born):
            stack.append(p)

    stack = []
    for top in tops:
        try:
            visit(top, os.lstat(top))
        except OSError:
            pass
    while stack:
        d = stack.pop()
        try:
            it = os.scandir(d)
        except OSError:
            continue
        with it:
            for e in it:
                try:
                    visit(e.path, e.stat(follow_symlinks=False))
                except OSError:
                    pass
    out.sort()
    send_json(b'c', ident, {'changes': out[:5000], 'more': max(0, len(out) - 5000), 'entries': seen[0], 'overlay': born is not None, 'ms': (time.monotonic() - started) * 1000})

def handle(line):
    try:
        req = parse_request(line)
    except Exception:
        return
    if req is None:
        return
    if req.get('op') == 'kill':
        ident = req.get('id')
        job = jobs.get(ident)
        if job is not None:
            job.kill()
        elif snapshots.pop(ident, None) is not None:
            send_json(b'z', ident, {'error': 'cancelled'})
        return
    try:
        ident = int(req['id'])
    except (KeyError, TypeError, ValueError):
        return
    send(b'a', ident)  # accepted: the host stops waiting for a sign of life
    try:
        op = req.get('op')
        if op == 'snapshot':
            snapshots[ident] = snapshot(ident, req)
        elif op == 'quiesce':
            quiesce(ident)
        elif op == 'baseline':
            baseline(ident, req)
        elif op == 'changes':
            changes(ident, req)
        elif op in ('exec', 'py'):
            spawn(ident, req)
        else:
            send_json(b'!', ident, {'message': 'unknown request %r' % (op,)})
    except Exception as e:
        send_json(b'!', ident, {'message': '%s: %s' % (type(e).__name__, e)})

def main():
    global HARDENED
    HARDENED = harden()
    for pid in set([1, os.getppid()]):
        if pid != os.getpid():
            KEPT[pid] = proc_state(pid)
    rd, wr = os.pipe()
    os.set_blocking(wr, False)
    os.set_blocking(rd, False)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    signal.set_wakeup_fd(wr)
    poller.register(rd, select.POLLIN)
    poller.register(0, select.POLLIN)
    send_json(b'H', 0, {'version': 2, 'pid': os.getpid(), 'hardened': HARDENED})
    pending = []
    stdin_open = True
    while stdin_open or jobs:
        timeout = None
        if snapshots:
            timeout = 0
        else:
            deadlines = [j.deadline for j in jobs.values() if j.deadline is not None]
            if deadlines:
                timeout = max(0, int((min(deadlines) - time.monotonic()) * 1000) + 1)
        for fd, ev in poller.poll(timeout):
            if fd == rd:
                try:
                    while os.read(rd, 512):
                        pass
                except BlockingIOError:
                    pass
                reap()
            elif fd == 0:
                data = os.read(0, 1 << 20)
                if not data:
                    stdin_open = False
                    poller.unregister(0)
                    for job in list(jobs.values()):
                        job.kill()
                    continue
                if b'\n' in data:
                    head, _, rest = data.rpartition(b'\n')
                    lines = (b''.join(pending) + head).split(b'\n')
                    pending = [rest] if rest else []
                    for line in lines:
                        if line:
                            handle(line)
                else:
                    pending.append(data)
            else:
                job = fd_owner.get(fd)
                if job is None:
                    continue
                if fd in detached:
                    on_output(job, fd)
                elif fd == job.stdin_fd:
                    on_stdin(job, fd)
                elif fd in job.fds:
                    on_output(job, fd)
        reap()
        now = time.monotonic()
        for job in list(jobs.values()):
            if job.deadline is not None and now >= job.deadline:
                job.timed_out = True
                job.kill()
        for ident, gen in list(snapshots.items()):
            try:
                for _ in range(16):
                    next(gen)
            except StopIteration:
                snapshots.pop(ident, None)
            except Exception as e:
                snapshots.pop(ident, None)
                send_json(b'z', ident, {'error': 'failed', 'message': '%s: %s' % (type(e).__name__, e)})

main()
`;
