"""A small HTTP server for the webhook tests: records every request as a JSON line.

Usage: python3 webhook_recorder.py LOG. It listens on a free loopback port, written to LOG.port once it accepts.
Each request is appended to LOG as {"method", "path", "headers", "body"} when it arrives, before the answer.
/status/NNN answers NNN; /hang answers only once the file LOG.release exists (at most 60 s); anything else 200.
"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log_path = sys.argv[1]


class Recorder(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def handle_any(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode('utf-8') if length else None
        record = {'method': self.command, 'path': self.path, 'headers': dict(self.headers.items()), 'body': body}
        with open(log_path, 'a') as log:
            log.write(json.dumps(record) + '\n')
        status = 200
        if self.path.startswith('/status/'):
            status = int(self.path.split('/')[2])
        elif self.path.startswith('/hang'):
            deadline = time.monotonic() + 60
            while not os.path.exists(log_path + '.release') and time.monotonic() < deadline:
                time.sleep(0.02)
        self.send_response(status)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'ok')

    do_GET = handle_any
    do_POST = handle_any

    def log_message(self, format, *args):
        pass


server = ThreadingHTTPServer(('127.0.0.1', 0), Recorder)
server.daemon_threads = True
with open(log_path + '.tmp', 'w') as port_file:
    port_file.write(str(server.server_address[1]))
os.rename(log_path + '.tmp', log_path + '.port')
server.serve_forever()
