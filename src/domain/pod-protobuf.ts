import type { ProtobufDecoder } from "../kube/informer-registry.ts";
import { decodeTime, type ProtoReader } from "../kube/protobuf.ts";
import { podResource } from "../kube/resources.ts";
import type { ResourceType } from "../kube/types.ts";
import { podAnnotationsRead } from "./ide.ts";
import type { KubeContainerStatus, KubePod } from "./pod.ts";

// A pod from the apiserver's protobuf encoding, decoded as far as slimPod (slim.ts) reads it and
// no further: the object it returns is what JSON.parse would give of the same pod minus the
// fields slimPod drops, so that slimPod makes the same slim pod of either (test/e2e/protobuf-list.test.ts
// checks it against a real apiserver, for pods in every state). Field numbers are those of
// k8s.io/api/core/v1/generated.proto and k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto.
//
// Where JSON omits an empty value ("omitempty": names, reasons, messages...), protobuf still
// writes it; such an empty string is left out here too. Fields JSON always writes (ready,
// restartCount, exitCode) start at their zero value, as protobuf leaves zeros out.

type Metadata = NonNullable<KubePod["metadata"]>;
type OwnerReference = NonNullable<Metadata["ownerReferences"]>[number];
type PodStatus = NonNullable<KubePod["status"]>;
type PodCondition = NonNullable<PodStatus["conditions"]>[number];
type ContainerState = NonNullable<KubeContainerStatus["state"]>;

/** Sets object[key] to the current field's string, unless it is empty (JSON's omitempty). */
function setString<T extends object>(object: T, key: keyof T, reader: ProtoReader): void {
  const value = reader.string();
  if (value !== "") (object as Record<keyof T, unknown>)[key] = value;
}

/** The list with the item at its end (a new list when there was none): a repeated field's next element. */
function appended<T>(list: T[] | undefined, item: T): T[] {
  if (!list) return [item];
  list.push(item);
  return list;
}

/** Decodes the current field's message with decode, and returns what it made. */
function inside<R>(reader: ProtoReader, decode: (reader: ProtoReader) => R): R {
  const enclosing = reader.enter();
  const decoded = decode(reader);
  reader.leave(enclosing);
  return decoded;
}

/** A core/v1 Pod: metadata 1, spec 2, status 3. */
export function decodePod(pod: ProtoReader): KubePod {
  const decoded: KubePod = {};
  for (let field = pod.next(); field !== 0; field = pod.next()) {
    if (field === 1) decoded.metadata = inside(pod, decodeObjectMeta);
    else if (field === 2) decoded.spec = inside(pod, decodePodSpec);
    else if (field === 3) decoded.status = inside(pod, decodePodStatus);
  }
  return decoded;
}

// Timestamps become Dates, as in client-node's models: slim.ts keeps them as isoTimestamp's
// strings, the same whether they came as a Date or as JSON's RFC 3339 string.
type Timestamp = Metadata["creationTimestamp"];

function decodeObjectMeta(meta: ProtoReader): Metadata {
  const decoded: Metadata = {};
  for (let field = meta.next(); field !== 0; field = meta.next()) {
    switch (field) {
      case 1:
        setString(decoded, "name", meta);
        break;
      case 3:
        setString(decoded, "namespace", meta);
        break;
      case 5:
        setString(decoded, "uid", meta);
        break;
      case 6:
        setString(decoded, "resourceVersion", meta);
        break;
      case 8:
        decoded.creationTimestamp = decodeTime(meta) as Timestamp;
        break;
      case 9:
        decoded.deletionTimestamp = decodeTime(meta) as Timestamp;
        break;
      case 11:
        decoded.labels ??= {};
        mapEntry(meta, decoded.labels);
        break;
      case 12:
        decoded.annotations ??= {};
        mapEntry(meta, decoded.annotations, podAnnotationsRead);
        break;
      case 13:
        decoded.ownerReferences = appended(decoded.ownerReferences, inside(meta, decodeOwnerReference));
        break;
    }
  }
  return decoded;
}

/** The current field, an entry of a map<string, string> (key 1, value 2), into target; only the keys named, when given. */
function mapEntry(reader: ProtoReader, target: Record<string, string>, only?: readonly string[]): void {
  const enclosing = reader.enter();
  let key = "";
  let value = "";
  for (let field = reader.next(); field !== 0; field = reader.next()) {
    if (field === 1) key = reader.string();
    else if (field === 2 && (!only || only.includes(key))) value = reader.string();
  }
  reader.leave(enclosing);
  if (!only || only.includes(key)) target[key] = value;
}

function decodeOwnerReference(owner: ProtoReader): OwnerReference {
  const decoded = { apiVersion: "", kind: "", name: "", uid: "" } as OwnerReference;
  for (let field = owner.next(); field !== 0; field = owner.next()) {
    if (field === 1) decoded.kind = owner.string();
    else if (field === 3) decoded.name = owner.string();
    else if (field === 6) decoded.controller = owner.bool();
  }
  return decoded;
}

function decodePodSpec(spec: ProtoReader): NonNullable<KubePod["spec"]> {
  const decoded = {} as NonNullable<KubePod["spec"]>;
  for (let field = spec.next(); field !== 0; field = spec.next()) {
    if (field === 10) setString(decoded, "nodeName", spec);
  }
  return decoded;
}

function decodePodStatus(status: ProtoReader): PodStatus {
  const decoded: PodStatus = {};
  for (let field = status.next(); field !== 0; field = status.next()) {
    switch (field) {
      case 1:
        setString(decoded, "phase", status);
        break;
      case 2:
        decoded.conditions = appended(decoded.conditions, inside(status, decodeCondition));
        break;
      case 3:
        setString(decoded, "message", status);
        break;
      case 4:
        setString(decoded, "reason", status);
        break;
      case 6:
        setString(decoded, "podIP", status);
        break;
      case 7:
        decoded.startTime = decodeTime(status) as Timestamp;
        break;
      case 8:
        decoded.containerStatuses = appended(decoded.containerStatuses, inside(status, decodeContainerStatus));
        break;
      case 10:
        decoded.initContainerStatuses = appended(decoded.initContainerStatuses, inside(status, decodeContainerStatus));
        break;
    }
  }
  return decoded;
}

/** type 1, status 2, reason 5, message 6. */
function decodeCondition(condition: ProtoReader): PodCondition {
  const decoded = { type: "", status: "" } as PodCondition;
  for (let field = condition.next(); field !== 0; field = condition.next()) {
    if (field === 1) decoded.type = condition.string();
    else if (field === 2) decoded.status = condition.string();
    else if (field === 5) setString(decoded, "reason", condition);
    else if (field === 6) setString(decoded, "message", condition);
  }
  return decoded;
}

/** name 1, state 2, lastState 3, ready 4, restartCount 5, image 6. */
function decodeContainerStatus(container: ProtoReader): KubeContainerStatus {
  const decoded = { name: "", ready: false, restartCount: 0 } as KubeContainerStatus;
  for (let field = container.next(); field !== 0; field = container.next()) {
    if (field === 1) decoded.name = container.string();
    else if (field === 2) decoded.state = inside(container, decodeContainerState);
    else if (field === 3) decoded.lastState = inside(container, decodeContainerState);
    else if (field === 4) decoded.ready = container.bool();
    else if (field === 5) decoded.restartCount = container.int32();
    else if (field === 6) setString(decoded, "image", container);
  }
  return decoded;
}

/** waiting 1, running 2, terminated 3. */
function decodeContainerState(state: ProtoReader): ContainerState {
  const decoded: ContainerState = {};
  for (let field = state.next(); field !== 0; field = state.next()) {
    if (field === 1) decoded.waiting = inside(state, decodeWaiting);
    else if (field === 2) decoded.running = inside(state, decodeRunning);
    else if (field === 3) decoded.terminated = inside(state, decodeTerminated);
  }
  return decoded;
}

/** reason 1, message 2. */
function decodeWaiting(waiting: ProtoReader): NonNullable<ContainerState["waiting"]> {
  const decoded: NonNullable<ContainerState["waiting"]> = {};
  for (let field = waiting.next(); field !== 0; field = waiting.next()) {
    if (field === 1) setString(decoded, "reason", waiting);
    else if (field === 2) setString(decoded, "message", waiting);
  }
  return decoded;
}

/** startedAt 1. */
function decodeRunning(running: ProtoReader): NonNullable<ContainerState["running"]> {
  const decoded: NonNullable<ContainerState["running"]> = {};
  for (let field = running.next(); field !== 0; field = running.next()) {
    if (field === 1) decoded.startedAt = decodeTime(running) as Timestamp;
  }
  return decoded;
}

/** exitCode 1, reason 3, message 4, startedAt 5. */
function decodeTerminated(terminated: ProtoReader): NonNullable<ContainerState["terminated"]> {
  const decoded = { exitCode: 0 } as NonNullable<ContainerState["terminated"]>;
  for (let field = terminated.next(); field !== 0; field = terminated.next()) {
    if (field === 1) decoded.exitCode = terminated.int32();
    else if (field === 3) setString(decoded, "reason", terminated);
    else if (field === 4) setString(decoded, "message", terminated);
    else if (field === 5) decoded.startedAt = decodeTime(terminated) as Timestamp;
  }
  return decoded;
}

/** The decoder that goes with slimTransformFor's transform (SourceHints.protobufDecoder): pods only. */
export function slimProtobufDecoderFor(type: ResourceType): ProtobufDecoder | undefined {
  return type.group === podResource.group && type.plural === podResource.plural ? decodePod : undefined;
}
