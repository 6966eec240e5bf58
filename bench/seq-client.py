# A second load generator for bench/run.sh's c=1 rows: one keep-alive connection, blocking
# sockets, one request after another, each timed from its send to its last byte. At c=1 it
# cross-checks wrk's latency tail, which on this project's host is higher than this client's for
# the same Node servers (BENCHMARKS.md, "Stalls and memory").
#   seq-client.py URL SECONDS   with BENCH_BODY, BENCH_AUTH and BENCH_HEADERS as for bench/wrk/post.lua
# Prints one line: "BENCH_SEQ requests=N p50_us=X p99_us=Y".
import os
import socket
import sys
import time
from urllib.parse import urlsplit

url, seconds = urlsplit(sys.argv[1]), float(sys.argv[2])
path = url.path
body = os.environ['BENCH_BODY'].encode()
auth = os.environ.get('BENCH_AUTH', '')
head = 'POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n' % (path, url.netloc, len(body))
if auth:
    head += 'Authorization: %s\r\n' % auth
for pair in filter(None, os.environ.get('BENCH_HEADERS', '').split('|')):
    name, value = pair.split(':', 1)
    head += '%s: %s\r\n' % (name.strip(), value.strip())
request = (head + '\r\n').encode() + body


def read_response(sock, buf):
    """Reads one response (Content-Length or chunked); returns (status, what follows it)."""
    while b'\r\n\r\n' not in buf:
        buf += recv(sock)
    end = buf.index(b'\r\n\r\n') + 4
    lines = buf[:end].decode('latin1').lower().split('\r\n')
    status = int(lines[0].split()[1])
    fields = dict(l.split(':', 1) for l in lines[1:] if ':' in l)
    buf = buf[end:]
    if 'content-length' in fields:
        n = int(fields['content-length'])
        while len(buf) < n:
            buf += recv(sock)
        return status, buf[n:]
    while b'\r\n0\r\n\r\n' not in buf and not buf.startswith(b'0\r\n\r\n'):
        buf += recv(sock)
    i = 0 if buf.startswith(b'0\r\n\r\n') else buf.index(b'\r\n0\r\n\r\n') + 2
    return status, buf[i + 5:]


def recv(sock):
    data = sock.recv(65536)
    if not data:
        raise SystemExit('the server closed the connection')
    return data


sock = socket.create_connection((url.hostname, url.port))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
latencies, buf, deadline = [], b'', time.monotonic() + seconds
while time.monotonic() < deadline:
    start = time.perf_counter_ns()
    sock.sendall(request)
    status, buf = read_response(sock, buf)
    if status != 200:
        raise SystemExit('HTTP %d' % status)
    latencies.append((time.perf_counter_ns() - start) // 1000)
latencies.sort()
print('BENCH_SEQ requests=%d p50_us=%d p99_us=%d' % (len(latencies), latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]))
