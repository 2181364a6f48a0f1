// The Kubernetes API's protobuf encoding (application/vnd.kubernetes.protobuf), as far as kubesub
// reads it: the envelope (the magic "k8s\0", then a runtime.Unknown holding the object's bytes), a
// list's metadata and its items as byte ranges, and a Status. Built-in types only: the apiserver
// serves custom resources in JSON. A reader decodes what it asks for and steps over everything
// else without looking inside, which is what makes a LIST of large pods cheap: the managedFields,
// environment variables and volumes that make a pod 17 KiB are skipped, not parsed.
//
// Wire format: https://protobuf.dev/programming-guides/encoding/ ; Kubernetes' envelope:
// https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding

/** What kubesub sends as Accept to get protobuf. */
export const protobufMediaType = "application/vnd.kubernetes.protobuf";

const magic = [0x6b, 0x38, 0x73, 0x00];
const wireVarint = 0;
const wireFixed64 = 1;
const wireLength = 2;
const wireFixed32 = 5;

/** A malformed or unexpected message. */
export class ProtobufError extends Error {
  override readonly name = "ProtobufError";
}

/**
 * Reads the fields of one message, bytes [start, end) of buf, in order: next() moves to the next
 * field and says its number; then the caller reads its value (string(), int32(), enter()...) or
 * leaves it, and the next call to next() steps over whatever was not read. An embedded message is
 * read in place, without a reader of its own: enter() makes the reader read the current field's
 * message, and leave() returns to the enclosing one after that field.
 */
export class ProtoReader {
  private readonly buf: Buffer;
  private pos: number;
  private end: number;
  /** The current field's wire type, and where its value starts and ends (set by next()). */
  private wire = -1;
  private valueStart = 0;
  private valueEnd: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    if (end > buf.length || start > end) throw new ProtobufError("message out of range");
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.valueEnd = start;
  }

  /** The next field's number, or 0 at the end of the message. */
  next(): number {
    this.pos = this.valueEnd;
    if (this.pos >= this.end) return 0;
    const key = this.readVarint();
    this.wire = key & 7;
    this.valueStart = this.pos;
    switch (this.wire) {
      case wireVarint:
        while (this.at(this.pos) & 0x80) this.pos += 1;
        this.valueEnd = this.pos + 1;
        break;
      case wireLength: {
        const length = this.readVarint();
        this.valueStart = this.pos;
        this.valueEnd = this.pos + length;
        break;
      }
      case wireFixed64:
        this.valueEnd = this.pos + 8;
        break;
      case wireFixed32:
        this.valueEnd = this.pos + 4;
        break;
      default:
        throw new ProtobufError(`unsupported wire type ${this.wire}`);
    }
    if (this.valueEnd > this.end) throw new ProtobufError("field runs past its message");
    return Math.floor(key / 8);
  }

  /**
   * Reads the current field's message from here on: next() walks its fields until it ends. Returns
   * what leave() needs to come back to the enclosing message, after this field.
   */
  enter(): number {
    this.expect(wireLength);
    const enclosingEnd = this.end;
    this.end = this.valueEnd;
    this.valueEnd = this.valueStart;
    return enclosingEnd;
  }

  /** Back to the enclosing message, after the field enter() entered (whatever of it was read). */
  leave(enclosingEnd: number): void {
    this.valueEnd = this.end;
    this.end = enclosingEnd;
  }

  /** A reader of the current field's message alone (for messages kept to decode later, as a list's items). */
  message(): ProtoReader {
    this.expect(wireLength);
    return new ProtoReader(this.buf, this.valueStart, this.valueEnd);
  }

  /** The current field as a string (UTF-8). */
  string(): string {
    this.expect(wireLength);
    return this.buf.toString("utf8", this.valueStart, this.valueEnd);
  }

  /** The current field as an int32 (negative values are ten bytes of two's complement: their low 32 bits tell). */
  int32(): number {
    this.expect(wireVarint);
    let value = 0;
    let shift = 0;
    for (let i = this.valueStart; i < this.valueEnd && shift < 32; i += 1, shift += 7) {
      value |= ((this.buf[i] as number) & 0x7f) << shift;
    }
    return value | 0;
  }

  /** The current field as a non-negative int64 below 2^53 (seconds since the epoch). */
  int64(): number {
    this.expect(wireVarint);
    this.pos = this.valueStart;
    return this.readVarint();
  }

  /** The current field as a bool. */
  bool(): boolean {
    this.expect(wireVarint);
    return this.valueEnd - this.valueStart > 1 || this.buf[this.valueStart] !== 0;
  }

  /** The current field's bytes, as a view (not a copy) of the buffer. */
  bytes(): Buffer {
    this.expect(wireLength);
    return this.buf.subarray(this.valueStart, this.valueEnd);
  }

  private expect(wire: number): void {
    if (this.wire !== wire) throw new ProtobufError(`wire type ${this.wire} where ${wire} was expected`);
  }

  private at(index: number): number {
    if (index >= this.end) throw new ProtobufError("varint runs past its message");
    return this.buf[index] as number;
  }

  private readVarint(): number {
    let byte = this.at(this.pos++);
    if (byte < 0x80) return byte;
    let value = byte & 0x7f;
    let scale = 0x80;
    do {
      byte = this.at(this.pos++);
      value += (byte & 0x7f) * scale;
      scale *= 0x80;
    } while (byte >= 0x80);
    return value;
  }
}

/** The object inside the envelope (runtime.Unknown's raw), or a ProtobufError when there is no envelope. */
export function unwrap(body: Buffer): Buffer {
  if (body.length < magic.length || magic.some((byte, i) => body[i] !== byte)) {
    throw new ProtobufError("not a Kubernetes protobuf message (no k8s\\0 prefix)");
  }
  const unknown = new ProtoReader(body, magic.length);
  for (let field = unknown.next(); field !== 0; field = unknown.next()) {
    if (field === 2) return unknown.bytes();
  }
  throw new ProtobufError("envelope without an object");
}

/** A list page: its resourceVersion and continue token, and a reader of each item. */
export interface ProtobufList {
  resourceVersion: string;
  continueToken: string | undefined;
  items: ProtoReader[];
}

/** Any list (PodList...): ListMeta is field 1, the items field 2. */
export function decodeList(body: Buffer): ProtobufList {
  const list = new ProtoReader(unwrap(body));
  const page: ProtobufList = { resourceVersion: "", continueToken: undefined, items: [] };
  for (let field = list.next(); field !== 0; field = list.next()) {
    if (field === 2) page.items.push(list.message());
    else if (field === 1) {
      const enclosing = list.enter();
      for (let f = list.next(); f !== 0; f = list.next()) {
        if (f === 2) page.resourceVersion = list.string();
        else if (f === 3) page.continueToken = list.string() || undefined;
      }
      list.leave(enclosing);
    }
  }
  return page;
}

/** A metav1.Status (an error's body): its message, reason and code. */
export function decodeStatus(body: Buffer): { message?: string; reason?: string; code?: number } {
  const status = new ProtoReader(unwrap(body));
  const decoded: { message?: string; reason?: string; code?: number } = {};
  for (let field = status.next(); field !== 0; field = status.next()) {
    if (field === 3) decoded.message = status.string();
    else if (field === 4) decoded.reason = status.string();
    else if (field === 6) decoded.code = status.int32();
  }
  return decoded;
}

/**
 * The current field, a metav1.Time (seconds since the epoch; the apiserver writes no fraction in
 * JSON), as a Date; null for the zero time, which JSON writes as null.
 */
export function decodeTime(reader: ProtoReader): Date | null {
  const enclosing = reader.enter();
  let seconds = 0;
  for (let field = reader.next(); field !== 0; field = reader.next()) {
    if (field === 1) seconds = reader.int64();
  }
  reader.leave(enclosing);
  return seconds === 0 ? null : new Date(seconds * 1000);
}
