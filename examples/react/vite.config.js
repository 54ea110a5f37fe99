// The Vite dev server plays the backend proxy of the spec's "Security Considerations": the browser
// connects to /ws on this server, and the proxy forwards it to the gateway with the X-API-Key header.
// The key stays in this Node process; it never reaches the browser or the bundle.
//
//   WAQTOR_API_KEY=wqt_... npm run dev      # WAQTOR_URL defaults to ws://localhost:8080/ws
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

function gatewayOrigin(wsUrl) {
  const url = new URL(wsUrl);
  return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;
}

export default defineConfig(({ command }) => {
  const config = { plugins: [react()] };
  if (command === 'serve') {
    const apiKey = process.env.WAQTOR_API_KEY;
    if (!apiKey) {
      throw new Error('Set WAQTOR_API_KEY to the key the gateway printed on its first start.');
    }
    const wsUrl = new URL(process.env.WAQTOR_URL || 'ws://localhost:8080/ws');
    config.server = {
      proxy: {
        '/ws': {
          target: gatewayOrigin(wsUrl),
          ws: true,
          changeOrigin: true,
          rewrite: (path) => path.replace(/^\/ws/, wsUrl.pathname),
          headers: { 'X-API-Key': apiKey },
        },
      },
    };
  }
  return config;
});
