"""benchlib: the machinery of bench/run: the processes it starts (and always stops),
nginx, one measured cell (smoke test, wrk, figures), and the run's metadata.
The servers under test are in servers.py, the /proc figures in measure.py.

Every process is started in its own session and registered with the Runner, whose
close() stops them all (SIGTERM, then SIGKILL) on normal exit, on errors and on
Ctrl-C. bench/run makes itself a child subreaper, so daemonized processes
(spawn-fcgi's children) are reparented to it and reaped here, never left behind.
"""

import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from measure import (ForeignCpuSampler, PssSampler, is_alive, loadavg, read_ppids,
                     status_kib)

PR_SET_CHILD_SUBREAPER = 36
MIB = 1024 * 1024


class BenchError(Exception):
    """The run itself cannot go on (missing tool, nginx does not start, ...)."""


def raise_interrupt(signum, frame):
    raise KeyboardInterrupt()


def require_tools(names):
    missing = [n for n in names if shutil.which(n) is None
               and not Path("/usr/sbin", n).exists()]
    if missing:
        raise BenchError(f"missing tools: {' '.join(missing)} (run scripts/install-deps bench)")


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise BenchError("prctl(PR_SET_CHILD_SUBREAPER) failed")


def copy_executable(src, dst):
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o755)


def compile_c(src, out, libs):
    cmd = ["cc", "-O2", "-Wall", "-Wextra", "-o", str(out), str(src)] + libs
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed:\n{r.stderr}")


def cgi_body(program, query):
    """Runs a CGI program once, directly, and returns its body (after the header)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "QUERY_STRING": query,
           "REQUEST_METHOD": "GET", "GATEWAY_INTERFACE": "CGI/1.1"}
    out = subprocess.run([str(program)], env=env, capture_output=True, check=True).stdout
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in out:
            return out.split(sep, 1)[1]
    raise BenchError(f"{program}: no CGI header in its output")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_connect(family, address):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(address)
            return True
        except OSError:
            return False


# ---------------------------------------------------------------- processes

class Runner:
    """Owns the temporary directory and every process of the run."""

    def __init__(self, tmp, keep=False):
        self.tmp, self.keep = Path(tmp), keep
        self.procs = []  # Popen objects, each leader of its own session
        self.orphans = set()  # pids of daemonized processes (reparented to us)
        (self.tmp / "socks").mkdir()
        (self.tmp / "logs").mkdir()
        self.nginx = None

    def popen(self, argv, log_name, **kw):
        log = open(self.tmp / "logs" / log_name, "ab")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True, **kw)
        finally:
            log.close()
        self.procs.append(p)
        return p

    def stop(self, p, grace=5.0):
        """SIGTERM to p's process group, SIGKILL after grace seconds."""
        if p is None:
            return
        if p.poll() is None:
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if p in self.procs:
            self.procs.remove(p)

    def kill_pids(self, pids, grace=1.0):
        """Stops daemonized processes (children of ours through the subreaper)."""
        live = [p for p in pids if status_kib(p, "VmRSS") is not None]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in live:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.time() + grace
            while time.time() < deadline and any(is_alive(p) for p in live):
                self.reap()
                time.sleep(0.05)
        self.reap()
        self.orphans.difference_update(pids)

    def reap(self):
        """Reaps zombies reparented to us (not the Popen children: they reap themselves)."""
        mine = {p.pid for p in self.procs}
        me = os.getpid()
        for pid, ppid in read_ppids().items():
            if ppid == me and pid not in mine:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass

    def close(self):
        for p in list(self.procs):
            if p is not self.nginx:
                self.stop(p, grace=3.0)
        if self.orphans:
            self.kill_pids(list(self.orphans))
        if self.nginx is not None:
            self.stop(self.nginx, grace=3.0)
        self.reap()
        if self.keep:
            print(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------ nginx

    def start_nginx(self, systems, progs, www):
        port = free_port()
        root = self.tmp / "nginx"
        root.mkdir()
        conf = root / "nginx.conf"
        conf.write_text(nginx_config(systems, self.tmp, progs, www, port))
        self.nginx = self.popen(["nginx", "-p", str(root), "-c", str(conf),
                                 "-e", str(self.tmp / "logs" / "nginx-error.log")], "nginx.out")
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.nginx.poll() is not None:
                break
            if can_connect(socket.AF_INET, ("127.0.0.1", port)):
                return port
            time.sleep(0.05)
        log = tail(self.tmp / "logs" / "nginx-error.log") + tail(self.tmp / "logs" / "nginx.out")
        raise BenchError(f"nginx did not start on 127.0.0.1:{port}:\n{log}")

    def socket_path(self, system):
        return self.tmp / "socks" / f"{system.name}.sock"

    # ------------------------------------------------------------ cells

    def probe(self, server, workload, port, workers):
        """Starts the system once on the C hello: None if it serves, else why not."""
        problem = server.start(server.progs / workload.program, workers)
        if problem:
            server.stop()
            return problem
        try:
            problem = smoke_check(port, server.system, workload, 5)
        finally:
            server.stop()
        fallback = server.fallback()
        if not problem and fallback:
            problem = f"fcgi-run did not serve the program in its own mode: {fallback}"
        return problem

    def run_cell(self, server, system, workload, rnd, port, args, duration, post_bytes):
        """Starts the system for the workload, smoke-tests it, runs wrk (twice for
        mixed: the unloaded baseline, then the mixed load), stops it. One dict of
        figures; without "rps" (and with a note) when the cell could not be measured."""
        workers = workload.workers or args.workers
        cell = dict(round=rnd, workload=workload.name, system=system.name, workers=workers,
                    note="")
        foreign = None
        pss = None
        runs = {}
        try:
            problem = server.start(server.progs / workload.program, workers)
            if not problem:
                problem = smoke_check(port, system, workload, post_bytes)
            if not problem:
                pss = PssSampler(server.roots) if server.roots() else None
                if pss:
                    pss.start()
                url = f"http://127.0.0.1:{port}/{system.name}/{workload.program}"
                if workload.query:
                    url += "?" + workload.query
                modes = ["think", "mixed"] if workload.wrk_mode == "mixed" \
                    else [workload.wrk_mode]
                foreign = ForeignCpuSampler()  # CPU shares while wrk runs
                foreign.start()
                for mode in modes:
                    runs[mode] = run_wrk(url, mode, args, duration, post_bytes,
                                         self.tmp / "logs" / "wrk.err")
                cell["other_cpu"], cell["own_cpu"] = foreign.finish()
                foreign = None
                cell["launcher_rss_kib"], cell["launcher_hwm_kib"] = server.launcher_rss()
        finally:
            if pss:
                cell["pss_peak_kib"], cell["pss_mean_kib"] = pss.finish()
            if foreign:
                foreign.finish()
            server.stop()
        cell["load1"] = float(loadavg()[0])
        fallback = server.fallback()
        if problem or fallback:
            cell["note"] = problem or "fallback, not counted: " + fallback
            return cell
        main = runs[workload.wrk_mode]
        if main is None or (workload.wrk_mode == "mixed" and runs["think"] is None):
            cell["note"] = "wrk produced no result (see logs/wrk.err)"
            return cell
        seconds = main["duration_us"] / 1e6
        cell["requests"] = main["requests"]
        cell["rps"] = main["requests"] / seconds
        sent = main["requests"] * post_bytes if workload.wrk_mode == "post" else 0
        cell["mib_s"] = (main["bytes"] + sent) / seconds / MIB
        all_seconds = sum(r["duration_us"] for r in runs.values()) / 1e6
        if cell.get("own_cpu"):
            cell["req_per_cpu_s"] = sum(r["requests"] for r in runs.values()) / \
                (cell["own_cpu"] * all_seconds)
        cell["errors"] = sum(main[k] for k in main if k.startswith("err_")) + \
            main.get("untimed", 0)
        if workload.wrk_mode == "mixed":
            think = runs["think"]
            cell["p50_ms"] = main["fast_p50_us"] / 1000
            cell["p99_ms"] = main["fast_p99_us"] / 1000
            cell["unloaded_p99_ms"] = think["fast_p99_us"] / 1000
            cell["unloaded_p50_ms"] = think["fast_p50_us"] / 1000
            cell["slow_p50_ms"] = main["slow_p50_us"] / 1000
            cell["slow_share"] = main["slow_count"] / max(1, main["slow_count"] +
                                                          main["fast_count"])
            cell["errors"] += sum(think[k] for k in think if k.startswith("err_")) + \
                think.get("untimed", 0)
        else:
            cell["p50_ms"] = main["p50_us"] / 1000
            cell["p99_ms"] = main["p99_us"] / 1000
        if cell["errors"]:
            cell["note"] = f"{cell['errors']} failed requests"
        return cell


def tail(path, lines=8):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:]) + "\n"
    except OSError:
        return ""


def nginx_config(systems, tmp, progs, www, port):
    locations = []
    for s in systems:
        if s.kind == "static":
            locations.append(
                f"    location = /{s.name}/hello.cgi {{ return 200 \"Hello, world!\\n\"; }}\n"
                f"    location = /{s.name}/large.cgi {{ alias {www}/large.bin; }}\n")
            continue
        sock = tmp / "socks" / f"{s.name}.sock"
        locations.append(
            f"    location ~ ^/{s.name}/(?<bench_prog>[A-Za-z0-9._-]+)$ {{\n"
            f"      include /etc/nginx/fastcgi_params;\n"
            f"      fastcgi_param SCRIPT_FILENAME {progs}/$bench_prog;\n"
            f"      fastcgi_pass unix:{sock};\n"
            f"    }}\n")
    t = tmp / "nginx"
    return (
        "daemon off;\nmaster_process on;\nworker_processes 1;\nuser root;\n"
        f"pid {t}/nginx.pid;\n"
        f"error_log {tmp}/logs/nginx-error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "  access_log off;\n  default_type text/plain;\n"
        f"  client_body_temp_path {t}/body;\n  fastcgi_temp_path {t}/fastcgi;\n"
        f"  proxy_temp_path {t}/proxy;\n  uwsgi_temp_path {t}/uwsgi;\n"
        f"  scgi_temp_path {t}/scgi;\n"
        "  keepalive_requests 1000000;\n"
        # 10 MiB bodies are kept in memory, 1 MiB responses too: no temp files.
        "  client_max_body_size 64m;\n  client_body_buffer_size 16m;\n"
        "  fastcgi_buffer_size 64k;\n  fastcgi_buffers 32 64k;\n"
        "  fastcgi_max_temp_file_size 0;\n"
        "  fastcgi_read_timeout 60s;\n  fastcgi_send_timeout 60s;\n"
        f"  server {{\n    listen 127.0.0.1:{port};\n    server_name localhost;\n"
        + "".join(locations) +
        "  }\n}\n")


def smoke_check(port, system, workload, post_bytes):
    """One request through nginx before measuring: None if the answer is right."""
    path = f"/{system.name}/{workload.program}"
    headers, body = {}, None
    if workload.wrk_mode == "post":
        body = b"hello"
    elif workload.wrk_mode == "mixed":
        path += "?fast"
        headers["X-Bench"] = "f1"
    elif workload.query:
        path += "?" + workload.query
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        conn.request("POST" if body else "GET", path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
    except (OSError, http.client.HTTPException) as e:
        return f"smoke test {path}: {e}"
    text = data.decode("latin-1")
    snippet = text[:120].replace("\n", " ")
    if resp.status != 200:
        return f"smoke test {path}: HTTP {resp.status}: {snippet}"
    if workload.expect and workload.expect not in text:
        return f"smoke test {path}: {workload.expect!r} not in {snippet!r}"
    if workload.expect_length >= 0 and len(data) != workload.expect_length:
        return f"smoke test {path}: {len(data)} bytes, expected {workload.expect_length}"
    if workload.wrk_mode == "post" and "length=5" not in text:
        return f"smoke test {path}: body not echoed: {snippet!r}"
    if workload.wrk_mode == "mixed" and resp.getheader("X-Bench") != "f1":
        return f"smoke test {path}: X-Bench header not echoed"
    return None


def run_wrk(url, mode, args, duration, post_bytes, err_log):
    lua = Path(__file__).resolve().parent.parent / "wrk.lua"
    env = dict(os.environ, BENCH_MODE=mode, BENCH_BODY_BYTES=str(post_bytes))
    cmd = ["wrk", "-t", str(args.threads), "-c", str(args.connections),
           "-d", f"{duration:g}s", "--timeout", "10s", "--latency", "-s", str(lua), url]
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=duration + 60)
    except subprocess.TimeoutExpired:
        return None
    for line in r.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.split(" ", 1)[1])
    with open(err_log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n{r.stdout}\n{r.stderr}\n")
    return None


def format_cell(c):
    if "rps" not in c:
        return f"  r{c['round']} {c['workload']:<10} {c['system']:<20} FAILED: {c['note']}"
    mem = ""
    if c.get("launcher_rss_kib"):
        mem = f"  rss {c['launcher_rss_kib'] / 1024:.1f} MiB"
    if c.get("pss_peak_kib"):
        mem += f"  pss {c['pss_peak_kib'] / 1024:.1f} MiB"
    extra = f"  unloaded p99 {c['unloaded_p99_ms']:.2f} ms" if "unloaded_p99_ms" in c else ""
    return (f"  r{c['round']} {c['workload']:<10} {c['system']:<20} {c['rps']:9.1f} req/s"
            f"  p50 {c['p50_ms']:7.2f} ms  p99 {c['p99_ms']:7.2f} ms"
            f"  {c['mib_s']:8.1f} MiB/s{extra}{mem}  load {c['load1']:.2f}"
            f"  cpu ours {c.get('own_cpu') or 0:.2f} others {c.get('other_cpu') or 0:.2f}"
            + (f"  [{c['note']}]" if c["note"] else ""))


# ---------------------------------------------------------------- metadata

def command_output(argv, cwd=None):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10, cwd=cwd)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def dpkg_version(pkg):
    return command_output(["dpkg-query", "-W", "-f=${Version}", pkg]) or "?"


def collect_meta(repo, fcgi_run, build):
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    build_type = "?"
    cache = Path(build) / "CMakeCache.txt"
    if cache.exists():
        for line in cache.read_text().splitlines():
            if line.startswith("CMAKE_BUILD_TYPE:"):
                build_type = line.split("=", 1)[1] or "(none)"
    return dict(
        nproc=os.cpu_count(), cpu=cpu, kernel=os.uname().release,
        nginx=command_output(["nginx", "-v"]).replace("nginx version: ", ""),
        fcgiwrap=dpkg_version("fcgiwrap"), spawn_fcgi=dpkg_version("spawn-fcgi"),
        libfcgi=dpkg_version("libfcgi0ldbl"), wrk=dpkg_version("wrk"),
        fcgi_run=command_output([str(fcgi_run), "--version"]),
        git_describe=command_output(["git", "describe", "--always", "--dirty", "--tags"], cwd=repo),
        git_commit=command_output(["git", "rev-parse", "HEAD"], cwd=repo),
        build_type=build_type)
