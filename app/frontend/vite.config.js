import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  // nginx serves the app at "/" and Django owns "/static/", so hashed
  // assets must live under "/assets/".
  base: '/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
  },
  server: {
    // `npm run dev` talks to a local Django; same-origin /api/ like production.
    proxy: {
      '/api': process.env.CAMS_API_URL || 'http://127.0.0.1:8000',
    },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.js'],
    include: ['src/**/*.test.{js,jsx}'],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
