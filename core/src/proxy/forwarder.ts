/**
 * The in-sandbox half of the model proxy: a stdlib-Python TCP forwarder. The sandbox keeps
 * `--network none`; the host-side proxy (modelProxy.ts) listens on a unix socket whose directory
 * is bind-mounted into the sandbox, and this program listens on 127.0.0.1:PORT inside it and
 * relays each TCP connection to that socket, byte for byte, both ways. Agents then use
 * `http://127.0.0.1:PORT/v1` like any OpenAI-compatible endpoint.
 *
 * Usage: `python3 -I -S forward.py SOCKET PORT PORTFILE`: PORT 0 picks a free port; the port in
 * use is written to PORTFILE (atomically, via a rename) once it listens, which is how the agent
 * wrapper knows it is ready. It runs until killed.
 */
export const FORWARDER_PY = `import os, socket, sys, threading

def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass

def serve(conn, path):
    try:
        up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        up.connect(path)
    except OSError as e:
        sys.stderr.write("clawgym forwarder: cannot reach the model proxy at %s: %s\\n" % (path, e))
        conn.close()
        return
    a = threading.Thread(target=pipe, args=(conn, up), daemon=True)
    b = threading.Thread(target=pipe, args=(up, conn), daemon=True)
    a.start(); b.start(); a.join(); b.join()
    conn.close(); up.close()

def main():
    path, port, portfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(tmp, portfile)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, path), daemon=True).start()

main()
`;
