/**
 * Option definitions and value parsers shared by several commands.
 *
 * @module
 */
import { InvalidArgumentError, Option } from "commander";

/** `-c, --config <path>`: every command reads one config. */
export function configOption(): Option {
  return new Option("-c, --config <path>", "path to rivet.yaml").makeOptionMandatory();
}

/** Parses a positive integer option value (`--last 5`). */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/** Accumulates a repeatable option into a list (`--export a --export b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Receives a command's exit code from its action. */
export type SetExit = (code: number) => void;
