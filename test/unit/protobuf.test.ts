import { describe, expect, it } from "vitest";
import { decodeList, decodeStatus, decodeTime, ProtobufError, ProtoReader } from "../../src/kube/protobuf.ts";

// Messages written by hand in the wire format (https://protobuf.dev/programming-guides/encoding/),
// as the apiserver writes them: a reader must read what it asks for and step over the rest.

function varint(value: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    bytes.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return bytes;
}
const key = (field: number, wire: number) => varint(field * 8 + wire);
const int = (field: number, value: bigint | number) => [...key(field, 0), ...varint(value)];
const bytes = (field: number, content: number[]) => [...key(field, 2), ...varint(content.length), ...content];
const str = (field: number, text: string) => bytes(field, [...Buffer.from(text, "utf8")]);
const message = (field: number, ...parts: number[][]) => bytes(field, parts.flat());
const fixed64 = (field: number) => [...key(field, 1), 1, 2, 3, 4, 5, 6, 7, 8];
const fixed32 = (field: number) => [...key(field, 5), 1, 2, 3, 4];
const buffer = (...parts: number[][]) => Buffer.from(parts.flat());
/** The apiserver's envelope: "k8s\0", then a runtime.Unknown whose field 2 holds the object. */
const envelope = (...object: number[][]) =>
  buffer([0x6b, 0x38, 0x73, 0x00], message(1, str(1, "v1"), str(2, "PodList")), bytes(2, object.flat()));

describe("ProtoReader", () => {
  it("reads the fields asked for and steps over every other wire type", () => {
    const reader = new ProtoReader(
      buffer(fixed64(9), str(1, "jupyter-alice"), fixed32(8), int(2, 300), message(7, str(1, "x")), str(3, "ünïcode")),
    );
    const seen: unknown[] = [];
    for (let field = reader.next(); field !== 0; field = reader.next()) {
      if (field === 1) seen.push(reader.string());
      else if (field === 2) seen.push(reader.int32());
      else if (field === 3) seen.push(reader.string());
    }
    expect(seen).toEqual(["jupyter-alice", 300, "ünïcode"]);
  });

  it("reads negative int32s (ten bytes of two's complement), int64 seconds and bools", () => {
    const reader = new ProtoReader(buffer(int(1, -1), int(2, -137), int(3, 1_714_557_511), int(4, 1), int(5, 0)));
    const values: unknown[] = [];
    for (let field = reader.next(); field !== 0; field = reader.next()) {
      if (field <= 2) values.push(reader.int32());
      else if (field === 3) values.push(reader.int64());
      else values.push(reader.bool());
    }
    expect(values).toEqual([-1, -137, 1_714_557_511, true, false]);
  });

  it("reads an embedded message in place and goes on after it, whatever of it was read", () => {
    const reader = new ProtoReader(buffer(message(1, str(1, "inner"), str(2, "unread")), str(2, "after")));
    const seen: string[] = [];
    for (let field = reader.next(); field !== 0; field = reader.next()) {
      if (field === 1) {
        const enclosing = reader.enter();
        expect(reader.next()).toBe(1);
        seen.push(reader.string());
        reader.leave(enclosing);
      } else seen.push(reader.string());
    }
    expect(seen).toEqual(["inner", "after"]);
  });

  it("throws a ProtobufError on a truncated message, not garbage", () => {
    const whole = buffer(str(1, "jupyter-alice"));
    const reader = new ProtoReader(whole.subarray(0, whole.length - 3));
    expect(() => reader.next()).toThrow(ProtobufError);
    expect(() => new ProtoReader(buffer([0x08, 0x80])).next()).toThrow(ProtobufError);
    expect(() => new ProtoReader(buffer(str(1, "x"))).int32()).toThrow(ProtobufError);
  });
});

describe("the Kubernetes envelope", () => {
  it("a list: its resourceVersion, continue token and items, the metadata read wherever it is", () => {
    const page = decodeList(
      envelope(message(2, str(1, "first")), message(1, str(2, "4242"), str(3, "token")), message(2, str(1, "second"))),
    );
    expect(page.resourceVersion).toBe("4242");
    expect(page.continueToken).toBe("token");
    const names = page.items.map((item) => {
      item.next();
      return item.string();
    });
    expect(names).toEqual(["first", "second"]);
    expect(decodeList(envelope(message(1, str(2, "7"), str(3, "")))).continueToken).toBeUndefined();
  });

  it("a Status: message, reason and code", () => {
    const status = decodeStatus(
      envelope(str(2, "Failure"), str(3, 'pods is forbidden: User "carol" cannot list'), str(4, "Forbidden"), int(6, 403)),
    );
    expect(status).toEqual({ message: 'pods is forbidden: User "carol" cannot list', reason: "Forbidden", code: 403 });
  });

  it("refuses a body without the k8s\\0 prefix (JSON, say)", () => {
    expect(() => decodeList(Buffer.from('{"kind":"PodList"}'))).toThrow(ProtobufError);
  });

  it("a metav1.Time: a Date to the second, null for the zero time", () => {
    const time = (...parts: number[][]) => {
      const reader = new ProtoReader(buffer(message(1, ...parts)));
      reader.next();
      return decodeTime(reader);
    };
    expect(time(int(1, 1_714_557_511), int(2, 0))?.toISOString()).toBe("2024-05-01T09:58:31.000Z");
    expect(time()).toBeNull();
  });
});
