import { GroupIndex } from "../../domain/group-index.ts";
import { type JoinedPod, type KubePod, toPod } from "../../domain/pod.ts";
import type { Delta } from "../../kube/store.ts";
import { type KubeObject, objectKey } from "../../kube/types.ts";
import type { ViewSource } from "./derived-view.ts";

/**
 * Keeps a GroupIndex of pods by the group each belongs to (an IDE, a Dask cluster...), from the
 * pod informer's deltas. track() returns the groups a delta may have changed: the pod's group
 * before and after, so that a pod moving between groups updates both.
 */
export class PodJoin {
  private readonly index = new GroupIndex();
  private readonly pods: ViewSource;
  private readonly groupOf: (pod: KubeObject) => string | undefined;
  private readonly userLabel: string;

  constructor(pods: ViewSource, groupOf: (pod: KubeObject) => string | undefined, userLabel: string) {
    this.pods = pods;
    this.groupOf = groupOf;
    this.userLabel = userLabel;
  }

  track(delta: Delta<KubeObject>): string[] {
    const podKey = objectKey(delta.object);
    const groups: string[] = [];
    const before = this.groupOf(delta.type === "updated" ? delta.old : delta.object);
    if (before !== undefined) {
      this.index.remove(before, podKey);
      groups.push(before);
    }
    if (delta.type !== "deleted") {
      const after = this.groupOf(delta.object);
      if (after !== undefined) {
        this.index.add(after, podKey);
        if (after !== before) groups.push(after);
      }
    }
    return groups;
  }

  /** The group's pods, by pod name, as raw objects and Pod models. */
  members(group: string): JoinedPod[] {
    const joined: JoinedPod[] = [];
    for (const key of this.index.members(group)) {
      const raw = this.pods.informer.get(key) as KubePod | undefined;
      if (raw) joined.push({ raw, pod: toPod(raw, this.userLabel) });
    }
    return joined;
  }
}
