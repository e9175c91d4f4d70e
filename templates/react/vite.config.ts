import { defineConfig } from 'vite';

// Vite's built-in esbuild compiles TSX; no plugin is needed for this page.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
});
