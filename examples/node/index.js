// The spec's Node.js client (the `ws` package): connect to the gateway's WebSocket, ask for the session
// state, print every frame, and say the status on every session_update.
//
//   WAQTOR_API_KEY=wqt_... npm start          # WAQTOR_URL defaults to ws://localhost:8080/ws
//
// Ctrl+C (SIGINT) or SIGTERM closes the connection with 1000 and exits 0.
const WebSocket = require('ws');

const apiKey = process.env.WAQTOR_API_KEY;
if (!apiKey) {
  console.error('Set WAQTOR_API_KEY to the key the gateway printed on its first start.');
  process.exit(2);
}
const url = new URL(process.env.WAQTOR_URL || 'ws://localhost:8080/ws');
url.searchParams.set('apiKey', apiKey);

const ws = new WebSocket(url);
let stopping = false;

ws.on('open', () => {
  console.log('✅ Connected');

  // Request state
  ws.send(JSON.stringify({ type: 'get_state' }));
});

ws.on('message', (data) => {
  const message = JSON.parse(data);
  console.log('📨 Received:', message);

  if (message.type === 'session_update') {
    console.log('Session status:', message.data.status);
  }
});

ws.on('error', (error) => {
  console.error('❌ Error:', error.message);
});

ws.on('close', (code, reason) => {
  console.log('Connection closed', code, reason.toString());
  // A close we asked for, or a normal one, is a success; a refused key (1008) or a lost link is not.
  process.exitCode = stopping || code === 1000 ? 0 : 1;
});

function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing`);
  ws.close(1000, 'client stopping');
  // If the gateway never answers the close, leave anyway.
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
