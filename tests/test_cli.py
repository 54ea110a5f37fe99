"""`waqtor serve` and `python -m waqtor serve`: options, environment variables, a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import API_KEY, free_port

ROOT = Path(__file__).resolve().parents[1]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gateway exited with {proc.returncode}: "
                                 f"{proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("gateway did not answer /health")


def stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err.decode()


def test_python_m_waqtor_serve_takes_options(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "WAQTOR_API_KEY": API_KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "waqtor", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(tmp_path / "d"), "--engine", "sandbox"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        health = wait_healthy(f"http://127.0.0.1:{port}/health", proc)
        assert health.json()["engine"] == "sandbox"
        state = httpx.get(f"http://127.0.0.1:{port}/api/session/state", params={"apiKey": API_KEY})
        assert state.status_code == 200
    finally:
        log = stop(proc)
    assert (tmp_path / "d" / "waqtor.db").exists()
    assert "SANDBOX" in log
    assert API_KEY not in log, "the API key must never reach the logs"


def test_environment_variables_configure_the_same_settings(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "elsewhere" / "gw.db"
    env = {**os.environ, "WAQTOR_API_KEY": API_KEY, "WAQTOR_HOST": "127.0.0.1", "WAQTOR_PORT": str(port),
           "WAQTOR_DATA_DIR": str(tmp_path / "d"), "WAQTOR_DATABASE_URL": f"sqlite:///{db}"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "waqtor"), "serve"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}/health", proc).status_code == 200
    finally:
        stop(proc)
    assert db.exists()
    assert not (tmp_path / "d" / "waqtor.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "nonsense"], "unknown engine 'nonsense'"),
        (["--port", "70000"], "port"),
        (["--database-url", "mysql://x/y"], "unsupported database"),
    ],
)
def test_bad_settings_exit_with_a_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "waqtor", "serve", "--data-dir", str(tmp_path / "d"), *args],
        cwd=tmp_path, env={**os.environ, "WAQTOR_API_KEY": API_KEY}, capture_output=True, timeout=30,
    )
    assert result.returncode == 2, result.stderr.decode()
    assert message in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


def test_new_key_replaces_the_stored_hash(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "waqtor", "new-key", "--data-dir", str(tmp_path)],
                            capture_output=True, timeout=30, env={k: v for k, v in os.environ.items()
                                                                 if k != "WAQTOR_API_KEY"})
    assert result.returncode == 0
    key = next(w for w in result.stderr.decode().split() if w.startswith("wqt_"))
    from waqtor.access.gateway_key import hash_key

    assert (tmp_path / "api-key.sha256").read_text().strip() == hash_key(key)


def _serve(tmp_path: Path, port: int, *args: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "waqtor", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(tmp_path / "d"), *args],
        cwd=tmp_path, env={**os.environ, "WAQTOR_API_KEY": API_KEY, "WAQTOR_RECONNECT_MIN": "0.2",
                           "WAQTOR_RECONNECT_MAX": "1", **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _last_error(port: int, proc: subprocess.Popen[bytes]) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = httpx.get(f"http://127.0.0.1:{port}/api/session/state", params={"apiKey": API_KEY}).json()["data"]
        if state["lastError"]:
            return state
        time.sleep(0.1)
    raise AssertionError("no lastError")


def test_serve_runs_neonize_by_default_and_says_clearly_that_whatsapp_is_unreachable(tmp_path: Path) -> None:
    port = free_port()
    proc = _serve(tmp_path, port)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}/health", proc).json()["engine"] == "neonize"
        state = _last_error(port, proc)
        assert state["lastError"]["code"] == "connect_failure"
    finally:
        log = stop(proc)
    assert "cannot connect to WhatsApp" in log and "retry" in log
    assert (tmp_path / "d" / "neonize.db").exists()


def test_serve_engine_cloud_takes_its_settings_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    proc = _serve(tmp_path, port, "--engine", "cloud", WAQTOR_CLOUD_PHONE_ID="106540352242922",
                  WAQTOR_CLOUD_TOKEN="EAAGtokenSECRETvalue", WAQTOR_CLOUD_APP_SECRET="app-secret-value-1",
                  WAQTOR_CLOUD_VERIFY_TOKEN="verify-token-value")
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}/health", proc).json()["engine"] == "cloud"
        qr = httpx.get(f"http://127.0.0.1:{port}/api/session/qr", params={"apiKey": API_KEY}).json()["data"]
        assert qr["hasQR"] is False and "Cloud API" in qr["message"]
    finally:
        log = stop(proc)
    for secret in ("EAAGtokenSECRETvalue", "app-secret-value-1", "verify-token-value"):
        assert secret not in log


def test_serve_engine_cloud_without_its_settings_exits_with_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "waqtor", "serve", "--data-dir", str(tmp_path / "d"), "--engine", "cloud"],
        cwd=tmp_path, env={k: v for k, v in os.environ.items() if not k.startswith("WAQTOR_CLOUD")},
        capture_output=True, timeout=30,
    )
    assert result.returncode == 2
    assert "WAQTOR_CLOUD_PHONE_ID" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()
