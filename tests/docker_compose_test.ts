import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";

// Docker is not available where the tests run: this checks what can be checked without it.
const ROOT = new URL("../", import.meta.url).pathname;

interface Service {
  image: string;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  command?: string[];
  entrypoint?: string[];
  depends_on?: string[];
}

async function compose(): Promise<Record<string, Service>> {
  const doc = parse(await Deno.readTextFile(join(ROOT, "docker-compose.yml")));
  return doc.services as Record<string, Service>;
}

/** The host port published for `containerPort`. */
function published(service: Service, containerPort: number): number | undefined {
  const mapping = service.ports?.find((p) => p.endsWith(`:${containerPort}`));
  return mapping === undefined ? undefined : Number(mapping.split(":")[0]);
}

Deno.test("docker-compose.yml: the servers the examples use, on the ports they name", async () => {
  const services = await compose();
  assert.equal(services.postgres.image, "postgres:16");
  assert.match(services.mysql.image, /^mysql:8/);
  assert.match(services.minio.image, /^minio\/minio/);
  assert.match(services.gcs.image, /^fsouza\/fake-gcs-server/);
  assert.equal(published(services.postgres, 5432), 5432);
  assert.equal(published(services.mysql, 3306), 3306);
  assert.equal(published(services.minio, 9000), 9000);
  assert.equal(published(services.gcs, 4443), 4443);
  assert.equal(published(services["gce-metadata"], 80), 8086);

  const s3 = await Deno.readTextFile(join(ROOT, "examples/chunked_parallel_s3.yaml"));
  assert.match(s3, /endpoint: http:\/\/localhost:9000/);
  assert.match(s3, /bucket: rivet-exports/);
  const env = services.minio.environment!;
  assert.match(s3, new RegExp(`RIVET_S3_ACCESS_KEY=${env.MINIO_ROOT_USER} `));
  assert.match(s3, new RegExp(`RIVET_S3_SECRET_KEY=${env.MINIO_ROOT_PASSWORD}\\n`));
  assert.match(
    services["minio-bucket"].entrypoint!.join(" "),
    /mc mb --ignore-existing local\/rivet-exports/,
  );

  const gcs = await Deno.readTextFile(join(ROOT, "examples/time_window_gcs.yaml"));
  assert.match(gcs, /endpoint: http:\/\/localhost:4443/);
  assert.match(gcs, /GCE_METADATA_HOST=localhost:8086/);
  assert.ok(services.gcs.command!.includes("http://localhost:4443"), "external URL");
  assert.ok(services["gcs-bucket"].command!.includes('{"name": "rivet-exports"}'));
});

Deno.test("docker-compose.yml: every mounted file exists, and the init scripts seed from the mounted seeds", async () => {
  const services = await compose();
  for (const [name, service] of Object.entries(services)) {
    for (const volume of service.volumes ?? []) {
      const host = volume.split(":")[0];
      assert.ok(host.startsWith("./"), `${name}: ${volume} is a bind mount`);
      await Deno.stat(join(ROOT, host)); // throws NotFound
    }
  }
  for (const engine of ["postgres", "mysql"]) {
    const mounts = services[engine].volumes!;
    assert.ok(mounts.includes(`./examples/docker/${engine}:/docker-entrypoint-initdb.d:ro`));
    assert.ok(mounts.includes("./examples/docker/seed:/seed:ro"));
    const init = await Deno.readTextFile(join(ROOT, `examples/docker/${engine}/00_shop.sql`));
    const seed = init.match(/(?:\\i|SOURCE) \/seed\/(\S+?);?$/m)?.[1];
    assert.equal(seed, `${engine}.sql`);
    await Deno.stat(join(ROOT, "examples/docker/seed", seed!));
    assert.match(init, /CREATE DATABASE shop/);
  }
});
