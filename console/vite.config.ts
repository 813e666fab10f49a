// Builds the web console into console/dist, which the Nimbus server serves at `/`.
// `npm run dev:console` proxies the API to a server on :8080 while the console is edited.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});
