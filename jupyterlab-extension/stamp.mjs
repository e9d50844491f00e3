// Records which sources the prebuilt extension was built from: the SHA-256 of
// src/*.ts in ../volta_kernel/labextension/source.sha256 (checked by
// tests/test_jupyterlab_extension.py, so a source edit without a rebuild fails).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const hash = createHash("sha256");
for (const name of readdirSync("src").filter((n) => n.endsWith(".ts")).sort()) {
  hash.update(name + "\n" + readFileSync(`src/${name}`, "utf-8"));
}
writeFileSync("../volta_kernel/labextension/source.sha256", hash.digest("hex") + "\n");
