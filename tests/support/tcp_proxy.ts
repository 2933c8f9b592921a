/**
 * A loopback TCP proxy that can be told to fail the network in the ways uploads and downloads
 * meet: long transfers dropped half way while short requests get through, a reply lost after the
 * server acted, or a download (a query's result) cut mid-stream. It can also hand the client its
 * downloads in small pieces, so that the client's reads end at arbitrary points of the protocol.
 *
 * @module
 */
import { setImmediate } from "node:timers";

/** A running proxy in front of one server. */
export interface TcpProxy {
  /** The loopback port clients connect to. */
  port: number;
  /**
   * Once `afterBytes` more bytes have gone to the server, cuts every connection as soon as it
   * has sent more than `limit` bytes from then on: transfers in flight and every retry of a long
   * one fail, requests shorter than `limit` pass.
   */
  cutLongTransfers(afterBytes: number, limit: number): void;
  /**
   * The next connection that has sent more than `bytes` to the server when the server answers
   * loses that answer and is closed: the server acted, the client never hears of it.
   */
  loseNextReply(bytes: number): void;
  /**
   * The next connection to receive more than `bytes` from the server is cut there (both sides
   * closed mid-answer); connections after it pass untouched.
   */
  cutNextDownload(bytes: number): void;
  /**
   * From now on, what the server sends reaches the client in pieces of 1 to `maxBytes` bytes (the
   * sizes cycle), each written and flushed before the next.
   */
  splitDownloads(maxBytes: number): void;
  /** How many connections {@link cutNextDownload} has cut so far. */
  downloadsCut(): number;
  /** Bytes sent to the server so far. */
  forwarded(): number;
  /** Stops listening and closes every connection. */
  close(): void;
}

/** Starts a proxy on a free loopback port that forwards to `127.0.0.1:targetPort`. */
export function startTcpProxy(targetPort: number): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let sent = 0;
  let armedAt: number | undefined;
  let limit = Infinity;
  let cutAfter = Infinity;
  let loseReplyAfter: number | undefined;
  let cutDownloadAfter: number | undefined;
  let downloadsCut = 0;
  let downloadPiece = Infinity;
  let pieces = 0;

  const pipe = async (
    from: Deno.Conn,
    to: Deno.Conn,
    onChunk: (n: number) => boolean,
    close: () => void,
    piece: () => number = () => Infinity,
  ) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null || !onChunk(n)) break;
        let offset = 0;
        while (offset < n) {
          const size = piece();
          offset += await to.write(buffer.subarray(offset, Math.min(n, offset + size)));
          // Lets the client read this piece before the next one joins it.
          if (size !== Infinity) await new Promise((resolve) => setImmediate(resolve));
        }
      }
    } catch {
      // The other side or close() ended the connection.
    }
    close();
  };

  const serve = async (client: Deno.Conn) => {
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    } catch {
      client.close();
      return;
    }
    open.add(client).add(server);
    const closeBoth = () => {
      for (const c of [client, server]) {
        if (open.delete(c)) c.close();
      }
    };
    let sinceArmed = 0;
    let fromClient = 0;
    let fromServer = 0;
    const upstream = (n: number) => {
      sent += n;
      fromClient += n;
      if (armedAt === undefined && sent >= cutAfter) armedAt = sent;
      if (armedAt !== undefined) {
        sinceArmed += Math.min(n, sent - armedAt);
        if (sinceArmed > limit) return false;
      }
      return true;
    };
    await Promise.all([
      pipe(client, server, upstream, closeBoth),
      pipe(
        server,
        client,
        (n) => {
          fromServer += n;
          if (cutDownloadAfter !== undefined && fromServer > cutDownloadAfter) {
            cutDownloadAfter = undefined;
            downloadsCut++;
            return false;
          }
          if (loseReplyAfter === undefined || fromClient <= loseReplyAfter) return true;
          loseReplyAfter = undefined;
          return false;
        },
        closeBoth,
        () => downloadPiece === Infinity ? Infinity : 1 + (pieces++ % downloadPiece),
      ),
    ]);
  };

  (async () => {
    try {
      for await (const client of listener) serve(client);
    } catch {
      // close() stopped the listener.
    }
  })();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    cutLongTransfers(afterBytes, bytes) {
      cutAfter = sent + afterBytes;
      limit = bytes;
    },
    loseNextReply(bytes) {
      loseReplyAfter = bytes;
    },
    cutNextDownload(bytes) {
      cutDownloadAfter = bytes;
    },
    splitDownloads(maxBytes) {
      downloadPiece = maxBytes;
    },
    downloadsCut: () => downloadsCut,
    forwarded: () => sent,
    close() {
      listener.close();
      for (const c of open) c.close();
      open.clear();
    },
  };
}
