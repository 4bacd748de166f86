/// <reference types="vitest/config" />
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { copyFileSync } from "node:fs";
import { defineConfig, type Plugin } from "vite";

// The gateway serves `ui/dist` as static files and answers unknown paths with 404.html,
// so a reload of a deep link such as /workflows/abc still gets the app.
const spaFallback = (): Plugin => ({
  name: "spa-fallback",
  apply: "build",
  closeBundle: () => copyFileSync("dist/index.html", "dist/404.html"),
});

// `npm run dev` proxies the API to a gateway started with `flowmaestro up`.
const gateway = process.env.FLOWMAESTRO_GATEWAY_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react(), tailwindcss(), spaFallback()],
  server: { proxy: { "/api": gateway, "/ws": { target: gateway, ws: true } } },
  build: { chunkSizeWarningLimit: 1500 },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
