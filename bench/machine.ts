/**
 * What a result depends on besides the code: the machine, the runtime, the servers and clients,
 * and the commit measured (with whether the work tree had uncommitted changes).
 *
 * @module
 */
import type { Server } from "./servers.ts";

/** The setting a bench result was measured in. */
export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalMb: number;
  kernel: string;
  deno: string;
  v8: string;
  typescript: string;
  /** Server `version()` / `@@version`, by engine. */
  servers: Record<string, string>;
  /** `psql --version`, `mariadb --version`. */
  clients: Record<string, string>;
  gitCommit: string;
  /** Paths `git status --porcelain` lists: the measured code may differ from the commit. */
  gitUncommitted: string[];
}

async function output(cmd: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "null" }).output();
  return out.success ? new TextDecoder().decode(out.stdout).trimEnd() : "unknown";
}

/** The CPU's model name; through `cat`, since Deno lets only --allow-all read /proc directly. */
async function cpuModel(): Promise<string> {
  const text = await output("cat", ["/proc/cpuinfo"]);
  return text.match(/^model name\s*:(.*)$/m)?.[1]?.trim() ?? "unknown";
}

/** Reads the machine, runtime, `servers`' versions and the git state of `root`. */
export async function machineInfo(servers: Server[], root: string): Promise<MachineInfo> {
  const serverVersions: Record<string, string> = {};
  const clients: Record<string, string> = {};
  for (const server of servers) {
    const [[version]] = await server.query(
      server.engine === "postgres" ? "SELECT version();" : "SELECT @@version;",
    );
    serverVersions[server.engine] = version;
    clients[server.client.cmd] = await output(server.client.cmd, ["--version"]);
  }
  const status = await output("git", ["status", "--porcelain"], root);
  return {
    nproc: navigator.hardwareConcurrency,
    cpuModel: await cpuModel(),
    memTotalMb: Math.round(Deno.systemMemoryInfo().total / 1024 / 1024),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    servers: serverVersions,
    clients,
    gitCommit: await output("git", ["rev-parse", "HEAD"], root),
    gitUncommitted: status === "unknown" || status === ""
      ? []
      : status.split("\n").map((line) => line.slice(3)),
  };
}
