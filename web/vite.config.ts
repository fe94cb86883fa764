import { defineConfig } from "vite";

// The bundle is embedded into cascade-server (crates/server/src/ui.rs) and
// compared byte for byte with a fresh build by web/test.sh, so the output
// must not depend on the machine: no source maps with absolute paths, fixed
// file names from content hashes only.
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
