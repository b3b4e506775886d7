"""servers: the systems under test, one class per kind of System (bench/run):
StaticServer (nginx alone), NativeServer (spawn-fcgi + libfcgi app), FcgiwrapServer,
FcgiRunServer. Each starts on a unix socket for one program and N workers, tells its
process roots (for RSS and PSS) and stops; processes belong to the Runner."""

import os
import re
import socket
import subprocess
import time
from pathlib import Path

from benchlib import BenchError, can_connect, command_output, tail
from measure import is_alive, status_kib

class Server:
    """One system under test. start() returns None or why it did not start."""

    def __init__(self, system, runner, progs):
        self.system, self.runner, self.progs = system, runner, progs
        self.sock = runner.socket_path(system)
        self.proc = None

    def roots(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def fallback(self):
        """Why the last run did not use the system's own mode (None: it did)."""
        return None

    def launcher_rss(self):
        roots = self.roots()
        if not roots:
            return None, None
        rss = [status_kib(p, "VmRSS") or 0 for p in roots]
        hwm = [status_kib(p, "VmHWM") or 0 for p in roots]
        return max(rss), max(hwm)

    def _wait_ready(self, what):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                log = tail(self.runner.tmp / "logs" / f"{self.system.name}.log", 3).strip()
                return f"{what} exited with status {self.proc.returncode}: {log}"
            if can_connect(socket.AF_UNIX, str(self.sock)):
                return None
            time.sleep(0.02)
        return f"{what} did not listen on {self.sock} within 10 s"

    def stop(self):
        self.runner.stop(self.proc, grace=5.0)
        self.proc = None
        self.runner.reap()


class StaticServer(Server):
    def start(self, program, workers):
        return None

    def stop(self):
        pass


# A warning of fcgi-run that it serves a program in exec mode although another mode
# was asked for ("fork mode: ...; serving PROGRAM in exec mode"), or a script compiled
# per request although fork mode parks scripts after compilation ("fork mode: SCRIPT
# is not parked after compilation: ...").
FALLBACK_RE = re.compile(r"warning:.*(in exec mode|fall(s|ing)? back|is not parked after compilation)",
                         re.IGNORECASE)


class FcgiRunServer(Server):
    """fcgi-run --mode M. In fork/persistent mode, --compat-library is passed when the
    binary knows the option and the build holds libfcgi-run-compat.so. fallback()
    tells whether fcgi-run logged that it served the last run in exec mode instead."""

    def __init__(self, system, runner, progs, binary, compat_library, extra_args):
        super().__init__(system, runner, progs)
        self.binary, self.compat_library = binary, compat_library
        self.extra_args = list(extra_args)
        self.help = command_output([str(binary), "--help"])
        self.log = runner.tmp / "logs" / f"{system.name}.log"
        self.log_offset = 0

    def start(self, program, workers):
        self.sock.unlink(missing_ok=True)
        self.log_offset = self.log.stat().st_size if self.log.exists() else 0
        argv = [str(self.binary), "--listen", f"unix:{self.sock}", "--workers", str(workers),
                "--socket-mode", "0666", "--mode", self.system.mode,
                "--shutdown-timeout", "3"]
        if self.system.mode != "exec" and self.compat_library:
            argv += ["--compat-library", str(self.compat_library)]
        argv += self.extra_args
        if os.geteuid() == 0 and "--allow-root" in self.help:
            argv.append("--allow-root")  # fcgi-run refuses root programs without it
        self.proc = self.runner.popen(argv + [str(program)], self.log.name)
        return self._wait_ready(" ".join(["fcgi-run --mode", self.system.mode] + self.extra_args))

    def fallback(self):
        if self.system.mode == "exec" or not self.log.exists():
            return None
        with open(self.log, "rb") as f:
            f.seek(self.log_offset)
            text = f.read().decode(errors="replace")
        for line in text.splitlines():
            if FALLBACK_RE.search(line):
                return line.split("warning:", 1)[-1].strip()
        return None


class FcgiwrapServer(Server):
    def start(self, program, workers):
        self.sock.unlink(missing_ok=True)
        argv = ["fcgiwrap", "-f", "-c", str(workers), "-s", f"unix:{self.sock}"]
        self.proc = self.runner.popen(argv, f"{self.system.name}.log")
        return self._wait_ready("fcgiwrap")


class NativeServer(Server):
    """spawn-fcgi -F N forks N copies of the libfcgi app and exits; the copies are
    reparented to bench/run (a subreaper) and tracked by pid."""

    def __init__(self, system, runner, progs):
        super().__init__(system, runner, progs)
        self.pids = []

    def start(self, program, workers):
        self.sock.unlink(missing_ok=True)
        argv = ["spawn-fcgi", "-s", str(self.sock), "-M", "0666", "-F", str(workers), "--",
                str(self.progs / "native-hello")]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                           start_new_session=True)
        for line in (r.stdout + r.stderr).splitlines():
            if "PID:" in line:
                self.pids.append(int(line.rsplit("PID:", 1)[1].strip()))
        self.runner.orphans.update(self.pids)
        if r.returncode != 0 or len(self.pids) != workers:
            return f"spawn-fcgi failed ({r.returncode}): {(r.stdout + r.stderr).strip()}"
        return self._wait_ready("spawn-fcgi")

    def roots(self):
        return [p for p in self.pids if is_alive(p)]

    def stop(self):
        self.runner.kill_pids(self.pids)
        self.pids = []


def find_compat_library(fcgi_run, build):
    """The build's libfcgi-run-compat.so, if fcgi-run has --compat-library."""
    if "--compat-library" not in command_output([str(fcgi_run), "--help"]):
        return None
    found = sorted(Path(build).glob("**/libfcgi-run-compat.so"))
    return found[0] if found else None


def make_server(system, runner, fcgi_run, progs, compat_library=None, fcgi_run_args=()):
    if system.kind == "static":
        return StaticServer(system, runner, progs)
    if system.kind == "native":
        return NativeServer(system, runner, progs)
    if system.kind == "fcgiwrap":
        return FcgiwrapServer(system, runner, progs)
    if system.kind == "fcgi-run":
        return FcgiRunServer(system, runner, progs, fcgi_run, compat_library, fcgi_run_args)
    raise BenchError(f"unknown system kind {system.kind}")
