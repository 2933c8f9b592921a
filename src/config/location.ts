/**
 * Maps a key path in the parsed YAML back to its 1-based line, so every config error can name it.
 *
 * @module
 */
import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from "yaml";

/** A path into the config: object keys and array indexes. */
export type KeyPath = readonly (string | number)[];

/** Renders a path the way users read it: `exports[1].destination.type`. */
export function formatPath(path: KeyPath): string {
  let out = "";
  for (const part of path) {
    out += typeof part === "number" ? `[${part}]` : out ? `.${part}` : part;
  }
  return out;
}

/** Finds YAML lines for key paths in one parsed document. */
export class Locator {
  constructor(private readonly doc: Document, private readonly lines: LineCounter) {}

  /**
   * The line of the value at `path`, or of its key when `keyLine` is set (for unknown keys, whose
   * value may span lines). Falls back to the nearest existing ancestor.
   */
  line(path: KeyPath, keyLine = false): number | undefined {
    let node: unknown = this.doc.contents;
    // An empty document has no contents node: its problems are at the top of the file.
    let best: number | undefined = this.offsetLine(node) ?? 1;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === part);
        if (!pair) return best;
        const keyNode = pair.key as Node;
        node = pair.value;
        best = keyLine && part === path[path.length - 1]
          ? this.offsetLine(keyNode)
          : this.offsetLine(node) ?? this.offsetLine(keyNode);
      } else if (isSeq(node) && typeof part === "number") {
        node = node.items[part];
        best = this.offsetLine(node) ?? best;
      } else {
        return best;
      }
    }
    return best;
  }

  private offsetLine(node: unknown): number | undefined {
    const range = (node as Node | null | undefined)?.range;
    return range ? this.lines.linePos(range[0]).line : undefined;
  }
}
