/**
 * A `COPY ... TO STDOUT`, or a `FETCH` from a BINARY cursor, as a node-postgres query whose result
 * is a stream of record blocks (`copy_rows.ts`), read off the connection's socket directly.
 *
 * node-postgres parses every message into an object and an event, which for a COPY is one of each
 * per row, and for a FETCH also one JS string per value. So for the length of the statement this
 * query takes the socket over: node-postgres's data listener is set aside, the socket is read in
 * paused mode (so TCP is the backpressure: nothing is read while the consumer is behind), and once
 * the rows are over (CopyDone; a FETCH's CommandComplete), or at an ErrorResponse, the listener
 * gets the socket back together with the bytes from there on, so node-postgres reports the outcome
 * (CommandComplete, or the error) and carries on as usual. The stream ends with CommandComplete,
 * whose row count must be the number of records framed.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { Readable } from "node:stream";
import {
  type CopyFormat,
  CopyRowsParser,
  malformedRows,
  type RowMessages,
  sentRows,
} from "./copy_rows.ts";

/** The part of node-postgres's Connection this query uses. */
interface Connection {
  stream: Readable;
  query(text: string): void;
}

type DataListener = (chunk: Buffer) => void;

/**
 * Submitted with `client.query(new CopyRowsQuery(sql))`; iterate it for `Records` blocks. Fails
 * with the server's error when the COPY fails.
 */
export class CopyRowsQuery extends Readable {
  readonly #sql: string;
  readonly #parser: CopyRowsParser;
  /** Messages framed beyond the rows: binary format's end-of-data marker has one of its own. */
  readonly #extraMessages: number;
  #connection: Connection | undefined;
  #pgListener: DataListener | undefined;
  readonly #onReadable = () => this.#forward();
  /** The consumer wants more (`_read` was called and `push` has not said stop since). */
  #wanted = false;
  #forwarding = false;
  /** Records pushed so far. */
  #rows = 0;
  readonly #messages: RowMessages;

  /**
   * `format` must be the one the statement asks for; a FETCH (`messages`) must read from a BINARY
   * cursor.
   */
  constructor(sql: string, format: CopyFormat, messages: RowMessages = "copy") {
    // A block is one network chunk: two in the queue are plenty to keep the socket busy.
    super({ objectMode: true, highWaterMark: 2 });
    this.#sql = sql;
    this.#parser = new CopyRowsParser(format, messages);
    this.#extraMessages = messages === "copy" && format === "binary" ? 1 : 0;
    this.#messages = messages;
  }

  /** Called by node-postgres when the query's turn comes. */
  submit(connection: Connection): void {
    this.#connection = connection;
    const socket = connection.stream;
    const listeners = socket.listeners("data") as DataListener[];
    if (listeners.length !== 1) throw new Error("unexpected socket listeners");
    this.#pgListener = listeners[0];
    socket.removeListener("data", this.#pgListener);
    socket.pause();
    socket.on("readable", this.#onReadable);
    connection.query(this.#sql);
  }

  /**
   * Whether the socket is still this statement's: it was sent, and its rows neither ended nor
   * failed on the server's side. A stream destroyed meanwhile (by its consumer, or by a malformed
   * message) leaves node-postgres without its socket: the session can only be dropped.
   */
  get holdsSocket(): boolean {
    return this.#pgListener !== undefined;
  }

  /** node-postgres reports the server's error (after the socket was handed back). */
  handleError(error: Error): void {
    this.destroy(error);
  }

  /**
   * node-postgres: the statement's CommandComplete, `COPY <rows>` or `FETCH <rows>`. The stream
   * ends only now, once the records framed (one per message) are known to be as many as the
   * server sent.
   */
  handleCommandComplete(message: { text?: string }): void {
    const sent = sentRows(message.text, this.#messages);
    if (sent === undefined || sent + this.#extraMessages !== this.#rows) {
      this.destroy(
        malformedRows(
          `${this.#rows - this.#extraMessages} rows read, the server says ${
            message.text ?? "nothing"
          }`,
          this.#messages,
        ),
      );
    } else {
      this.push(null);
    }
  }

  /** node-postgres: the connection is ready for the next query; nothing to do. */
  handleReadyForQuery(): void {}

  override _read(): void {
    this.#wanted = true;
    this.#forward();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#connection?.stream.removeListener("readable", this.#onReadable);
    callback(error);
  }

  #forward(): void {
    if (this.#forwarding || !this.#wanted || this.#pgListener === undefined) return;
    this.#forwarding = true;
    try {
      const socket = this.#connection!.stream;
      let chunk: Uint8Array | null;
      // Once the socket is handed back, what follows is node-postgres's: stop reading at once.
      while (
        this.#wanted && this.#pgListener !== undefined &&
        (chunk = socket.read() as Uint8Array | null) !== null
      ) {
        // A chunk that is not the whole of its buffer may be a slice of a shared pool.
        const whole = chunk.byteOffset === 0 && chunk.length === chunk.buffer.byteLength;
        this.#parse(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), whole);
      }
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.#forwarding = false;
    }
  }

  #parse(chunk: Uint8Array, whole: boolean): void {
    const { blocks, over } = this.#parser.push(chunk, whole);
    for (const records of blocks) {
      this.#rows += records.rows;
      this.#wanted = this.push(records);
    }
    if (over !== undefined) this.#handBack(over.rest);
  }

  /** Gives the socket back to node-postgres, with the bytes it has not seen. */
  #handBack(rest: Uint8Array): void {
    const socket = this.#connection!.stream;
    const listener = this.#pgListener!;
    this.#pgListener = undefined;
    socket.removeListener("readable", this.#onReadable);
    socket.on("data", listener);
    if (rest.length > 0) listener(Buffer.from(rest.buffer, rest.byteOffset, rest.length));
    // Flowing again, once the listener has dealt with what it was given.
    process.nextTick(() => socket.resume());
  }
}
