/**
 * The local backend's keeper (Python 3, stdlib only): every exec of a local sandbox runs as a
 * child of one keeper process, which makes sure that everything the command starts stays within
 * its reach, so that `quiesce()` and `dispose()` can kill and reap all of it, however it tried to
 * get away (`setsid`, double forks, `env -i`, ignored signals, fork loops).
 *
 * - Mode `ns` (with bubblewrap): the keeper is PID 1 of the exec's own pid namespace (bwrap
 *   `--as-pid-1`). Orphans reparent to it, nothing inside can signal it, and when it exits the
 *   kernel kills whatever is left in the namespace.
 * - Mode `sub` (unisolated): the keeper makes itself a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`
 *   through ctypes), so orphans reparent to it instead of init. It says whether that worked
 *   (`r 1` or `r 0`) before starting the command. A command running as the same user can still
 *   kill the keeper; the host then sees it exit without its `d` line and reports the sandbox unclean.
 *
 * argv: `mode lc_ctype_was_set ('set' or '') original_LC_CTYPE -- command...`; the environment is
 * the command's (Python's locale coercion may add LC_CTYPE to it: argv says how it was).
 *
 * Control channel on fd 3 (a socket pair to the host):
 * - keeper -> host: `r 0|1` (mode sub: subreaper set), `x STATUS` the command exited (its exit code,
 *   or minus the signal that killed it), `d KILLED CLEAN` the keeper is done: it killed KILLED
 *   processes and nothing of the exec is left (CLEAN 1) or some could not be reaped in time (0).
 * - host -> keeper: `k` kill everything now (SIGSTOP then SIGKILL, round after round, until no
 *   descendant is left, all reaped), then report `d` and exit. End of file on fd 3 (the host went
 *   away) does the same.
 * Without `k`, the keeper stays while any descendant of the command runs (background processes
 * live on after the exec returned), and reports `d KILLED 1` and exits once there is none.
 *
 * Kept compatible with Python 3.5 (no f-strings) like the Docker supervisor.
 */
export const KEEPER_SOURCE = String.raw`
import os, sys, select, time
try:
    import _signal as signal
except ImportError:
    import signal

CTL = 3
MODE = sys.argv[1]
ENV = dict(os.environb)
if sys.argv[2] == 'set':
    ENV[b'LC_CTYPE'] = os.fsencode(sys.argv[3])
else:
    ENV.pop(b'LC_CTYPE', None)
ARGV = sys.argv[5:]
ME = os.getpid()

def send(text):
    try:
        os.write(CTL, text.encode('ascii'))
    except OSError:
        pass

if MODE == 'sub':
    ok = 0
    try:
        import ctypes
        ok = 1 if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0 else 0
    except Exception:
        ok = 0
    send('r %d\n' % ok)

wake_r, wake_w = os.pipe()
os.set_blocking(wake_r, False)
os.set_blocking(wake_w, False)
signal.signal(signal.SIGCHLD, lambda n, f: None)
signal.set_wakeup_fd(wake_w)

main = os.fork()
if main == 0:
    try:
        signal.set_wakeup_fd(-1)
        for name in ('SIGCHLD', 'SIGPIPE', 'SIGXFSZ', 'SIGINT', 'SIGTERM', 'SIGHUP'):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
        os.close(CTL)
        os.close(wake_r)
        os.close(wake_w)
        os.execvpe(ARGV[0], ARGV, ENV)
    except OSError as e:
        try:
            os.write(2, ('%s: %s\n' % (ARGV[0], e.strerror)).encode('utf-8', 'replace'))
        finally:
            os._exit(127 if e.errno == 2 else 126)
    os._exit(126)

main_status = None

def status_code(st):
    if os.WIFSIGNALED(st):
        return -os.WTERMSIG(st)
    if os.WIFEXITED(st):
        return os.WEXITSTATUS(st)
    return -1

def reap():
    # Reap what has ended; False when no child is left (so no descendant either: orphans come here).
    global main_status
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True
        if pid == main and main_status is None:
            main_status = status_code(st)
            send('x %d\n' % main_status)

def descendants():
    # (pid, state) of every process below us, from the parent links in /proc.
    children = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/' + d + '/stat', 'rb') as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(b')') + 2:].split()
        if len(rest) < 2:
            continue
        children.setdefault(int(rest[1]), []).append((int(d), rest[0]))
    found = []
    todo = [ME]
    while todo:
        for pid, state in children.get(todo.pop(), ()):
            found.append((pid, state))
            todo.append(pid)
    return found

def kill_all(deadline_s):
    killed = set()
    end = time.monotonic() + deadline_s
    while True:
        live = [pid for pid, state in descendants() if state != b'Z']
        # Stop them all first (a fork loop cannot outrun a frozen parent), then kill.
        for pid in live:
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                pass
        for pid in live:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except OSError:
                pass
        if not reap():
            return len(killed), 1
        if time.monotonic() > end:
            return len(killed), 0
        time.sleep(0.002)

def finish(killed, clean):
    send('d %d %d\n' % (killed, clean))
    os._exit(0)

ctl_open = True
while True:
    if not reap():
        finish(0, 1)
    fds = [wake_r, CTL] if ctl_open else [wake_r]
    try:
        ready = select.select(fds, [], [], 1.0)[0]
    except OSError:
        ready = []
    if wake_r in ready:
        try:
            while os.read(wake_r, 512):
                pass
        except OSError:
            pass
    if CTL in ready:
        try:
            data = os.read(CTL, 512)
        except OSError:
            data = b''
        if not data or b'k' in data:
            ctl_open = False
            finish(*kill_all(10.0))
`;
