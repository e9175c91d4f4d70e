import { defineConfig } from 'vite';

// Vite compiles the TSX itself (automatic JSX runtime); this page needs no plugin. `dedupe`
// keeps one React in the bundle even when valet is linked from a checkout (valet init --link),
// whose own node_modules would otherwise bring a second copy and a blank page.
export default defineConfig({
  resolve: { dedupe: ['react', 'react-dom'] },
});
