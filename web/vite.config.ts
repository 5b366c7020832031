import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Built assets get content hashes (cached forever); index.html is served no-cache.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', assetsDir: 'assets', sourcemap: false },
  server: { proxy: { '/api': 'http://127.0.0.1:8010' } },
});
