#!/usr/bin/env python3
"""Writes the seed corpus in Fuzz/Corpus/<target>/ with Python itself: json.dumps, pickle.dumps, Python RQ 2.12's
own job hashes (Job.to_dict(), what it writes with HSET) as the RESP replies HGETALL returns, and RESP, cron, URL
and settings samples. Run it again (python3 Fuzz/make_corpus.py) when a target learns something new; libFuzzer's
own findings are not committed."""
import datetime, json, os, pickle, shutil, sys

from redis import Redis
from rq import Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Corpus")


def write(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def resp_array(items):
    return b"*%d\r\n" % len(items) + b"".join(bulk(i if isinstance(i, bytes) else str(i).encode()) for i in items)


values = {
    "plain": {"a": [1, 2.5, "x", None, True, False]},
    "nested": [[[{"k": [{}]}]], [], {"": ""}],
    "unicode": {"name": "café ☕ \U0001F600", "ctl": "\x00\x1f\t\n"},
    "numbers": [0, -1, 2**63 - 1, -(2**63), 2**64, 10**40, 1e308, -0.0, 5e-324, 0.1],
    "special": [float("nan"), float("inf"), float("-inf")],
    "args": ["examples.add", None, [2, 3], {"scale": 1.5}],
}
for name, value in values.items():
    write("fuzz-json", name + ".json", json.dumps(value))
    for protocol in (2, 4, 5):
        write("fuzz-pickle", "%s-p%d.pickle" % (name, protocol), pickle.dumps(value, protocol))
write("fuzz-pickle", "tuple-set.pickle", pickle.dumps(("a", (1, 2), frozenset(), b"bytes", bytearray(b"x")), 5))
write("fuzz-pickle", "memo.pickle", pickle.dumps([[1, 2]] * 3 + [{"s": "shared"}] * 2, 5))
write("fuzz-pickle", "datetime.pickle", pickle.dumps(datetime.datetime(2026, 1, 2, 3, 4, 5), 5))
write("fuzz-json", "ascii-escapes.json", json.dumps({"é": "\u2028"}, ensure_ascii=True))
write("fuzz-json", "compact.json", json.dumps({"a": {"b": [1, {"c": None}]}}, separators=(",", ":")))

# Python RQ's job hashes (pickle and JSON serializers), as HGETALL returns them.
connection = Redis()  # never connected: to_dict() only builds the mapping
for serializer, tag in ((None, "pickle"), (JSONSerializer, "json")):
    queue = Queue("default", connection=connection, serializer=serializer)
    jobs = {
        "simple": queue.create_job("examples.add", args=(2, 3)),
        "kwargs": queue.create_job("examples.greet", kwargs={"name": "café", "n": 10**30}, meta={"m": [1]},
                                   timeout=30, result_ttl=600, ttl=60, failure_ttl=300, description="greet"),
        "retry": queue.create_job("examples.fail", retry=Retry(max=3, interval=[1, 5]), job_id="retry-id"),
        "large": queue.create_job("examples.echo", args=("x" * 500,)),
    }
    for name, job in jobs.items():
        job.enqueued_at = job.started_at = datetime.datetime(2026, 1, 2, 3, 4, 5, 123456)
        job._status = "started"
        job.worker_name = "w1"
        fields = [x for kv in job.to_dict().items() for x in kv]
        write("fuzz-job-hash", "%s-%s.resp" % (name, tag), resp_array(fields))
    job = jobs["simple"]
    job._dependency_ids = ["dep-1", "dep-2"]
    fields = [x for kv in job.to_dict().items() for x in kv]
    write("fuzz-job-hash", "dependencies-%s.resp" % tag, resp_array(fields))
write("fuzz-job-hash", "missing.resp", b"*0\r\n")

replies = {
    "status": b"+OK\r\n",
    "error": b"-ERR unknown command 'FOO'\r\n",
    "integer": b":-42\r\n",
    "bulk": bulk(b"hello\r\nworld"),
    "null": b"$-1\r\n*-1\r\n",
    "array": b"*3\r\n$3\r\nfoo\r\n:1\r\n*2\r\n+a\r\n$-1\r\n",
    "pipeline": b"+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n$2\r\nok\r\n",
    "exec-error": b"*2\r\n-WRONGTYPE Operation against a key\r\n:0\r\n",
    "xread": b"*1\r\n*2\r\n$10\r\nrq:results\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$4\r\ntype\r\n$1\r\n1\r\n",
    "pubsub": b"*3\r\n$7\r\nmessage\r\n$14\r\nrq:pubsub:w1\r\n$30\r\n{\"command\": \"shutdown\"}      \r\n",
    "resp3": b"%1\r\n+k\r\n,3.5\r\n_\r\n#t\r\n=8\r\ntxt:abcd\r\n(12345678901234567890\r\n~1\r\n:1\r\n>2\r\n+a\r\n+b\r\n",
}
for name, data in replies.items():
    write("fuzz-resp", name + ".resp", data)

for i, text in enumerate(["* * * * *", "*/5 * * * *", "0 0 * * sun", "0 0 29 2 *", "30 7 * * mon-fri",
                          "59 23 31 12 *", "@monthly", "@hourly", "0 9-17/2 1,15 jan-jun 1-5", "0 0 L * *"]):
    write("fuzz-cron", "cron-%d" % i, text)

for i, url in enumerate(["redis://localhost", "redis://:pw@localhost", "redis://alice:s%40cret@example.com:6380/3",
                         "redis://[::1]:7000/1", "rediss://:pw@redis.example.com:6380/2",
                         "rediss://h:1/0?ssl_ca_certs=/ca.pem&ssl_certfile=/c.pem&ssl_keyfile=/k%20ey.pem&ssl_cert_reqs=NONE",
                         "unix:///run/redis/redis.sock?db=2&password=x",
                         "redis+sentinel://:secret@s1:26379,s2,[::1]:26380/mymaster/3?sentinel_password=sp",
                         "redis+sentinel://s1/m?ssl=true&sentinel_ssl=true&ssl_ca_certs=/ca.pem&socket_timeout=2.5"]):
    write("fuzz-redis-url", "url-%d" % i, url)

write("fuzz-settings", "settings.py", """# RQ settings
REDIS_URL = 'redis://127.0.0.1:6379/0'
QUEUES = ['high', 'default']
NAME = "worker-1"
lower = 1
""")
write("fuzz-settings", "sentinel.py", """SENTINEL = {'INSTANCES': [('sentinel-1', 26379), ("::1", 26380)],
            'MASTER_NAME': 'mymaster', 'DB': 0, 'PASSWORD': 'p@ss', 'SSL': True,
            'CONNECTION_KWARGS': {'ssl_ca_certs': '/ca.pem'}, 'SENTINEL_KWARGS': {'password': 's', 'ssl': True}}
""")
write("fuzz-settings", "parts.py", "REDIS_HOST = 'h'\nREDIS_PORT = 6380\nREDIS_DB = 2\nREDIS_PASSWORD = None\n"
      "REDIS_SSL = 'yes'\nREDIS_SSL_CA_CERTS = '/ca.pem'\nDICT = {1: (1.5, -2, 0x10, 'a' 'b', b'x')}\n")
write("fuzz-settings", "settings.json", json.dumps({"REDIS_URL": "redis://h/1", "queues": ["a", "b"],
                                                    "concurrency": 4, "runner": ".build/release/jobs"}, indent=2))
write("fuzz-settings", "sentinel.json", json.dumps({"SENTINEL": {"INSTANCES": [["s1", 26379]], "MASTER_NAME": "m"}}))
