/**
 * The gates of one piece, from the export's config and the run's options: `quality` when the export
 * has quality rules, `reconciled` with `--reconcile`.
 *
 * @module
 */
import type { Schema } from "apache-arrow";
import type { Piece } from "../plan/plan.ts";
import type { ExportContext } from "./context.ts";
import type { PieceGate } from "./gate.ts";
import { qualityGate } from "./quality.ts";
import { reconcileGate } from "./reconcile.ts";

/** The gates `piece` must pass before delivery; its rows have `schema`. */
export function gatesFor(ctx: ExportContext, piece: Piece, schema: Schema): PieceGate[] {
  const gates: PieceGate[] = [];
  if (ctx.exp.quality) gates.push(qualityGate(ctx.exp.name, ctx.exp.quality, schema));
  if (ctx.reconcile) gates.push(reconcileGate(ctx, piece, schema));
  return gates;
}
