// A client of the Acceso API typed only from the OpenAPI document, by a tool
// nobody here wrote (openapi-typescript generates ./openapi.d.ts from
// `acceso openapi`). `make openapi-check` compiles it with tsc: it fails when
// the document stops describing an operation this file calls, or when an
// operation is added that the `calls` table below does not cover.
import type { components, operations, paths } from "./openapi";

type Schemas = components["schemas"];
type Ok<Op> = Op extends { responses: { 200: { content: infer C } } }
  ? C[keyof C]
  : never;

async function call<Op>(method: string, path: keyof paths, body?: unknown): Promise<Ok<Op>> {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    const err: Schemas["Error"] = await res.json();
    throw new Error(err.error.code);
  }
  return (method === "HEAD" || res.headers.get("Content-Type")?.startsWith("text/")
    ? await res.text()
    : await res.json()) as Ok<Op>;
}

const request: operations["evaluate"]["requestBody"]["content"]["application/json"] = {
  symptom: "code_not_received",
  lang: "en",
  facts: { channels_tried: ["email"], spam_checked: false },
};

// Every operation of the document, each called through its path with its
// types: a missing key here is a compile error.
const calls: { [Op in keyof operations]: () => Promise<unknown> } = {
  evaluate: async () => {
    const answer = await call<operations["evaluate"]>("POST", "/api/v1/evaluate", request);
    const first: Schemas["Finding"] | undefined = answer.findings[0];
    const asked: Schemas["Question"][] = answer.questions;
    return [answer.outcome, first?.id, asked.map((q) => q.asked_of)];
  },
  listCauses: async () => {
    const catalog: Schemas["Catalog"] = await call<operations["listCauses"]>("GET", "/api/v1/causes");
    return catalog.facts.map((f) => f.name);
  },
  openAPI: () => call<operations["openAPI"]>("GET", "/api/openapi.json"),
  health: () => call<operations["health"]>("GET", "/healthz"),
  healthHead: () => call<operations["healthHead"]>("HEAD", "/healthz"),
  ready: async () => {
    const r: Schemas["Readiness"] = await call<operations["ready"]>("GET", "/readyz");
    return r.status;
  },
  readyHead: () => call<operations["readyHead"]>("HEAD", "/readyz"),
  metrics: () => call<operations["metrics"]>("GET", "/metrics"),
};

export default calls;
