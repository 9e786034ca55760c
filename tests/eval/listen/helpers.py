"""Shared helpers of the listening-test tests: tiny system folders, a live server, HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

SAMPLE_RATE = 16000


def write_systems(root: Path, systems: tuple[str, ...] = ("ref", "a", "b"), items: int = 3,
                  seconds: float = 0.25) -> dict[str, Path]:
    """Folders of tiny wavs with the same relative paths (spk/uNN.wav) in each system."""
    rng = np.random.default_rng(len(systems) * 100 + items)
    folders = {}
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    for index, name in enumerate(systems):
        folder = root / name
        for item in range(items):
            path = folder / "spk" / f"u{item:02d}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            tone = 0.3 * np.sin(2 * np.pi * (200 + 50 * item) * t)
            noise = (0.02 + 0.05 * index) * rng.standard_normal(t.size)
            soundfile.write(path, (tone + noise).astype(np.float32), SAMPLE_RATE,
                            subtype="PCM_16")
        folders[name] = folder
    return folders


@contextmanager
def live_server(test_dir: Path) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, in a thread; yields the base URL."""
    import uvicorn

    from audiogen.eval.listen.server import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(test_dir), log_level="warning", access_log=False,
                            backlog=256)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def http(method: str, url: str, body: Any = None, raw: bytes | None = None,
         timeout: float = 60.0) -> tuple[int, Any, dict[str, str]]:
    """(status, JSON or bytes, headers) of one request; 4xx/5xx are returned, not raised."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, payload = response.status, response.read()
            headers = {key.lower(): value for key, value in response.headers.items()}
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
        headers = {key.lower(): value for key, value in error.headers.items()}
    if headers.get("content-type", "").startswith("application/json"):
        return status, json.loads(payload), headers
    return status, payload, headers
