// The GraphQL over HTTP specification's audit suite (graphql-http's serverAudits) against kubesub's
// /graphql, over real HTTP: every audit passes, MUST, SHOULD and MAY alike.
import { type AuditResult, serverAudits } from "graphql-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningKubesub, startOnMemoryCluster } from "../helpers/kubesub-server.ts";

let kubesub: RunningKubesub;
beforeAll(async () => {
  kubesub = await startOnMemoryCluster();
});
afterAll(() => kubesub.close());

/** The audits, created against an address only known once the server runs. */
const audits = serverAudits({ url: () => `${kubesub.origin}/graphql` });

const level = (name: string) => name.split(" ")[0] as "MUST" | "SHOULD" | "MAY";
const explain = (result: AuditResult) =>
  result.status === "ok" ? "ok" : `${result.status}: ${result.reason} (HTTP ${result.response.status})`;

describe("GraphQL over HTTP audits on /graphql", () => {
  for (const audit of audits) {
    const requirement = level(audit.name);
    it(audit.name, async () => {
      expect(requirement).toMatch(/^(MUST|SHOULD|MAY)$/);
      expect(explain(await audit.fn())).toBe("ok");
    });
  }

  it("covers every level", () => {
    const counts = { MUST: 0, SHOULD: 0, MAY: 0 };
    for (const audit of audits) counts[level(audit.name)] += 1;
    // graphql-http 1.23.1 has 13 MUST, 23 SHOULD and 25 MAY audits.
    expect(counts).toEqual({ MUST: 13, SHOULD: 23, MAY: 25 });
  });
});
