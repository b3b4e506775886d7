#!/usr/bin/env python3
"""Captures real web-server FastCGI traffic as seeds for connection_state_fuzzer.

Usage: tests/fuzz/capture_corpus.py [OUT_DIR]
       (default OUT_DIR: tests/fuzz/corpus/connection_state_fuzzer)

A tiny recording FastCGI application listens on 127.0.0.1; nginx (keep_conn on
and off), Apache mod_proxy_fcgi and cgi-fcgi each send it a GET and a POST. It
answers every request with a small page and saves, per connection, every byte
the client sent: capture-<client>-<what>. Needs nginx-light, apache2, libfcgi-bin
and curl (scripts/install-deps test), and root for Apache's User directive.
Loopback only; every wait is bounded. The outputs are committed (small files);
rerun this after changing it (PARAMS such as REMOTE_PORT differ between runs).
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BEGIN, ABORT, END, PARAMS, STDIN, STDOUT = 1, 2, 3, 4, 5, 6


def record(rtype, rid, content=b""):
    padding = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), padding, 0) + content + b"\0" * padding


class Recorder:
    """A FastCGI application that records what each connection sends."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = []  # bytes per finished connection
        self.lock = threading.Lock()
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        received = b""
        parsed = 0
        keep = {}
        conn.settimeout(20)
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                received += data
                close = False
                while len(received) - parsed >= 8:
                    _, rtype, rid, clen, plen, _ = struct.unpack(">BBHHBB", received[parsed:parsed + 8])
                    if len(received) - parsed < 8 + clen + plen:
                        break
                    content = received[parsed + 8:parsed + 8 + clen]
                    parsed += 8 + clen + plen
                    if rtype == BEGIN:
                        keep[rid] = bool(content[2] & 1)
                    elif rtype == STDIN and clen == 0:
                        page = b"Content-Type: text/plain\r\n\r\nrecorded\n"
                        conn.sendall(record(STDOUT, rid, page) + record(STDOUT, rid) +
                                     record(END, rid, struct.pack(">IB3x", 0, 0)))
                        close = close or not keep.get(rid, False)
                if close:
                    break
        except OSError:
            pass
        finally:
            conn.close()
            with self.lock:
                self.connections.append(received)

    def take(self, count, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.connections) >= count:
                    out, self.connections = self.connections, []
                    return out
            time.sleep(0.05)
        with self.lock:
            out, self.connections = self.connections, []
        return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def curl(url, body=None):
    cmd = ["curl", "-sS", "--max-time", "10", "-o", "/dev/null", url]
    if body is not None:
        cmd += ["-H", "Content-Type: application/x-www-form-urlencoded", "--data-binary", body]
    subprocess.run(cmd, check=False, timeout=20)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def nginx(recorder, work, keep_conn):
    port = free_port()
    d = tempfile.mkdtemp(dir=work)
    conf = f"""daemon off; master_process off; user root; pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/cb; fastcgi_temp_path {d}/ft; proxy_temp_path {d}/pt;
  uwsgi_temp_path {d}/ut; scgi_temp_path {d}/st;
  upstream app {{ server 127.0.0.1:{recorder.port}; {"keepalive 4;" if keep_conn else ""} }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME /srv/app.cgi;
      fastcgi_keep_conn {"on" if keep_conn else "off"};
      fastcgi_pass app;
    }}
  }}
}}
"""
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(conf)
    proc = subprocess.Popen(["nginx", "-c", f"{d}/nginx.conf", "-p", d + "/", "-e", f"{d}/error.log"])
    try:
        if not wait_port(port):
            sys.exit("nginx did not start")
        curl(f"http://127.0.0.1:{port}/app.cgi?a=1&b=two")
        curl(f"http://127.0.0.1:{port}/app.cgi?form=1", b"name=fcgi-run&value=42")
    finally:
        stop(proc)
    return recorder.take(1 if keep_conn else 2)


def apache(recorder, work):
    port = free_port()
    d = tempfile.mkdtemp(dir=work)
    os.chmod(d, 0o755)
    m = "/usr/lib/apache2/modules/"
    conf = f"""ServerRoot "{d}"
DefaultRuntimeDir "{d}"
PidFile "{d}/apache2.pid"
Mutex file:{d} default
Listen 127.0.0.1:{port}
ServerName localhost
LoadModule mpm_event_module {m}mod_mpm_event.so
LoadModule authz_core_module {m}mod_authz_core.so
LoadModule proxy_module {m}mod_proxy.so
LoadModule proxy_fcgi_module {m}mod_proxy_fcgi.so
User www-data
Group www-data
ErrorLog "{d}/error.log"
<Directory />
  Require all granted
</Directory>
ProxyPass "/app.cgi" "fcgi://127.0.0.1:{recorder.port}/srv/app.cgi"
"""
    with open(f"{d}/apache2.conf", "w") as f:
        f.write(conf)
    proc = subprocess.Popen(["apache2", "-f", f"{d}/apache2.conf", "-DFOREGROUND"])
    try:
        if not wait_port(port):
            sys.exit("apache2 did not start")
        curl(f"http://127.0.0.1:{port}/app.cgi?a=1&b=two")
        curl(f"http://127.0.0.1:{port}/app.cgi?form=1", b"name=fcgi-run&value=42")
    finally:
        stop(proc)
    return recorder.take(2)


def cgi_fcgi(recorder):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "REQUEST_METHOD": "GET",
           "QUERY_STRING": "a=1&b=two", "SCRIPT_FILENAME": "/srv/app.cgi", "SCRIPT_NAME": "/app.cgi"}
    cmd = ["cgi-fcgi", "-bind", "-connect", f"127.0.0.1:{recorder.port}"]
    subprocess.run(cmd, env=env, input=b"", stdout=subprocess.DEVNULL, timeout=20, check=False)
    body = b"name=fcgi-run&value=42"
    env.update(REQUEST_METHOD="POST", CONTENT_LENGTH=str(len(body)),
               CONTENT_TYPE="application/x-www-form-urlencoded")
    subprocess.run(cmd, env=env, input=body, stdout=subprocess.DEVNULL, timeout=20, check=False)
    return recorder.take(2)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "connection_state_fuzzer")
    os.makedirs(out, exist_ok=True)
    recorder = Recorder()
    work = tempfile.mkdtemp(prefix="fcgi-capture-")
    try:
        captures = {}
        get_post = ["get", "post"]
        for name, data in zip(get_post, nginx(recorder, work, keep_conn=False)):
            captures[f"nginx-{name}"] = data
        for data in nginx(recorder, work, keep_conn=True):
            captures["nginx-keepconn-get-post"] = data
        for name, data in zip(get_post, apache(recorder, work)):
            captures[f"apache-proxy-fcgi-{name}"] = data
        for name, data in zip(get_post, cgi_fcgi(recorder)):
            captures[f"cgi-fcgi-{name}"] = data
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, data in sorted(captures.items()):
        if not data:
            sys.exit(f"capture {name} is empty")
        with open(os.path.join(out, f"capture-{name}"), "wb") as f:
            f.write(data)
        print(f"capture-{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
