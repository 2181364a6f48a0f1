/**
 * Which members (pod keys) belong to which group (IDE, Dask cluster...): the join index a view keeps
 * up to date from informer deltas, so that recomputing a group never scans every pod.
 */
export class GroupIndex {
  private readonly groups = new Map<string, Set<string>>();

  add(group: string, member: string): void {
    let members = this.groups.get(group);
    if (!members) {
      members = new Set();
      this.groups.set(group, members);
    }
    members.add(member);
  }

  remove(group: string, member: string): void {
    const members = this.groups.get(group);
    if (!members) return;
    members.delete(member);
    if (members.size === 0) this.groups.delete(group);
  }

  members(group: string): string[] {
    return [...(this.groups.get(group) ?? [])].sort();
  }
}
