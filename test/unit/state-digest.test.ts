import { describe, expect, it } from "vitest";
import { NamespaceDigests } from "../../src/kube/state-digest.ts";
import type { KubeObject } from "../../src/kube/types.ts";

const object = (namespace: string, name: string, resourceVersion: string): KubeObject => ({
  metadata: { namespace, name, resourceVersion },
});

describe("NamespaceDigests", () => {
  it("is the same for the same objects whatever the order of changes, and per namespace", () => {
    const a = new NamespaceDigests();
    a.apply({ type: "added", object: object("team", "x", "1") });
    a.apply({ type: "added", object: object("team", "y", "2") });
    a.apply({ type: "added", object: object("other", "z", "3") });
    const b = new NamespaceDigests();
    b.reset([object("team", "y", "2"), object("team", "x", "1")]);
    expect(b.of("team")).toBe(a.of("team"));
    expect(b.of("other")).toBe("0.0");
    expect(a.of("other")).not.toBe("0.0");
  });

  it("changes with any update or deletion, and comes back when the objects do", () => {
    const digests = new NamespaceDigests();
    digests.apply({ type: "added", object: object("team", "x", "1") });
    const before = digests.of("team");
    digests.apply({ type: "updated", old: object("team", "x", "1"), object: object("team", "x", "2") });
    const updated = digests.of("team");
    expect(updated).not.toBe(before);
    digests.apply({ type: "added", object: object("team", "transient", "3") });
    expect(digests.of("team")).not.toBe(updated);
    // Created and deleted since: no net change.
    digests.apply({ type: "deleted", object: object("team", "transient", "3") });
    expect(digests.of("team")).toBe(updated);
    digests.apply({ type: "deleted", object: object("team", "x", "2") });
    expect(digests.of("team")).toBe("0.0");
  });
});
