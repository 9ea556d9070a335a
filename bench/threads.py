#!/usr/bin/env python3
"""How busy a command keeps the cores, over time: where only one thread works.

Runs the command and reads each of its threads' CPU time (utime + stime in
/proc/PID/task/TID/stat) every --every seconds. Prints one line per interval: the time, the cores
busy in it, and each thread's share in clock ticks (threads by the last 3 digits of their id),
then the idle core-seconds up to --until seconds (the load's end in a `check --timings`, say).

  python3 bench/threads.py --until 17 -- build/cli/rapport check rulesets/portfolio \\
      --data DIR --as-of 2026-11-01 -q --format json -o /dev/null

Threads that live less than one interval (the report's rendering batches) are missed: read the
command's own CPU time for those stretches. Linux only.
"""

import argparse
import os
import subprocess
import sys
import time


def thread_ticks(pid):
    """Clock ticks of CPU per thread of `pid`, or None once it has gone."""
    ticks = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended between the listing and the read
        ticks[int(tid)] = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=float, default=0.25, help="seconds between readings")
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="cores to count idle time against")
    parser.add_argument("--until", type=float, default=None, help="sum idle time up to this many seconds")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command and its arguments")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    hz = os.sysconf("SC_CLK_TCK")
    started = time.monotonic()
    process = subprocess.Popen(command)
    previous = {}
    rows = []
    while process.poll() is None:
        time.sleep(args.every)
        ticks = thread_ticks(process.pid)
        if ticks is None:
            break
        used = {tid: t - previous.get(tid, 0) for tid, t in ticks.items() if t > previous.get(tid, 0)}
        rows.append((time.monotonic() - started, sum(used.values()) / hz / args.every, used))
        previous = ticks
    status = process.wait()
    idle = 0.0
    span = 0.0
    for at, cores, used in rows:
        print(f"{at:7.2f} {cores:5.2f}  " + " ".join(f"{tid % 1000}:{t}" for tid, t in sorted(used.items())))
        if args.until is None or at <= args.until:
            idle += max(0.0, args.cores - cores) * args.every
            span += args.every
    print(f"idle: {idle:.2f} core-seconds of {span:.2f} s on {args.cores} cores", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
