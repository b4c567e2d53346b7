#!/usr/bin/env python3
"""Whether one long prompt sets the pace for another client's stream: a whole answer to a prompt of
LENGTH distinct random characters on ARM, and 0.1 s later a plain stream of 320 tokens from another
client, on a service at PORT (e.g. ./moe serve --port 8091 --moe.adapter.batching-lanes=4).

usage: long_prompt_beside_stream.py PORT ARM [LENGTH]
prints the long answer's prefill time and the stream's total time and longest gaps between events."""
import json, http.client, random, sys, threading, time

port, arm = int(sys.argv[1]), sys.argv[2]
length = int(sys.argv[3]) if len(sys.argv) > 3 else 4000
long_answer = {}


def long_request():
    c = http.client.HTTPConnection("localhost", port, timeout=300)
    prompt = "REV:" + "".join(random.choice("abcdefgh") for _ in range(length))
    c.request("POST", "/v1/moe/generate", json.dumps({"prompt": prompt, "max_tokens": 20, "arm": arm}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    long_answer.update(status=r.status, body=json.loads(r.read()))


t = threading.Thread(target=long_request)
t.start()
time.sleep(0.1)
c = http.client.HTTPConnection("localhost", port, timeout=300)
c.request("POST", "/v1/moe/generate", json.dumps({"prompt": "a" * 47, "max_tokens": 320, "arm": "none", "stream": True}),
          {"Content-Type": "application/json"})
r = c.getresponse()
start = last = time.time()
gaps = []
for line in r.fp:
    if line.startswith(b"data:"):
        now = time.time()
        gaps.append(now - last)
        last = now
t.join()
body = long_answer["body"]
print(f"long prompt ({length} characters, {arm}): status {long_answer['status']}, prefill "
      f"{body.get('timings', {}).get('prefill_ms', 0) / 1000:.1f} s, fallback {body.get('fallback')}")
print(f"stream beside it: {len(gaps)} events in {last - start:.1f} s, longest gaps "
      f"{', '.join(f'{g:.2f}' for g in sorted(gaps)[-3:])} s")
