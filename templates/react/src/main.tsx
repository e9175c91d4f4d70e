import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ValetClient, ValetProvider } from '../valet/_generated/valet/react';
import { App, currentToken } from './App';
import './styles.css';

// The backend: `npx valet dev` serves it here (override with VITE_VALET_URL).
const url = import.meta.env.VITE_VALET_URL ?? 'http://127.0.0.1:3210';
const client = new ValetClient(url, { auth: currentToken });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ValetProvider client={client}>
      <App client={client} url={url} />
    </ValetProvider>
  </StrictMode>,
);
