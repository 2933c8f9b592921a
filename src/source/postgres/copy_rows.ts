/**
 * The rows of one statement, read from the raw protocol bytes: a `COPY ... TO STDOUT`, or a
 * `FETCH` from a cursor. Every row arrives in a message of its own (COPY: a CopyData message, the
 * protocol guarantees it: "messages sent from the backend will always correspond to single data
 * rows"; FETCH: a DataRow), so records are framed by the message lengths, with no search for line
 * ends or quotes. In binary format the COPY file header rides in the first row's message and the
 * end-of-data marker has a message of its own; the payloads joined are the binary COPY stream as a
 * file would hold it. A DataRow's payload is a binary COPY tuple when the cursor is BINARY (a
 * field count, then each field's length and its type's send output), with no header or marker.
 * The payloads are moved together in place over the 5-byte message headers, one `copyWithin` per
 * row, and handed on in blocks, one per network chunk, with where each record ends.
 *
 * A message cut by the end of a chunk is held back, in a buffer of its announced size, until the
 * chunks that complete it arrive, so a row of any length is copied once more, and is then handed
 * on as a block of its own.
 *
 * @module
 */
import { SourceError } from "../../errors.ts";

/** The COPY formats: text and CSV records end in LF, binary ones are tuples. */
export type CopyFormat = "text" | "csv" | "binary";

/**
 * Which statement's messages are framed: a COPY's CopyData (ended by CopyDone, after which the
 * rest is node-postgres's), or a FETCH's DataRows (ended by CommandComplete, which is itself
 * node-postgres's, as it reports the row count).
 */
export type RowMessages = "copy" | "fetch";

/** Whole records of a COPY. */
export interface Records {
  /** The records (CopyData payloads), each ending in LF in text and CSV format. */
  bytes: Uint8Array;
  /** How many records `bytes` holds. */
  rows: number;
  /** `ends[r]` is the index just past record `r`'s LF (for `r < rows`). */
  ends: Int32Array;
  /**
   * `bytes` is the only view of its buffer that anyone holds, so whoever is done with the records
   * may release the buffer (`util/release_buffer.ts`).
   */
  owned: boolean;
}

/** What one chunk of protocol bytes gave. */
export interface Parsed {
  /**
   * The records the chunk completed, in order: the record the previous chunk began, on its own
   * (joining it to the rest would cost a chunk-sized copy and allocation per chunk), then the
   * rest of the chunk's.
   */
  blocks: Records[];
  /**
   * Set once the rows are over: `done` after CopyDone (COPY) or at CommandComplete (FETCH),
   * `error` at an ErrorResponse. `rest` (CommandComplete and ReadyForQuery, or the error and what
   * follows) is node-postgres's to read.
   */
  over?: { how: "done" | "error"; rest: Uint8Array };
}

const COPY_DATA = 0x64; // d
const COPY_DONE = 0x63; // c
const COPY_OUT_RESPONSE = 0x48; // H
const DATA_ROW = 0x44; // D
const COMMAND_COMPLETE = 0x43; // C
const ROW_DESCRIPTION = 0x54; // T
const ERROR_RESPONSE = 0x45; // E
const NOTICE_RESPONSE = 0x4e; // N
const PARAMETER_STATUS = 0x53; // S
const NOTIFICATION_RESPONSE = 0x41; // A
const HEADER = 5;
const LF = 10;

/** How each statement's rows are framed (see {@link RowMessages}). */
interface Framing {
  /** The message of one row. */
  data: number;
  /** The message after the last row. */
  end: number;
  /** Whether the end message is node-postgres's to read (it reports the statement's outcome). */
  endIsPg: boolean;
  /** The message before the first row, skipped. */
  head: number;
  /** The command tag CommandComplete carries, with the rows the server sent. */
  tag: RegExp;
  /** What the rows are, in errors. */
  what: string;
}

const FRAMING: Record<RowMessages, Framing> = {
  copy: {
    data: COPY_DATA,
    end: COPY_DONE,
    endIsPg: false,
    head: COPY_OUT_RESPONSE,
    tag: /^COPY (\d+)$/,
    what: "COPY data",
  },
  fetch: {
    data: DATA_ROW,
    end: COMMAND_COMPLETE,
    endIsPg: true,
    head: ROW_DESCRIPTION,
    tag: /^FETCH (\d+)$/,
    what: "FETCH rows",
  },
};

/**
 * The rows the server says it sent, read from CommandComplete's tag; undefined when the tag is not
 * the statement's.
 */
export function sentRows(tag: string | undefined, messages: RowMessages): number | undefined {
  const sent = FRAMING[messages].tag.exec(tag ?? "");
  return sent === null ? undefined : Number(sent[1]);
}

/** The error for rows that break the protocol's framing. */
export function malformedRows(message: string, messages: RowMessages = "copy"): SourceError {
  return new SourceError(
    `PostgreSQL: malformed ${FRAMING[messages].what}: ${message}`,
    "permanent",
  );
}

function messageSize(buf: Uint8Array, at: number): number {
  // The length counts itself but not the type byte.
  return 1 + ((buf[at + 1] << 24 | buf[at + 2] << 16 | buf[at + 3] << 8 | buf[at + 4]) >>> 0);
}

/** The rows of one COPY or FETCH out of the protocol stream, chunk by chunk. */
export class CopyRowsParser {
  /** Text and CSV records end in LF, which is checked as they are framed. */
  readonly #lineEnds: boolean;
  readonly #messages: RowMessages;
  readonly #framing: Readonly<Framing>;
  /** The start of a message cut by the end of the last chunk (its whole size once known). */
  #pending: Uint8Array | undefined;
  #filled = 0;
  #ends = new Int32Array(1 << 12);
  #over = false;

  /** Frames the messages of a COPY in `format`, or of a FETCH (whose rows are binary tuples). */
  constructor(format: CopyFormat = "csv", messages: RowMessages = "copy") {
    this.#lineEnds = format !== "binary";
    this.#messages = messages;
    this.#framing = FRAMING[messages];
  }

  /**
   * Parses the next chunk of protocol bytes. The chunk must not be used by anyone else: records
   * are moved together inside it and handed on in it. `owned`: the chunk spans the whole of its
   * buffer (so its records may release it), unless the COPY ends in it and node-postgres gets the
   * rest.
   */
  push(chunk: Uint8Array, owned = false): Parsed {
    if (this.#over) throw new Error("the statement's rows are over");
    if (this.#pending === undefined) return this.#parse(chunk, owned);
    const at = this.#completePending(chunk);
    if (at < 0) return { blocks: [] };
    const message = this.#pending;
    this.#pending = undefined;
    this.#filled = 0;
    // The held-back message is in a buffer of its own.
    const first = this.#parse(message, true);
    if (first.over === undefined) {
      const rest = this.#parse(chunk.subarray(at), owned);
      return { blocks: [...first.blocks, ...rest.blocks], over: rest.over };
    }
    // The message ended the rows (or was an error): all that follows is node-postgres's.
    const rest = new Uint8Array(first.over.rest.length + chunk.length - at);
    rest.set(first.over.rest);
    rest.set(chunk.subarray(at), first.over.rest.length);
    return { blocks: first.blocks, over: { how: first.over.how, rest } };
  }

  /** Parses the messages of `buf`, holding back the one its end cuts. */
  #parse(buf: Uint8Array, owned: boolean): Parsed {
    const n = buf.length;
    let p = 0;
    let o = 0;
    let rows = 0;
    let over: Parsed["over"];
    while (p + HEADER <= n) {
      const code = buf[p];
      if (code === ERROR_RESPONSE) {
        over = { how: "error", rest: buf.subarray(p) };
        break;
      }
      const { data, end: last, endIsPg, head } = this.#framing;
      if (code === last && endIsPg) {
        over = { how: "done", rest: buf.subarray(p) };
        break;
      }
      const end = p + messageSize(buf, p);
      if (end > n) break;
      if (code === data) {
        if (this.#lineEnds && (end === p + HEADER || buf[end - 1] !== LF)) {
          throw malformedRows("a row without a line end");
        }
        buf.copyWithin(o, p + HEADER, end);
        o += end - p - HEADER;
        if (rows === this.#ends.length) {
          const grown = new Int32Array(2 * rows);
          grown.set(this.#ends);
          this.#ends = grown;
        }
        this.#ends[rows++] = o;
      } else if (code === last) {
        over = { how: "done", rest: buf.subarray(end) };
        break;
      } else if (
        code !== head && code !== NOTICE_RESPONSE && code !== PARAMETER_STATUS &&
        code !== NOTIFICATION_RESPONSE
      ) {
        throw malformedRows(`unexpected message type ${String.fromCharCode(code)}`, this.#messages);
      }
      p = end;
    }
    if (over === undefined) this.#hold(buf, p);
    else this.#over = true;
    const blocks = rows === 0 ? [] : [{
      bytes: buf.subarray(0, o),
      rows,
      ends: this.#ends.slice(0, rows),
      // What follows CopyDone in the buffer is node-postgres's to read.
      owned: owned && over === undefined,
    }];
    return over === undefined ? { blocks } : { blocks, over };
  }

  /**
   * Copies the start of `chunk` into the pending message; returns where the chunk goes on once
   * the message is complete, or -1 while it is not.
   */
  #completePending(chunk: Uint8Array): number {
    let pending = this.#pending!;
    let at = 0;
    while (this.#filled < HEADER && at < chunk.length) pending[this.#filled++] = chunk[at++];
    if (this.#filled < HEADER) return -1;
    const size = messageSize(pending, 0);
    if (pending.length < size) {
      pending = new Uint8Array(size);
      pending.set(this.#pending!.subarray(0, this.#filled));
      this.#pending = pending;
    }
    const take = Math.min(size - this.#filled, chunk.length - at);
    pending.set(chunk.subarray(at, at + take), this.#filled);
    this.#filled += take;
    return this.#filled < size ? -1 : at + take;
  }

  /** Holds `buf[from..)`, the start of a message, until the chunks that complete it. */
  #hold(buf: Uint8Array, from: number): void {
    const left = buf.length - from;
    if (left === 0) return;
    const size = left >= HEADER ? messageSize(buf, from) : HEADER;
    const pending = new Uint8Array(Math.max(size, left));
    pending.set(buf.subarray(from));
    this.#pending = pending;
    this.#filled = left;
  }
}
