#!/usr/bin/env python3
"""How soon a whole answer's session comes back after its client leaves during a silent adaptation,
with or without another client whose stream has stopped being read (its writes block).

usage: stalled_reader.py PORT with|without
prints the seconds from the client's departure to its session's return (GET /v1/moe/info)."""
import json, socket, sys, time, urllib.request

port = int(sys.argv[1])
blocked = sys.argv[2] == "with"


def post(body, receive_buffer=None):
    s = socket.socket()
    if receive_buffer:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    s.connect(("127.0.0.1", port))
    b = json.dumps(body).encode()
    s.sendall(f"POST /v1/moe/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(b)}\r\n\r\n".encode() + b)
    return s


def in_use():
    return json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/moe/info", timeout=10))["admission"]["in_use"]


if blocked:  # a long stream with big events that nobody reads: its writes block once the buffers are full
    reader = post({"prompt": "REV:abc=cba,hgde=edgh,bfa=", "max_tokens": 4000, "arm": "scmoe", "settings": {"mask-eos": True},
                   "routing_trace": {"probabilities": [0, 1, 2, 3, 4, 5]}, "stream": True}, receive_buffer=4096)
    time.sleep(9)
before = in_use()
leaving = post({"prompt": "REV:abc=cba,hgde=edgh,bfa=" * 60, "max_tokens": 4, "arm": "rerouting", "settings": {"steps": 100, "q": 4}})
time.sleep(2)
leaving.close()
t0 = time.time()
while time.time() - t0 < 30:
    if in_use() <= before:
        print(f"session back {time.time() - t0:.1f} s after its client left")
        break
    time.sleep(0.25)
else:
    print("session still held 30 s after its client left")
