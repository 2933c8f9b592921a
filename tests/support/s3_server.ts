/**
 * A real S3 server for tests: a one-node Ceph cluster (monitor, one in-memory OSD, radosgw) on free
 * loopback ports in a scratch directory, started in about 2 s. Needs the Debian packages `radosgw`,
 * `ceph-mon` and `ceph-osd` (`.ci/run` installs them); without them starting fails, saying so.
 *
 * @module
 */
import { join } from "node:path";

/** A running radosgw with one user. */
export interface S3Server {
  /** `http://127.0.0.1:<port>`: use path-style addressing and region `us-east-1`. */
  endpoint: string;
  /** The user's access key id. */
  accessKey: string;
  /** The user's secret key. */
  secretKey: string;
  /**
   * Kills the daemons (SIGKILL: the data lives only in the scratch dir) and removes the dir;
   * synchronous, so an `unload` handler can call it.
   */
  stop(): void;
}

const ACCESS_KEY = "rivettestkey";
const SECRET_KEY = "rivettestsecret";
const INSTALL_HINT =
  "the S3 tests need Ceph radosgw: apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd (.ci/run does this)";

/** Starts a one-node cluster and its S3 gateway; rejects if radosgw is not installed. */
export async function startS3Server(): Promise<S3Server> {
  if (!await onPath("radosgw")) throw new Error(`radosgw is not installed: ${INSTALL_HINT}`);
  const dir = await Deno.makeTempDir({ prefix: "rivet-s3-" });
  const daemons: Deno.ChildProcess[] = [];
  try {
    const [monPort, s3Port] = freePorts(2);
    const conf = join(dir, "ceph.conf");
    const c = ["-c", conf];
    for (const sub of ["mon", "osd0", "log", "run", "rgw"]) await Deno.mkdir(join(dir, sub));
    const fsid = crypto.randomUUID();
    await Deno.writeTextFile(conf, cephConf(dir, fsid, monPort, s3Port));
    await run("monmaptool", [
      "--create",
      "--fsid",
      fsid,
      "--addv",
      "a",
      `[v2:127.0.0.1:${monPort}]`,
      join(dir, "monmap"),
    ]);
    await run("ceph-mon", [...c, "--mkfs", "-i", "a", "--monmap", join(dir, "monmap")]);
    daemons.push(spawn("ceph-mon", [...c, "-i", "a", "-f"]));
    const osdUuid = crypto.randomUUID();
    const id = (await run("ceph", [...c, "osd", "new", osdUuid])).trim();
    await run("ceph-osd", [...c, "-i", id, "--mkfs", "--osd-uuid", osdUuid]);
    daemons.push(spawn("ceph-osd", [...c, "-i", id, "-f"]));
    await until("the OSD to come up", async () => {
      return new RegExp(`^osd\\.${id} up`, "m").test(await run("ceph", [...c, "osd", "dump"]));
    });
    await run("radosgw-admin", [
      ...c,
      "user",
      "create",
      "--uid",
      "test",
      "--display-name",
      "test",
      "--access-key",
      ACCESS_KEY,
      "--secret-key",
      SECRET_KEY,
    ]);
    const rgw = spawn("radosgw", [...c, "-n", "client.rgw", "-f"]);
    daemons.push(rgw);
    const endpoint = `http://127.0.0.1:${s3Port}`;
    await until("radosgw to answer", async () => {
      // A gateway that could not bind exits: fail instead of probing someone else's server.
      if (await exited(rgw)) throw new Error("radosgw exited");
      const response = await fetch(`${endpoint}/`).catch(() => undefined);
      await response?.body?.cancel();
      return response?.ok === true;
    });
    return {
      endpoint,
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
      stop() {
        for (const d of daemons) killQuietly(d);
        Deno.removeSync(dir, { recursive: true });
      },
    };
  } catch (err) {
    // The scratch dir stays for its logs.
    for (const d of daemons) killQuietly(d);
    throw new Error(`cannot start radosgw (logs in ${dir}/log): ${errorText(err)}`, {
      cause: err,
    });
  }
}

function cephConf(dir: string, fsid: string, monPort: number, s3Port: number): string {
  return `[global]
fsid = ${fsid}
mon_host = v2:127.0.0.1:${monPort}
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
auth_supported = none
# radosgw defaults to "secure" mode, which auth none cannot provide: it would never reach the mon.
ms_mon_client_mode = crc
keyring = /dev/null
run_dir = ${dir}/run
log_file = ${dir}/log/$name.log
pid_file = ${dir}/run/$name.pid
osd_pool_default_size = 1
osd_pool_default_min_size = 1
# The default 32 PGs times the gateway's pools would exceed mon_max_pg_per_osd.
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
mon_data_avail_crit = 1
mon_data_avail_warn = 2
mon_warn_on_insecure_global_id_reclaim_allowed = false
# The default 1 s proposal interval makes startup take ~12 s instead of ~2 s.
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
[mon]
mon_data = ${dir}/mon
mon_cluster_log_file = ${dir}/log/cluster.log
[osd]
osd_data = ${dir}/osd$id
osd_objectstore = memstore
# Capacity of the in-memory store (RAM is used only for what is stored).
memstore_device_bytes = 2147483648
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1
[client.rgw]
# Without tcp_nodelay every response waits ~40 ms (Nagle and delayed ACK).
rgw_frontends = beast endpoint=127.0.0.1:${s3Port} tcp_nodelay=1
rgw_data = ${dir}/rgw
rgw_thread_pool_size = 32
rgw_dynamic_resharding = false
rgw_gc_obj_min_wait = 10
rgw_gc_processor_period = 10
`;
}

async function onPath(program: string): Promise<boolean> {
  for (const p of (Deno.env.get("PATH") ?? "").split(":")) {
    if (await Deno.stat(join(p, program)).then((s) => s.isFile, () => false)) return true;
  }
  return false;
}

/** Loopback ports nobody listens on now (the kernel's choice, so distinct from the OSD range). */
function freePorts(count: number): number[] {
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

async function run(program: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(program, { args, stdin: "null" }).output();
  const decoder = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `${program} ${args.join(" ")} failed (${out.code}): ${decoder.decode(out.stderr).trim()}`,
    );
  }
  return decoder.decode(out.stdout);
}

/** Daemons log to the scratch dir; their own stdout/stderr are dropped so nothing holds a pipe. */
function spawn(program: string, args: string[]): Deno.ChildProcess {
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  // The test process must not wait for the daemons: they are killed at unload.
  child.unref();
  return child;
}

function killQuietly(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // Already gone.
  }
}

async function exited(child: Deno.ChildProcess): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), 0));
  return await Promise.race([child.status.then(() => true), timeout]);
}

async function until(what: string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!await ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
