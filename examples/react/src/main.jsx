import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import SessionMonitor from './SessionMonitor.jsx';

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <SessionMonitor />
  </StrictMode>,
);
