#!/usr/bin/env python3
"""Connections that loop on prompts too long for the context (each refused with a 400, after or without
tokenising it) while an ordinary request and a liveness probe are timed every half second.

usage: tokenize_flood.py PORT [CONNECTIONS=4] [prompt|messages] [SECONDS=20]
prints the flood's statuses and the ordinary request's and the probe's latencies in seconds."""
import json, socket, sys, threading, time, urllib.request

port = int(sys.argv[1])
connections = int(sys.argv[2]) if len(sys.argv) > 2 else 4
kind = sys.argv[3] if len(sys.argv) > 3 else "prompt"
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 20
big = json.dumps({"prompt": "a" * 1_000_000} if kind == "prompt"
                 else {"messages": [{"role": "user", "content": "a"}] * 30_000}).encode()
stop = time.time() + seconds
statuses, lock = {}, threading.Lock()


def flood():
    head = (f"POST /v1/moe/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Connection: close\r\nContent-Length: {len(big)}\r\n\r\n").encode()
    while time.time() < stop:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(head + big)
                status = s.recv(100)[9:12].decode()
        except OSError as e:
            status = type(e).__name__
        with lock:
            statuses[status] = statuses.get(status, 0) + 1


def timed(request):
    t0 = time.time()
    try:
        urllib.request.urlopen(request, timeout=30).read()
        return round(time.time() - t0, 2)
    except OSError as e:
        return type(e).__name__


threads = [threading.Thread(target=flood) for _ in range(connections)]
for t in threads:
    t.start()
probes = []


def probe():
    while time.time() < stop:
        probes.append(timed(f"http://127.0.0.1:{port}/actuator/health/liveness"))
        time.sleep(0.5)


prober = threading.Thread(target=probe)
prober.start()
ordinary = []
while time.time() < stop:
    ordinary.append(timed(urllib.request.Request(f"http://127.0.0.1:{port}/v1/moe/generate",
                                                 data=b'{"prompt":"REV:abc=cba,hgde=edgh,bfa=","max_tokens":8}',
                                                 headers={"Content-Type": "application/json"})))
    time.sleep(0.5)
for t in threads + [prober]:
    t.join()
print("flood statuses", statuses)
print("ordinary request, s", ordinary)
print("liveness probe, s", probes)
