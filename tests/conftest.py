"""Fixtures for the data-layer and CLI tests: an isolated cache and a small HTTP server on 127.0.0.1."""
import http.server
import socket
import threading

import pytest


@pytest.fixture
def home(tmp_path, monkeypatch):
    "An empty COURSE_LIB_HOME, no mirror, network allowed (the tests only ever reach 127.0.0.1)."
    monkeypatch.setenv('COURSE_LIB_HOME', str(tmp_path/'home'))
    monkeypatch.delenv('COURSE_LIB_MIRROR', raising=False)
    monkeypatch.delenv('COURSE_LIB_OFFLINE', raising=False)
    return tmp_path/'home'


class _Handler(http.server.BaseHTTPRequestHandler):
    files = {}  # path -> (body, declared length or None)

    def do_GET(self):
        if self.path not in self.files:
            self.send_error(404)
            return
        body, declared = self.files[self.path]
        self.send_response(200)
        self.send_header('Content-Length', str(declared or len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args): pass


@pytest.fixture
def server():
    "Serve `server.files[path] = (bytes, declared_length)` at `server.url + path`; stopped after the test."
    handler = type('Handler', (_Handler,), {'files': {}})
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.files = handler.files
    httpd.url = f'http://127.0.0.1:{httpd.server_address[1]}'
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def closed_port():
    "A localhost URL where nothing listens: a server that is down."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    return f'http://127.0.0.1:{port}'
