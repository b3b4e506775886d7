"""measure: figures read from /proc: process trees, VmRSS/VmHWM, the Pss of a
process tree sampled during a run, and the CPU used by processes that are not ours."""

import os
import threading
import time
from pathlib import Path


def loadavg():
    return Path("/proc/loadavg").read_text().split()[:3]


def is_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def read_ppids():
    """pid -> ppid for every process (a snapshot; processes come and go)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry)] = int(fields[1])
    return table


def descendants(roots, ppids=None):
    """roots and all their descendants that exist now."""
    ppids = ppids if ppids is not None else read_ppids()
    children = {}
    for pid, ppid in ppids.items():
        children.setdefault(ppid, []).append(pid)
    seen, stack = [], [r for r in roots if r in ppids]
    while stack:
        pid = stack.pop()
        seen.append(pid)
        stack.extend(children.get(pid, []))
    return seen


def status_kib(pid, key):
    """VmRSS / VmHWM of /proc/PID/status in KiB, or None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def pss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def machine_busy_seconds():
    """Busy CPU time of the whole machine since boot (/proc/stat, steal included)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _cpu_table(exclude_root):
    """(pid, start time) -> (ppid, own ticks, reaped children's ticks) of every
    user-space process outside exclude_root's tree (kernel threads excluded). The
    start time tells a reused pid from the process that had it before."""
    ppids, rows = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            f = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(f[1])
        ppids[pid] = ppid
        if pid != 2 and ppid != 2:
            rows[(pid, int(f[19]))] = (ppid, int(f[11]) + int(f[12]), int(f[13]) + int(f[14]))
    mine = set(descendants([exclude_root], ppids))
    return {key: row for key, row in rows.items() if key[0] not in mine}


def _uptime_ticks():
    return float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK")


class ForeignCpuSampler(threading.Thread):
    """CPU time used, while a cell runs, by the processes that are not bench/run's
    (other engineers' builds and tests on the shared machine), in CPUs (0..nproc).
    Every interval: the growth of utime+stime and of cutime+cstime (children reaped)
    of each process outside bench/run's tree; a process that vanished is subtracted
    once when a surviving ancestor's cutime now holds all of it; a process first seen
    that started before the sampler counts from then on only. Processes that live less
    than an interval are seen through their parent's cutime (not at all when the
    parent ignores SIGCHLD: an undercount). Kernel threads are left out (they also
    carry the benchmark's own loopback traffic). Capped at the machine's busy time."""

    HZ = os.sysconf("SC_CLK_TCK")

    def __init__(self, interval=0.5):
        super().__init__(daemon=True)
        self.interval, self.ticks = interval, 0
        self._stop_event = threading.Event()
        self._me = os.getpid()
        self._start_ticks = _uptime_ticks()
        self._last = _cpu_table(self._me)
        self._t0 = time.monotonic()
        self._busy0 = machine_busy_seconds()

    def _sample(self):
        now = _cpu_table(self._me)
        for key, (ppid, own, kids) in now.items():
            before = self._last.get(key)
            if before is not None:
                self.ticks += (own - before[1]) + (kids - before[2])
            elif key[1] >= self._start_ticks - self.HZ:
                self.ticks += own + kids
        now_pids = {pid for pid, _ in now}
        last_ppid = {pid: row[0] for (pid, _), row in self._last.items()}
        for key, (ppid, own, kids) in self._last.items():
            if key not in now and self._reaped_by_survivor(ppid, now_pids, last_ppid):
                self.ticks -= own + kids
        self._last = now

    @staticmethod
    def _reaped_by_survivor(ppid, now_pids, last_ppid):
        """Whether a vanished process's times went into the cutime of a process we
        still see: its parent, or (if the parent vanished too) the parent's parent..."""
        for _ in range(64):
            if ppid in now_pids:
                return True
            if ppid not in last_ppid:
                return False
            ppid = last_ppid[ppid]
        return False

    def run(self):
        while not self._stop_event.wait(self.interval):
            self._sample()

    def finish(self):
        """(CPUs used by others, CPUs used by everything else: the benchmark's processes
        and the kernel), averages since the sampler was created."""
        self._stop_event.set()
        self.join(5)
        self._sample()
        wall = time.monotonic() - self._t0
        if wall <= 0:
            return None, None
        busy = (machine_busy_seconds() - self._busy0) / wall
        others = min(busy, max(0.0, self.ticks / self.HZ / wall))
        return others, busy - others


class PssSampler(threading.Thread):
    """Sums Pss over the process trees of roots_fn() every interval seconds."""

    def __init__(self, roots_fn, interval=0.5):
        super().__init__(daemon=True)
        self.roots_fn, self.interval = roots_fn, interval
        self.samples, self.max_procs = [], 0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            roots = self.roots_fn()
            if roots:
                pids = descendants(roots)
                self.samples.append(sum(pss_kib(p) for p in pids))
                self.max_procs = max(self.max_procs, len(pids))
            self._stop_event.wait(self.interval)

    def finish(self):
        self._stop_event.set()
        self.join(5)
        if not self.samples:
            return None, None
        return max(self.samples), sum(self.samples) / len(self.samples)
