"""The spec's Python client (websocket-client): connect to the gateway's WebSocket, ask for the session
state, print every frame, and say the status on every session_update.

    pip install -r requirements.txt
    WAQTOR_API_KEY=wqt_... python ws_client.py      # WAQTOR_URL defaults to ws://localhost:8080/ws

Ctrl+C (SIGINT) or SIGTERM closes the connection with 1000 and exits 0.
"""

import json
import os
import signal
import sys
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import websocket

closed = {"code": None, "stopping": False}


def on_message(ws, message):
    data = json.loads(message)
    print(f"📨 Received: {data}")

    if data['type'] == 'session_update':
        print(f"Session status: {data['data']['status']}")


def on_open(ws):
    print("✅ Connected")
    ws.send(json.dumps({"type": "get_state"}))


def on_error(ws, error):
    if not isinstance(error, KeyboardInterrupt):  # our own way out on a signal, not an error
        print(f"❌ Error: {error}", file=sys.stderr)


def on_close(ws, code, reason):
    closed["code"] = code
    print(" ".join(["Connection closed", *(str(part) for part in (code, reason) if part)]))


def with_key(url, key):
    """`url` with `apiKey=key` added to its query string."""
    parts = urlsplit(url)
    query = [(name, value) for name, value in parse_qsl(parts.query) if name != "apiKey"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("apiKey", key)])))


def main():
    # Print each line as it comes, also when the output goes to a pipe or a file.
    sys.stdout.reconfigure(line_buffering=True)
    key = os.environ.get("WAQTOR_API_KEY")
    if not key:
        print("Set WAQTOR_API_KEY to the key the gateway printed on its first start.", file=sys.stderr)
        return 2
    url = with_key(os.environ.get("WAQTOR_URL", "ws://localhost:8080/ws"), key)

    ws = websocket.WebSocketApp(
        url,
        on_message=on_message,
        on_open=on_open,
        on_error=on_error,
        on_close=on_close,
    )

    def stop(signum, _frame):
        if closed["stopping"]:
            return
        closed["stopping"] = True
        print(f"{signal.Signals(signum).name}: closing")
        # On KeyboardInterrupt, run_forever sends a normal close (1000) and returns by raising it again.
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    try:
        ws.run_forever()
    except KeyboardInterrupt:
        pass
    # A close we asked for, or a normal one, is a success; a refused key (1008) or a lost link is not.
    return 0 if closed["stopping"] or closed["code"] == websocket.STATUS_NORMAL else 1


if __name__ == "__main__":
    sys.exit(main())
