import { defineConfig } from 'vite';

// Vite compiles the TSX itself (automatic JSX runtime); this page needs no plugin.
export default defineConfig({});
