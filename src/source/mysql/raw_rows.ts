/**
 * The one place rivet reaches into mysql2's internals: a streamed query's row packets, handed over
 * as the bytes that arrived instead of as one Buffer (or JS value) per cell.
 *
 * mysql2 offers no public way to see a row before it is split into per-cell values: `typeCast:
 * false` slices a Buffer per cell, and a `typeCast` function is called per cell with a closure.
 * Its `Query` command is a state machine, though, whose state for a text-protocol row is the
 * method `row(packet)`, which the end of the column definitions hands over to as `this.row`.
 * Setting `row` on the query object itself therefore routes every row packet here, while the
 * end-of-result packet still goes through mysql2's own `row` (which ends the result or moves on to
 * the next). Error packets never reach a state: the command handles them first.
 *
 * A prepared statement's `Execute` command moves to its row state by name instead, so there the
 * row parser it builds per result is replaced ({@link interceptBinaryRows}).
 *
 * Verified on mysql2 3.24.6 (`lib/commands/query.js`: `fieldsEOF` returns `this.row`; the packet
 * has `buffer`, `offset`, `end` and `isEOF()`). `tests/mysql_raw_rows_test.ts` fails if mysql2
 * stops doing so, and so does any read: a row that mysql2 parses itself arrives as a `result`
 * event, which fails the read instead of dropping the row silently.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { SourceError } from "../../errors.ts";
import { releaseBuffer } from "../../util/release_buffer.ts";

/** mysql2's packet, as far as a row state reads it. */
interface Packet {
  buffer: Uint8Array;
  offset: number;
  end: number;
  isEOF(): boolean;
}

/** A state of mysql2's command state machine: handles one packet, returns the next state. */
type State = (this: QueryCommand, packet: Packet, connection: unknown) => State | null;

/** The part of mysql2's `Query` command the interception relies on. */
interface QueryCommand {
  row: State;
  on(event: "result", listener: (row: unknown) => void): unknown;
}

/** The part of mysql2's `Execute` command the interception relies on. */
interface ExecuteCommand extends QueryCommand {
  buildParserFromFields: () => new () => { next(packet: Packet): unknown };
}

/**
 * Receives one row packet's payload, `bytes[start, end)`: the row's cells as length-encoded
 * strings. `bytes` is only valid during the call.
 */
export type RowPacketHandler = (bytes: Uint8Array, start: number, end: number) => void;

/** The error of a read whose rows mysql2 parsed itself: the interception no longer works. */
function bypassed(): SourceError {
  return new SourceError(
    "MySQL: mysql2 parsed a row itself, so its row handling changed and rivet's raw row reader " +
      "(verified on mysql2 3.24.6) no longer applies; install the mysql2 version rivet pins",
    "permanent",
  );
}

/**
 * Releases the socket chunk whose rows were all handed on (`util/release_buffer.ts`), when mysql2
 * is sure to be done with it too: a result's rows arrive chunk after chunk, and mysql2 copies a
 * row cut by a chunk's end into a buffer of its own before handing it on, so once a packet comes
 * from another buffer the last one is spent. Left to the garbage collector, which the main thread
 * runs rarely while it streams, spent chunks piled up to tens of MB. Never released:
 * - the first row's chunk, which may also hold the column definitions mysql2 decodes lazily;
 * - a buffer of at most `Buffer.poolSize` bytes, which may be Node's pool that small copies share;
 * - a chunk that does not run to its buffer's end, whose buffer might hold the next chunk too.
 */
function releaseSpent(chunk: Uint8Array, first: ArrayBufferLike | undefined): void {
  const buffer = chunk.buffer;
  if (
    buffer !== first && buffer.byteLength > Buffer.poolSize &&
    chunk.byteOffset + chunk.byteLength === buffer.byteLength
  ) {
    releaseBuffer(chunk);
  }
}

/**
 * A function that hands each row packet on to `onRow`, as a view of its socket chunk: packets
 * arrive as Node Buffers, which slice and copy slower than plain views of the same memory, and one
 * view per socket chunk is enough, as consecutive rows share their chunk.
 */
function deliverTo(onRow: RowPacketHandler): (packet: Packet) => void {
  let source: Uint8Array | undefined;
  let view: Uint8Array = new Uint8Array(0);
  let first: ArrayBufferLike | undefined;
  return (packet) => {
    const buffer = packet.buffer;
    if (buffer !== source) {
      if (source !== undefined && source.buffer !== buffer.buffer) releaseSpent(source, first);
      first ??= buffer.buffer;
      source = buffer;
      view = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    }
    onRow(view, packet.offset, packet.end);
  };
}

/** Reports, through `onBypass`, a row mysql2 parsed itself (see {@link bypassed}). */
function watchBypass(command: QueryCommand, onBypass: (error: SourceError) => void): void {
  command.on("result", (value) => {
    // mysql2 also reports the OK packet ending a CALL this way; only a parsed row is an array.
    if (Array.isArray(value)) onBypass(bypassed());
  });
}

/**
 * Routes the row packets of `query` (a streaming mysql2 `Query`, as `connection.query()` returns
 * it) to `onRow`, and reports through `onBypass` a row mysql2 delivered itself. Call it before the
 * query's first packet arrives, i.e. synchronously after `connection.query()`.
 */
export function interceptRows(
  query: object,
  onRow: RowPacketHandler,
  onBypass: (error: SourceError) => void,
): void {
  const command = query as QueryCommand;
  const mysqlRow = command.row;
  if (typeof mysqlRow !== "function") {
    throw new TypeError("mysql2's Query command has no row state (mysql2 changed)");
  }
  const deliver = deliverTo(onRow);
  const row: State = function (packet, connection) {
    if (packet.isEOF()) return mysqlRow.call(this, packet, connection);
    deliver(packet);
    return row;
  };
  command.row = row;
  watchBypass(command, onBypass);
}

/**
 * Routes the binary row packets of `execute` (a streaming mysql2 `Execute`, as
 * `connection.execute()` returns it) to `onRow`, as {@link interceptRows} does for a query. The
 * `Execute` command moves to its prototype's row state by name, so the hook is its row parser
 * instead: the parser mysql2 builds per result (`buildParserFromFields`, called on the command)
 * is replaced by one that hands the packet on and returns nothing, which the row state then
 * reports as a `result` that is not a row. Verified on mysql2 3.24.6
 * (`lib/commands/execute.js`).
 */
export function interceptBinaryRows(
  execute: object,
  onRow: RowPacketHandler,
  onBypass: (error: SourceError) => void,
): void {
  const command = execute as ExecuteCommand;
  if (typeof command.buildParserFromFields !== "function") {
    throw new TypeError("mysql2's Execute command has no row parser builder (mysql2 changed)");
  }
  const deliver = deliverTo(onRow);
  command.buildParserFromFields = () =>
    class {
      next(packet: Packet): undefined {
        deliver(packet);
      }
    };
  watchBypass(command, onBypass);
}
