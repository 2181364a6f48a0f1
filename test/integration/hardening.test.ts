import { afterEach, expect, it } from "vitest";
import type { Authenticator } from "../../src/server/auth/authenticator.ts";
import type { Authorizer } from "../../src/server/auth/authorizer.ts";
import { startOnMemoryCluster } from "../helpers/kubesub-server.ts";
import { captureLogger } from "../helpers/logs.ts";

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

it("CORS answers only the origins in the allowlist", async () => {
  const kubesub = await startOnMemoryCluster({ security: { corsOrigins: ["https://ui.example.org"] } });
  servers.push(kubesub);
  const preflight = (origin: string) =>
    fetch(`${kubesub.origin}/graphql`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
  const allowed = await preflight("https://ui.example.org");
  expect(allowed.headers.get("access-control-allow-origin")).toBe("https://ui.example.org");
  expect(allowed.headers.get("access-control-allow-headers")).toContain("authorization");
  const other = await preflight("https://evil.example.com");
  expect(other.headers.get("access-control-allow-origin")).not.toBe("https://evil.example.com");
});

it("without an allowlist, no origin is allowed", async () => {
  const kubesub = await startOnMemoryCluster({ security: { corsOrigins: [] } });
  servers.push(kubesub);
  const response = await fetch(`${kubesub.origin}/graphql`, {
    method: "POST",
    headers: { origin: "https://ui.example.org", "content-type": "application/json" },
    body: JSON.stringify({ query: "{ __typename }" }),
  });
  expect(response.headers.get("access-control-allow-origin")).toBeNull();
});

it("an internal failure reaches the client masked, with a code, and is logged once with its cause", async () => {
  const log = captureLogger();
  const secret = "SAR backend at 10.1.2.3 refused: stack secret";
  const authenticator: Authenticator = { authenticate: async () => ({ username: "alice", uid: "", groups: [], extra: {} }) };
  const authorizer: Authorizer = {
    authorize: async () => {
      throw new Error(secret);
    },
  };
  const kubesub = await startOnMemoryCluster({
    logger: log.logger,
    auth: { mode: "kubernetes", authenticator, authorizer },
  });
  servers.push(kubesub);
  const response = await fetch(`${kubesub.origin}/graphql`, {
    method: "POST",
    headers: { authorization: "Bearer any-token", "content-type": "application/json" },
    body: JSON.stringify({ query: `{ pods(project: "team-a") { name } }` }),
  });
  const text = await response.text();
  expect(JSON.parse(text)).toMatchObject({ errors: [{ message: "Unexpected error.", extensions: { code: "INTERNAL_SERVER_ERROR" } }] });
  expect(text).not.toContain("10.1.2.3");
  expect(text).not.toContain("stack");
  const logged = log.records.filter((r) => JSON.stringify(r).includes(secret));
  expect(logged).toHaveLength(1);
});
