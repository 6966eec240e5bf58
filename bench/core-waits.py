# Who kept a pinned gateway's main thread waiting for its core. Reads a `perf sched record -C CPU` of a run and,
# for each time the main thread was runnable but not running (preempted, or woken and not yet on the core), adds up
# what ran on that core meanwhile: the gateway's own other threads (V8's workers: concurrent marking, parallel
# scavenges, the optimizing compiler; libuv's pool) or other processes (on a shared host, other work).
#   perf sched record -C 0 -o sched.data -- sleep 5     # during a run
#   python3 bench/core-waits.py sched.data PID [CPU]     # PID: the gateway's (its main thread's id)
# Prints the waits (count, total, p50, p99, max) and the time each thread name ran during them, own threads first.
import collections
import re
import subprocess
import sys

data, main = sys.argv[1], int(sys.argv[2])
core = int(sys.argv[3]) if len(sys.argv) > 3 else 0
script = subprocess.run(['perf', 'script', '-i', data, '-F', 'pid,tid,cpu,time,event,trace'], capture_output=True, text=True, check=True).stdout
head = r'^\s*(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:'
switch = re.compile(head + r'sched_switch:\s+prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)')
waking = re.compile(head + r'sched_wak(?:ing|eup):\s+comm=(.*?) pid=(\d+)')

process_of, name_of = {}, {}
waits = []  # (seconds, Counter of thread id -> seconds it ran meanwhile)
waiting_since = None
during = collections.Counter()
running = False
current, current_since = None, None
for line in script.splitlines():
    m = switch.match(line)
    if m:
        pid, _, cpu, at, prev_name, prev, state, next_name, nxt = m.groups()
        if int(cpu) != core:
            continue
        at, prev, nxt = float(at), int(prev), int(nxt)
        process_of[prev], name_of[prev], name_of[nxt] = int(pid), prev_name, next_name
        if waiting_since is not None and prev == current and current != main and current_since is not None:
            during[current] += at - max(current_since, waiting_since)
        if prev == main:
            running = False
            if state.startswith('R'):  # preempted: still runnable
                waiting_since, during = at, collections.Counter()
        if nxt == main:
            running = True
            if waiting_since is not None:
                waits.append((at - waiting_since, during))
                waiting_since = None
        current, current_since = nxt, at
        continue
    m = waking.match(line)
    if m:
        pid, tid, _, at, _, woken = m.groups()
        process_of[int(tid)] = int(pid)
        if int(woken) == main and not running and waiting_since is None:
            waiting_since, during = float(at), collections.Counter()

if not waits:
    sys.exit(f'no waits of thread {main} on CPU {core} in {data}')
ran = collections.Counter()
for _, d in waits:
    for tid, seconds in d.items():
        owner = 'own' if process_of.get(tid) == main else 'other'
        ran[f"{owner}: {re.sub(r'[0-9]+$', '', name_of.get(tid, '?'))}"] += seconds
lengths = sorted((w for w, _ in waits), reverse=True)
total = sum(lengths)
print(f'main thread {main} waited for CPU {core} {len(lengths)} times, {total * 1e3:.1f} ms in all; '
      f'p50 {lengths[len(lengths) // 2] * 1e3:.3f} ms, p99 {lengths[len(lengths) // 100] * 1e3:.2f} ms, max {lengths[0] * 1e3:.2f} ms')
own = sum(s for k, s in ran.items() if k.startswith('own'))
print(f'ran meanwhile: own threads {own * 1e3:.1f} ms, other processes {(sum(ran.values()) - own) * 1e3:.1f} ms')
for k, s in sorted(ran.items(), key=lambda kv: (not kv[0].startswith('own'), -kv[1]))[:14]:
    print(f'  {k:<36} {s * 1e3:9.1f} ms')
