import { useEffect, useState } from 'react';

// The page's own server (Vite here, your backend in production) proxies /ws to the gateway and adds
// the API key there, so no key is written in this file or sent by the browser.
const WS_URL = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/ws`;

function SessionMonitor() {
  const [state, setState] = useState(null);
  const [ws, setWs] = useState(null);

  useEffect(() => {
    const websocket = new WebSocket(WS_URL);

    websocket.onopen = () => {
      console.log('Connected');
      websocket.send(JSON.stringify({ type: 'get_state' }));
    };

    websocket.onmessage = (event) => {
      const data = JSON.parse(event.data);

      if (data.type === 'session_update' || data.type === 'session_state') {
        setState(data.data);
      }
    };

    setWs(websocket);

    return () => {
      websocket.close();
    };
  }, []);

  if (!state) return <div>Loading...</div>;

  return (
    <div>
      <h2>Session Status</h2>
      <p>Status: {state.status}</p>
      <p>Ready: {state.ready ? '✅' : '❌'}</p>
      <p>Messages Sent: {state.stats?.messagesSent || 0}</p>
      <p>Messages Received: {state.stats?.messagesReceived || 0}</p>
    </div>
  );
}

export default SessionMonitor;
