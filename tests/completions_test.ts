import assert from "node:assert/strict";
import { join } from "node:path";
import { rivet } from "./support/cli.ts";
import { withTempDir, writeFile } from "./support/files.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/**
 * A config whose exports the scripts must list without connecting anywhere: nothing listens on
 * port 1, and `${RIVET_UNSET}` is not set (loading it for a run would fail).
 */
const CONFIG = `
source:
  type: postgres
  url: "postgresql://app@127.0.0.1:1/\${RIVET_UNSET}"
exports:
  - name: orders
    query: SELECT 1
    destination: { type: stdout }
  - name: order_items
    query: SELECT 2
    destination: { type: local, path: ./out }
  - name: users
    query: SELECT 3
    destination: { type: local, path: ./out }
`;

function hasShell(name: string): boolean {
  try {
    return new Deno.Command(name, { args: ["-c", "exit 0"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir: string }).denoDir;
}

/**
 * A temp dir with a `rivet` on PATH (the CLI run by deno, as an installed binary would be), a
 * config, a second YAML file, a non-YAML file and a subdirectory, for `body`.
 */
async function withInstall(
  body: (ctx: { dir: string; config: string; env: Record<string, string> }) => Promise<void>,
): Promise<void> {
  await withTempDir(async (dir) => {
    const bin = join(dir, "bin");
    await Deno.mkdir(bin);
    await Deno.mkdir(join(dir, "configs"));
    await Deno.writeTextFile(
      join(bin, "rivet"),
      `#!/bin/sh\nexec '${Deno.execPath()}' run --allow-all '${ROOT}cli.ts' "$@"\n`,
      { mode: 0o755 },
    );
    const config = await writeFile(dir, "rivet.yaml", CONFIG);
    await writeFile(dir, "rivet-staging.yml", CONFIG);
    await writeFile(dir, "rivet-notes.txt", "not a config");
    // HOME is the temp dir (for `~/rivet.yaml`); Deno keeps its cache where it was.
    const env = { PATH: `${bin}:${Deno.env.get("PATH")}`, HOME: dir, DENO_DIR: await denoDir() };
    await body({ dir, config, env });
  });
}

async function shell(
  argv: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<string> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return new TextDecoder().decode(out.stdout);
}

/** Runs the generated bash script's `_rivet` for the words typed, the cursor on the last one. */
async function bashComplete(
  words: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<string[]> {
  const script = [
    "source <(rivet completions bash)",
    'COMP_WORDS=("$@")',
    "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))",
    "_rivet",
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("; ");
  const out = await shell(["bash", "-c", script, "bash", ...words], env, cwd);
  return out.split("\n").filter((l) => l !== "");
}

/** The commands `rivet --help` lists. */
async function helpCommands(args: string[] = []): Promise<string[]> {
  const help = await rivet([...args, "--help"]);
  const section = help.stdout.split("Commands:\n")[1];
  // Entries start two spaces in; a wrapped description continues further in.
  return [...section.matchAll(/^ {2}([a-z]\S*)/gm)].map((m) => m[1]);
}

Deno.test("completions bash: subcommands, options, shells, config files and export names", async () => {
  await withInstall(async ({ dir, config, env }) => {
    const complete = (...words: string[]) => bashComplete(words, env, dir);

    // The subcommands are exactly those --help lists: both come from the same definitions.
    assert.deepEqual((await complete("rivet", "")).sort(), (await helpCommands()).sort());
    assert.deepEqual(await complete("rivet", "st"), ["state"]);
    assert.deepEqual(
      (await complete("rivet", "state", "")).sort(),
      (await helpCommands(["state"])).sort(),
    );
    assert.deepEqual(await complete("rivet", "state", "re"), ["reset"]);
    assert.ok(!(await complete("rivet", "__")).length, "hidden commands are not offered");

    assert.deepEqual(await complete("rivet", "run", "--re"), ["--resume", "--reconcile"]);
    assert.deepEqual(await complete("rivet", "state", "files", "--l"), ["--last"]);
    assert.deepEqual(await complete("rivet", "completions", ""), [
      "bash",
      "zsh",
      "fish",
      "powershell",
    ]);

    // --config offers YAML files and directories only.
    assert.deepEqual((await complete("rivet", "run", "--config", "")).sort(), [
      "bin",
      "configs",
      "rivet-staging.yml",
      "rivet.yaml",
    ]);

    // --export offers the config's export names, read by rivet itself.
    assert.deepEqual(await complete("rivet", "run", "--config", config, "--export", ""), [
      "orders",
      "order_items",
      "users",
    ]);
    assert.deepEqual(await complete("rivet", "state", "reset", "-c", config, "-e", "order_"), [
      "order_items",
    ]);
    // --config=FILE, as bash splits it at '=' (COMP_WORDBREAKS), and a path under ~.
    assert.deepEqual(
      await complete("rivet", "check", "--config", "=", "~/rivet.yaml", "-e", "u"),
      ["users"],
    );
    // The value of an option is not taken for a subcommand or an export.
    assert.deepEqual(await complete("rivet", "run", "-p", "state", "-c", config, "-e", "us"), [
      "users",
    ]);
    // No config yet: nothing to offer, and no error.
    assert.deepEqual(await complete("rivet", "run", "--export", ""), []);
  });
});

Deno.test("__complete-exports prints the export names, one a line, without connecting", async () => {
  await withTempDir(async (dir) => {
    const config = await writeFile(dir, "rivet.yaml", CONFIG);
    const r = await rivet(["__complete-exports", "--config", config]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "orders\norder_items\nusers\n");
    assert.doesNotMatch((await rivet(["--help"])).stdout, /__complete/);
    const missing = await rivet(["__complete-exports", "--config", join(dir, "nope.yaml")]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, "");
  });
});

Deno.test({
  name: "completions zsh: the same walk, through stand-ins for compsys's builtins",
  ignore: !hasShell("zsh"),
  fn: async () => {
    await withInstall(async ({ dir, config, env }) => {
      // compadd and friends only work inside a completion widget: stand-ins print what they get
      // (all of it: matching against the word typed is compsys's job, not the script's).
      const stubs = [
        'compadd() { if [[ $1 == -a ]]; then print -l -- "${(@P)2}"; else shift; print -l -- "$@"; fi }',
        '_describe() { local -a entries; entries=("${(@P)4}"); print -l -- "${entries[@]%%:*}"; }',
        '_files() { print -- "FILES $*"; }',
        '_message() { print -- "MESSAGE $*"; }',
        "compset() { :; }",
        "compdef() { :; }",
      ];
      const complete = async (...words: string[]) => {
        const script = [
          ...stubs,
          "source <(rivet completions zsh)",
          'words=("$@")',
          "CURRENT=$#words",
          "_rivet",
        ].join("\n");
        const out = await shell(["zsh", "-f", "-c", script, "zsh", ...words], env, dir);
        return out.split("\n").filter((l) => l !== "");
      };
      assert.deepEqual((await complete("rivet", "")).sort(), (await helpCommands()).sort());
      assert.deepEqual(await complete("rivet", "state", ""), [
        "show",
        "reset",
        "chunks",
        "files",
        "help",
      ]);
      assert.ok((await complete("rivet", "check", "-")).includes("--json"));
      assert.deepEqual(await complete("rivet", "run", "-c", ""), ["FILES -g *.(yaml|yml)"]);
      assert.deepEqual(await complete("rivet", "run", "-c", config, "--export", ""), [
        "orders",
        "order_items",
        "users",
      ]);
      assert.deepEqual(await complete("rivet", "metrics", `--config=${config}`, "-e", ""), [
        "orders",
        "order_items",
        "users",
      ]);
      assert.deepEqual(await complete("rivet", "completions", ""), [
        "bash",
        "zsh",
        "fish",
        "powershell",
      ]);

      // Installed in $fpath, the file is autoloaded as the completion function itself.
      const fpath = join(dir, "zfunc");
      await Deno.mkdir(fpath);
      await Deno.writeTextFile(join(fpath, "_rivet"), (await rivet(["completions", "zsh"])).stdout);
      const autoloaded = await shell(
        [
          "zsh",
          "-f",
          "-c",
          [
            ...stubs,
            `fpath=(${fpath} $fpath)`,
            "autoload -U _rivet",
            "words=(rivet state '')",
            "CURRENT=3",
            "_rivet",
          ]
            .join("\n"),
        ],
        env,
        dir,
      );
      assert.equal(autoloaded, "show\nreset\nchunks\nfiles\nhelp\n");
    });
  },
});

Deno.test({
  name: "completions fish: complete -C offers subcommands with descriptions and export names",
  ignore: !hasShell("fish"),
  fn: async () => {
    await withInstall(async ({ dir, config, env }) => {
      const complete = async (line: string) => {
        const script = `rivet completions fish | source; complete -C ${JSON.stringify(line)}`;
        const out = await shell(["fish", "--no-config", "-c", script], env, dir);
        return out.split("\n").filter((l) => l !== "");
      };
      assert.deepEqual(await complete("rivet st"), ["state\tinspect or reset incremental state"]);
      assert.deepEqual(
        (await complete("rivet ")).map((l) => l.split("\t")[0]).sort(),
        (await helpCommands()).sort(),
      );
      assert.deepEqual(await complete("rivet run --con"), ["--config\tpath to rivet.yaml"]);
      assert.deepEqual((await complete(`rivet run --config ${config} --export `)).sort(), [
        "order_items",
        "orders",
        "users",
      ]);
      assert.deepEqual(await complete(`rivet state reset --config=${config} -e us`), ["users"]);
      assert.deepEqual((await complete("rivet run -c rivet")).sort(), [
        "rivet-staging.yml",
        "rivet.yaml",
      ]);
    });
  },
});

Deno.test({
  name: "completions powershell: TabExpansion2 offers subcommands and export names",
  ignore: !hasShell("pwsh"),
  fn: async () => {
    await withInstall(async ({ dir, config, env }) => {
      const complete = async (line: string) => {
        const script = [
          "rivet completions powershell | Out-String | Invoke-Expression",
          `$line = '${line.replaceAll("'", "''")}'`,
          "(TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches |",
          "  ForEach-Object { $_.CompletionText }",
        ].join("\n");
        const out = await shell(["pwsh", "-NoProfile", "-Command", script], env, dir);
        return out.split(/\r?\n/).filter((l) => l !== "");
      };
      assert.deepEqual(await complete("rivet st"), ["state"]);
      assert.deepEqual(await complete(`rivet run --config ${config} --export o`), [
        "orders",
        "order_items",
      ]);
    });
  },
});

Deno.test("completions: every script is generated from the command definitions", async () => {
  for (const shellName of ["bash", "zsh", "fish", "powershell"]) {
    const r = await rivet(["completions", shellName]);
    assert.equal(r.code, 0, r.stderr);
    for (const path of ["rivet state reset", "rivet check", "rivet completions"]) {
      assert.ok(r.stdout.includes(path), `${shellName} script covers '${path}'`);
    }
    assert.ok(r.stdout.includes("__complete-exports"), `${shellName} script lists exports`);
    assert.ok(!r.stdout.includes("rivet __complete-exports'"), "the hidden command is not offered");
  }
});
