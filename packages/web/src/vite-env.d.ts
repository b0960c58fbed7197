/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Where pdf.js's fonts, CMaps and decoders are served from (set in vite.config.ts). */
  readonly KUVERT_PDFJS_ASSETS: string;
}
