"""report: turns bench/run's per-round cells into medians, ratios, target lines,
and the three output files (latest.md, latest.csv, latest.png).

Ratios are computed round by round (a system against fcgiwrap, or the native app,
measured in the same round) and the median of those ratios is reported, so a slow
spell of the shared machine in one round does not skew them.
"""

import csv
import math
import statistics
import subprocess
import time
from pathlib import Path

MIB_KIB = 1024.0
FIGURES = ["rps", "p50_ms", "p99_ms", "mib_s", "launcher_rss_kib", "launcher_hwm_kib",
           "pss_peak_kib", "pss_mean_kib", "unloaded_p50_ms", "unloaded_p99_ms",
           "slow_p50_ms", "slow_share", "errors", "requests", "load1", "other_cpu", "own_cpu",
           "req_per_cpu_s"]


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _metric(workload):
    return "mib_s" if workload.bytes_metric else "rps"


def _ratios(cells, refs, key):
    by_round = {c["round"]: c for c in refs if key in c}
    out = []
    for c in cells:
        ref = by_round.get(c["round"])
        if key in c and ref and ref[key] > 0:
            out.append(c[key] / ref[key])
    return out


def summarize(results, systems, workloads, servers):
    """(workload name, system name) -> dict of medians, ratios and status."""
    ok = {}
    for c in results:
        if "rps" in c:
            ok.setdefault((c["workload"], c["system"]), []).append(c)
    summary = {}
    for w in workloads:
        for s in systems:
            entry = {"status": "ok", "notes": []}
            summary[(w.name, s.name)] = entry
            if s.kind not in w.kinds:
                entry["status"] = "n/a"
                continue
            if s.name not in servers:
                entry["status"] = "skipped"
                continue
            cells = ok.get((w.name, s.name), [])
            failed = [c for c in results if c["workload"] == w.name and c["system"] == s.name
                      and "rps" not in c]
            entry["rounds"] = len(cells)
            entry["workers"] = (cells or failed or [{}])[0].get("workers")
            entry["notes"] = sorted({c["note"] for c in results if c["workload"] == w.name
                                     and c["system"] == s.name and c["note"]})
            if not cells:
                entry["status"] = "failed" if failed else "not run"
                continue
            for key in FIGURES:
                entry[key] = _median([c.get(key) for c in cells])
            rps = [c["rps"] for c in cells]
            entry["spread"] = (max(rps) - min(rps)) / entry["rps"] if entry["rps"] else 0
            entry["rss_max_kib"] = max((c.get("launcher_rss_kib") or 0) for c in cells)
            metric = _metric(w)
            for ref_name, key in (("fcgiwrap", "x_fcgiwrap"), ("native", "x_native")):
                if ref_name == s.name:
                    continue
                refs = ok.get((w.name, ref_name), [])
                entry[key] = _median(_ratios(cells, refs, metric))
                entry[key + "_cpu"] = _median(_ratios(cells, refs, "req_per_cpu_s"))
            if w.wrk_mode == "mixed":
                entry["p99_vs_unloaded"] = _median(
                    [c["p99_ms"] / c["unloaded_p99_ms"] for c in cells
                     if c.get("unloaded_p99_ms")])
    return summary


def evaluate_targets(summary, systems, servers, notes):
    """[(PASS|FAIL|SKIP, text)]: the goals of the brief, checked on the medians."""
    names = {s.name for s in systems}
    lines = []

    def check(system, workload, key, op, threshold, what):
        if system not in names:
            return
        if system not in servers:
            lines.append(("SKIP", f"{what}: {system} not available"))
            return
        entry = summary.get((workload, system))
        value = entry.get(key) if entry else None
        if value is None:
            lines.append(("SKIP", f"{what}: no measurement ({workload} not run or failed)"))
            return
        passed = value >= threshold if op == ">=" else value < threshold
        shown = f"{value:.2f}x" if key.startswith("x_") or key == "p99_vs_unloaded" \
            else f"{value:.1f}"
        per_cpu = entry.get(key + "_cpu") if key.startswith("x_") else None
        aside = f"; per CPU-second: {per_cpu:.2f}x" if per_cpu is not None else ""
        lines.append(("PASS" if passed else "FAIL",
                      f"{what}: {shown} (goal {op} {threshold:g}){aside}"))

    check("fcgi-run-exec", "c-hello", "x_fcgiwrap", ">=", 1.2, "exec vs fcgiwrap, C hello req/s")
    check("fcgi-run-fork", "c-hello", "x_fcgiwrap", ">=", 2.0, "fork vs fcgiwrap, C hello req/s")
    check("fcgi-run-persistent", "c-hello", "x_native", ">=", 0.8,
          "persistent vs native, C hello req/s")
    check("fcgi-run-persistent", "c-hello", "x_fcgiwrap", ">=", 5.0,
          "persistent vs fcgiwrap, C hello req/s")
    # Scripts parked after their compilation (fork mode's default for Perl and Python).
    check("fcgi-run-fork", "perl-cgipm", "x_fcgiwrap", ">=", 5.0,
          "fork vs fcgiwrap, Perl CGI.pm page req/s (aim 10x)")
    check("fcgi-run-fork", "perl-form", "x_fcgiwrap", ">=", 5.0,
          "fork vs fcgiwrap, Perl form.cgi page req/s")
    check("fcgi-run-fork", "python-page", "x_fcgiwrap", ">=", 3.0,
          "fork vs fcgiwrap, Python page req/s (aim 8x)")
    launchers = [s for s in systems if s.kind == "fcgi-run"]
    for s in launchers:
        mode = s.label or s.mode
        check(s.name, "large-1m", "x_fcgiwrap", ">=", 1.0,
              f"{mode}: 1 MiB responses MiB/s vs fcgiwrap")
        check(s.name, "post-10m", "x_fcgiwrap", ">=", 1.0,
              f"{mode}: 10 MiB uploads MiB/s vs fcgiwrap")
    for s in launchers:
        if s.name not in servers:
            lines.append(("SKIP", f"{s.label or s.mode}: launcher RSS < 64 MiB: {s.name} not available"))
            continue
        rss = [e.get("rss_max_kib") for (w, n), e in summary.items()
               if n == s.name and e.get("rss_max_kib")]
        if not rss:
            lines.append(("SKIP", f"{s.label or s.mode}: launcher RSS: not measured"))
            continue
        worst = max(rss) / MIB_KIB
        lines.append(("PASS" if worst < 64 else "FAIL",
                      f"{s.label or s.mode}: launcher RSS, largest at the end of any cell: "
                      f"{worst:.1f} MiB (goal < 64)"))
    for s in launchers:
        check(s.name, "mixed", "p99_vs_unloaded", "<", 3.0,
              f"{s.label or s.mode}: mixed, fast-request p99 / unloaded p99 (8 workers)")
    return lines


# ---------------------------------------------------------------- files

CSV_COLUMNS = ["round", "workload", "system", "workers"] + FIGURES + \
    ["x_fcgiwrap", "x_native", "x_fcgiwrap_cpu", "x_native_cpu", "p99_vs_unloaded", "note"]


def write_csv(path, results, summary):
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(CSV_COLUMNS)
        for c in results:
            out.writerow([_csv_value(c.get(k)) for k in CSV_COLUMNS])
        for (w, s), e in summary.items():
            if e["status"] != "ok":
                continue
            row = dict(e, round="median", workload=w, system=s,
                       note="; ".join(e["notes"]))
            out.writerow([_csv_value(row.get(k)) for k in CSV_COLUMNS])


def _csv_value(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:.1f}"
    return v


def _f(v, fmt):
    return "" if v is None else format(v, fmt)


def write_markdown(path, meta, summary, systems, workloads, targets):
    m = meta
    skipped = [s.name for s in systems
               if any(e["status"] == "skipped" for (w, n), e in summary.items() if n == s.name)]
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(m["started"]))
    lines = [
        "# fcgi-run benchmark" + (" (quick run)" if m["quick"] else ""),
        "",
        f"- Date: {started}; run took {m['elapsed']:.0f} s",
        f"- Machine: {m['nproc']} CPUs, {m['cpu']}, Linux {m['kernel']}",
        f"- Load average (1/5/15 min) at start: {' '.join(m['load_start'])}; "
        f"at end: {' '.join(m['load_end'])} (the machine is shared; see also the "
        "`load1` column of latest.csv, taken after each cell)",
        f"- CPU used by other processes of the machine while cells ran (see `other_cpu` "
        f"in latest.csv): median {_f(m.get('other_cpu_median'), '.2f')} CPUs, "
        f"max {_f(m.get('other_cpu_max'), '.2f')} CPUs, of {m['nproc']}",
        f"- fcgi-run: {m['fcgi_run']}, git {m['git_describe']} ({m['git_commit'][:12]}), "
        f"CMAKE_BUILD_TYPE={m['build_type']}",
        *([f"- Extra fcgi-run arguments: `{' '.join(m['fcgi_run_args'])}`"]
          if m.get("fcgi_run_args") else []),
        f"- nginx {m['nginx']}; fcgiwrap {m['fcgiwrap']}; spawn-fcgi {m['spawn_fcgi']}; "
        f"libfcgi {m['libfcgi']}; wrk {m['wrk']}",
        f"- Method: {m['rounds']} round(s), systems interleaved within each round; "
        f"wrk -t{m['threads']} -c{m['connections']} -d{m['duration']:g}s per run; "
        f"N = {m['workers']} workers/processes everywhere (mixed: 8); "
        "medians over rounds; ratios are medians of per-round ratios. See bench/README.md.",
        "",
        "## Results (medians)",
        "",
        "req/s: requests per second; spread: (max - min) / median of req/s over rounds; "
        "p50/p99: latency in ms (mixed: of the fast requests only); MiB/s: response bytes "
        "(post-10m: uploaded + response bytes); x fcgiwrap / x native: ratio of req/s "
        "(MiB/s for large-1m and post-10m) in the same round; RSS: the launcher's VmRSS "
        "at the end of the run (native: largest app process); PSS: peak sum of Pss over "
        "the launcher's process tree (native: the N app processes), sampled every 0.5 s. "
        "req/CPU-s: requests per CPU-second used by the benchmark (wrk, nginx, server, "
        "programs, kernel: machine busy time minus other processes' time, while wrk ran), "
        "and its ratio to fcgiwrap's (/CPU x fcgiwrap): efficiency, much less sensitive "
        "than req/s to what else runs on the machine; others: CPUs used meanwhile by "
        "processes that are not the benchmark's.",
        "",
        *([f"Not measured (see Notes): {', '.join(skipped)}.", ""] if skipped else []),
        "| workload | system | req/s | spread | p50 ms | p99 ms | MiB/s | x fcgiwrap "
        "| x native | req/CPU-s | /CPU x fcgiwrap | others | RSS MiB | PSS MiB | notes |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for w in workloads:
        for s in systems:
            e = summary[(w.name, s.name)]
            if e["status"] in ("n/a", "skipped"):
                continue
            if e["status"] != "ok":
                note = "; ".join(e["notes"]) or e["status"]
                lines.append(f"| {w.name} | {s.name} | {e['status']} "
                             + "|  " * 11 + f"| {note} |")
                continue
            mib = _f(e["mib_s"], ".1f") if w.bytes_metric else ""
            rss = _f(e["launcher_rss_kib"] and e["launcher_rss_kib"] / MIB_KIB, ".1f")
            pss = _f(e["pss_peak_kib"] and e["pss_peak_kib"] / MIB_KIB, ".1f")
            notes = list(e["notes"])
            per_cpu = e.get("req_per_cpu_s") or 0
            if e["rounds"] < m["rounds"]:
                notes.insert(0, f"{e['rounds']}/{m['rounds']} rounds")
            lines.append(
                f"| {w.name} | {s.name} | {e['rps']:.1f} | {e['spread'] * 100:.0f}% "
                f"| {e['p50_ms']:.2f} | {e['p99_ms']:.2f} | {mib} "
                f"| {_f(e.get('x_fcgiwrap'), '.2f')} | {_f(e.get('x_native'), '.2f')} "
                f"| {_f(e.get('req_per_cpu_s'), '.0f' if per_cpu >= 100 else '.1f')} | {_f(e.get('x_fcgiwrap_cpu'), '.2f')} "
                f"| {_f(e.get('other_cpu'), '.2f')} "
                f"| {rss or ''} | {pss or ''} | {'; '.join(notes)} |")
    mixed = [w for w in workloads if w.wrk_mode == "mixed"]
    if mixed:
        lines += [
            "",
            "## Mixed workload: fast-request latency with slow requests in flight",
            "",
            "8 workers, wrk -c8: 10% of the requests sleep 100 ms. \"unloaded\": the same "
            "client, with each slow request replaced by 100 ms of client idle time "
            "(wrk delay()), so as many fast requests are in flight but no worker is busy "
            "sleeping. Ratio: fast p99 / unloaded fast p99 (median of per-round ratios).",
            "",
            "| system | req/s | fast p50 ms | fast p99 ms | unloaded p50 ms | unloaded p99 ms "
            "| ratio | slow p50 ms | slow share |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for s in systems:
            e = summary[("mixed", s.name)]
            if e["status"] != "ok":
                continue
            lines.append(
                f"| {s.name} | {e['rps']:.1f} | {e['p50_ms']:.2f} | {e['p99_ms']:.2f} "
                f"| {_f(e.get('unloaded_p50_ms'), '.2f')} | {_f(e.get('unloaded_p99_ms'), '.2f')} "
                f"| {_f(e.get('p99_vs_unloaded'), '.2f')} | {_f(e.get('slow_p50_ms'), '.1f')} "
                f"| {_f(e.get('slow_share') and e['slow_share'] * 100, '.1f')}% |")
    lines += ["", "## Targets (goals, not gates)", "", "```"]
    lines += [f"{status} {text}" for status, text in targets]
    lines += ["```", ""]
    if m["notes"]:
        lines += ["## Notes", ""] + [f"- {n}" for n in m["notes"]] + [""]
    lines += ["![requests per second](latest.png)", ""]
    Path(path).write_text("\n".join(lines))


def write_chart(path, summary, systems, workloads, tmp, meta):
    """A gnuplot bar chart, one panel per workload. Returns None or why not."""
    data_dir = Path(tmp) / "chart"
    data_dir.mkdir(exist_ok=True)
    panels = []
    for w in workloads:
        rows = []
        for i, s in enumerate(systems):
            e = summary[(w.name, s.name)]
            if e["status"] == "ok":
                rows.append(f"\"{s.name}\" {e['rps']:.2f} {i + 1}")
        if rows:
            data = data_dir / f"{w.name}.dat"
            data.write_text("\n".join(rows) + "\n")
            values = [e["rps"] for (wn, _), e in summary.items()
                      if wn == w.name and e["status"] == "ok" and e["rps"] > 0]
            log_range = None
            if max(values) / min(values) > 20:
                log_range = (10 ** math.floor(math.log10(min(values))),
                             10 ** math.ceil(math.log10(max(values) * 2)))
            panels.append((w, data, log_range))
    if not panels:
        return "no data"
    cols = min(3, len(panels))
    nrows = math.ceil(len(panels) / cols)
    colors = ["#7f7f7f", "#2ca02c", "#d62728", "#1f77b4", "#9467bd", "#ff7f0e", "#8c564b"]
    script = [
        f"set terminal pngcairo size {520 * cols},{420 * nrows} font 'sans,10'",
        f"set output '{path}'",
        "set style fill solid 0.85 border -1",
        "set boxwidth 0.65",
        "unset key",
        "set grid ytics",
        "set yrange [0:*]",
        "set xtics rotate by -25 nomirror",
        "set ylabel 'requests/s'",
        "set offsets 0.5, 0.5, graph 0.12, 0",
    ]
    for i, c in enumerate(colors):
        script.append(f"set linetype {i + 1} lc rgb '{c}'")
    title = (f"fcgi-run benchmark: requests/s (median of {meta['rounds']} round(s), "
             f"N={meta['workers']}, wrk -c{meta['connections']}; "
             f"{meta['nproc']} CPUs, of which other processes used "
             f"{_f(meta.get('other_cpu_median'), '.2f')} (median))")
    script.append(f"set multiplot layout {nrows},{cols} title \"{title}\"")
    for w, data, log_range in panels:
        script.append(f"set title \"{w.title or w.name}{' (log scale)' if log_range else ''}\"")
        if log_range:
            script += ["set logscale y", f"set yrange [{log_range[0]}:{log_range[1]}]",
                       "set offsets 0.5, 0.5, 0, 0"]
        else:
            script += ["unset logscale y", "set yrange [0:*]",
                       "set offsets 0.5, 0.5, graph 0.12, 0"]
        script.append(f"plot '{data}' using 0:2:3:xtic(1) with boxes lc variable, "
                      f"'' using 0:2:($2 < 20 ? sprintf('%.1f', $2) : sprintf('%.0f', $2)) "
                      f"with labels offset 0,0.8")
    script.append("unset multiplot")
    gp = data_dir / "chart.gp"
    gp.write_text("\n".join(script) + "\n")
    try:
        r = subprocess.run(["gnuplot", str(gp)], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    if r.returncode != 0:
        return r.stderr.strip()[:500]
    return None
