#!/usr/bin/env python3
"""Strict validator for the OpenMetrics 1.0 text exposition format (the subset
fcgi-run's status page uses: counter and gauge families). Reads the exposition
on stdin; exit 0 if valid, else prints the first problem and exits 1.

Checks: UTF-8; lines end with '\n'; no blank lines; metadata lines are
'# TYPE', '# HELP' or '# UNIT' for the current family; TYPE comes before the
family's samples and once per family; a family's samples are contiguous (no
family appears twice); counter samples are NAME_total (or NAME_created),
gauge samples are NAME; family names of counters do not end in _total; label
names and escaped label values are well formed; no label set repeats within a
family; values are numbers; the text ends with exactly '# EOF\n'.
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(" + NAME + r")(\{(?:" + LABEL + r")(?:," + LABEL + r")*\})? (\S+)(?: (\S+))?$")
VALUE = re.compile(r"^(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN)$")
META = re.compile(r"^# (TYPE|HELP|UNIT) (" + NAME + r")(?: (.*))?$")
TYPES = {"counter", "gauge", "unknown", "info", "stateset", "histogram", "gaugehistogram", "summary"}


def validate(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not UTF-8: {e}"
    if not text.endswith("# EOF\n"):
        return "does not end with '# EOF\\n'"
    lines = text[:-1].split("\n")
    if lines.count("# EOF") != 1:
        return "'# EOF' appears more than once"
    seen_families = set()
    family = None
    family_type = None
    label_sets = set()
    samples = 0
    for number, line in enumerate(lines[:-1], 1):
        where = f"line {number}: {line!r}: "
        if line == "":
            return where + "blank line"
        if line.startswith("#"):
            m = META.match(line)
            if not m:
                return where + "comment that is not TYPE/HELP/UNIT"
            kind, name, rest = m.group(1), m.group(2), m.group(3)
            if name != family:
                if name in seen_families:
                    return where + f"family {name} is not contiguous"
                seen_families.add(name)
                family, family_type, label_sets = name, None, set()
                had_samples = False
            if kind == "TYPE":
                if family_type is not None:
                    return where + "second TYPE for the family"
                if rest not in TYPES:
                    return where + f"unknown type {rest!r}"
                if had_samples:
                    return where + "TYPE after the family's samples"
                if rest == "counter" and name.endswith("_total"):
                    return where + "counter family name ends in _total"
                family_type = rest
            elif rest is None or rest == "":
                return where + f"{kind} without text"
            continue
        m = SAMPLE.match(line)
        if not m:
            return where + "not a valid sample line"
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        if family is None or family_type is None:
            return where + "sample before any TYPE line"
        if family_type == "counter":
            if name not in (family + "_total", family + "_created"):
                return where + f"counter sample of {family} must be {family}_total"
        elif family_type == "gauge":
            if name != family:
                return where + f"gauge sample must be named {family}"
        if not VALUE.match(value):
            return where + f"bad value {value!r}"
        key = (name, labels)
        if key in label_sets:
            return where + "duplicate sample (same name and labels)"
        label_sets.add(key)
        had_samples = True
        samples += 1
    if samples == 0:
        return "no samples"
    return ""


def main() -> int:
    problem = validate(sys.stdin.buffer.read())
    if problem:
        print("invalid OpenMetrics: " + problem)
        return 1
    print("valid OpenMetrics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
