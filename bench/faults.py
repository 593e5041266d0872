#!/usr/bin/env python3
"""Fault figures for bench/faults.sh: body memory under stalled uploads, and recovery from a
broker pause. Prints one line "name value" per figure (bench/faults.sh records them).

  faults.py bodies PORT PID CONNECTIONS BYTES
      CONNECTIONS connections each declare a body of 2 x BYTES, send BYTES of it and stall.
      Prints Sluice's RSS before, while they stall, and 10 s after they are closed, and how
      many were refused at once (503, the body budget) instead of buffered.
  faults.py pause PORT ADMIN BROKER_PID SECONDS
      Produces every 100 ms, pauses the broker (SIGSTOP) for SECONDS, resumes it (SIGCONT),
      and prints the produces answered 503, the longest answer during the pause, the time
      from SIGCONT to the first 204, and to /readyz 200 again.
"""
import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def bodies(port, pid, count, size):
    before = rss_kib(pid)
    sockets, refused = [], 0
    chunk = b"x" * 65536
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: {2 * size}\r\n\r\n".encode())
        sent = 0
        try:
            s.settimeout(0.05)
            while sent < size:
                s.sendall(chunk[: min(len(chunk), size - sent)])
                sent += min(len(chunk), size - sent)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        sockets.append(s)
    time.sleep(2)
    for s in sockets:
        s.settimeout(0.01)
        try:
            if s.recv(64).startswith(b"HTTP/1.1 503"):
                refused += 1
        except (socket.timeout, OSError):
            pass
    stalled = rss_kib(pid)
    for s in sockets:
        s.close()
    time.sleep(10)
    after = rss_kib(pid)
    print(f"bodies.connections {count}")
    print(f"bodies.bytes_each {size}")
    print(f"bodies.rss_before_kib {before}")
    print(f"bodies.rss_stalled_kib {stalled}")
    print(f"bodies.rss_10s_after_close_kib {after}")
    print(f"bodies.refused_503 {refused}")


def post(port, timeout=10):
    started = time.monotonic()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/events", data=b"x", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return status, time.monotonic() - started


def ready(admin):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=5) as answer:
            return answer.status == 200
    except (urllib.error.HTTPError, OSError):
        return False


def pause(port, admin, broker, seconds):
    for _ in range(5):
        post(port)
    os.kill(broker, signal.SIGSTOP)
    paused = time.monotonic()
    failed, longest, not_ready = 0, 0.0, False
    while time.monotonic() - paused < seconds:
        status, took = post(port)
        failed += status != 204
        longest = max(longest, took)
        not_ready = not_ready or not ready(admin)
        time.sleep(0.1)
    os.kill(broker, signal.SIGCONT)
    resumed = time.monotonic()
    recovered = None
    while time.monotonic() - resumed < 120:
        status, _ = post(port)
        if status == 204:
            recovered = time.monotonic() - resumed
            break
        failed += 1
        time.sleep(0.1)
    ready_after = None
    while time.monotonic() - resumed < 120:
        if ready(admin):
            ready_after = time.monotonic() - resumed
            break
        time.sleep(0.1)
    print(f"pause.seconds {seconds}")
    print(f"pause.failed_503 {failed}")
    print(f"pause.longest_answer_s {longest:.2f}")
    print(f"pause.readyz_not_ready_during {1 if not_ready else 0}")
    print(f"pause.recovery_s {recovered if recovered is not None else 'never'}")
    print(f"pause.ready_again_s {ready_after if ready_after is not None else 'never'}")
    if recovered is None:
        sys.exit(1)


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "bodies":
        bodies(*(int(a) for a in sys.argv[2:6]))
    elif kind == "pause":
        pause(*(int(a) for a in sys.argv[2:6]))
    else:
        sys.exit(f"unknown scenario {kind}")
