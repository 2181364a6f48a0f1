import type { Plugin } from "graphql-yoga";

/**
 * Marks event streams as unbufferable for reverse proxies (nginx honours X-Accel-Buffering), so
 * each event reaches the browser when it is written, not when a proxy buffer fills.
 */
export function useNoBuffering(): Plugin {
  return {
    onResponse({ response }) {
      if (response.headers.get("content-type")?.includes("text/event-stream")) {
        response.headers.set("X-Accel-Buffering", "no");
        response.headers.set("Cache-Control", "no-cache");
      }
    },
  };
}
