import { expect } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as path from "node:path";

// What the tests need of the Vigil under test beyond its address: the binary and database that
// ../../scripts/test started it with, for tokens and more replicas.
export const BIN = process.env.E2E_VIGIL_BIN ?? "";
export const DB = process.env.E2E_DATABASE_URL ?? "";
export const ROOT = path.resolve(__dirname, "../..");

/// A new API token allowed to write incidents, made with `vigil token create` (`name` plus the
/// time, so runs never collide).
export function incidentsToken(name: string): string {
  expect(BIN, "E2E_VIGIL_BIN names the vigil binary").not.toBe("");
  expect(DB, "E2E_DATABASE_URL names the test database").not.toBe("");
  return execFileSync(
    BIN,
    ["token", "create", "--name", `e2e-${name}-${Date.now()}`, "--scope", "incidents:write"],
    { cwd: ROOT, env: { ...process.env, DATABASE_URL: DB } },
  )
    .toString()
    .trim();
}

/// A JSON call with `token`, which must succeed; its answer.
export async function api(base: string, token: string, method: string, url: string, body: object) {
  const r = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(r.status, `${method} ${url}`).toBeLessThan(300);
  return r.json();
}
