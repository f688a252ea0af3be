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

// An integration's API key (acceso apikey add NAME --scope decisions:read),
// sent as a bearer token where the document asks for one.
const apiKey = "acc_…";

// A path of the document with its parameters filled in.
type Filled = keyof paths | `/api/v1/decisions/${string}`;

async function call<Op>(method: string, path: Filled, body?: unknown, key?: string): Promise<Ok<Op>> {
  const headers: Record<string, string> = body === undefined ? {} : { "Content-Type": "application/json" };
  if (key !== undefined) {
    headers["Authorization"] = `Bearer ${key}`;
  }
  const res = await fetch(path, {
    method,
    headers,
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
  getDecision: async () => {
    const reference: operations["getDecision"]["parameters"]["path"]["reference"] = "k7m4 qx9p";
    const d: Schemas["Decision"] = await call<operations["getDecision"]>(
      "GET", `/api/v1/decisions/${encodeURIComponent(reference)}`, undefined, apiKey);
    const answers: Schemas["DecisionAnswer"][] = d.answers;
    const first: Schemas["DecisionCause"] | undefined = d.findings[0];
    return [d.reference, d.decided_at, d.symptom?.title, answers.map((a) => a.answer), first?.advice,
      d.questions.map((q) => q.help)];
  },
  continueDecision: async () => {
    const answers: operations["continueDecision"]["requestBody"]["content"]["application/json"] = {
      lang: "en",
      facts: { opted_out: true, identifier_registered: null },
    };
    const d: Schemas["Decision"] = await call<operations["continueDecision"]>(
      "POST", "/api/v1/decisions/K7M4-QX9P/continue", answers, apiKey);
    return [d.outcome, d.findings.map((f) => f.id), d.continued_revision];
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
