import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { evaluateExpression, runBounded, type PreviewRequest, type WorkerLike } from "./expressionPreview";

const order = { items: [{ name: "tea", price: 4 }, { name: "pot", price: 30 }], customer: { name: "Ada" } };
const request = (language: "jsonata" | "jmespath", expression: string, input: unknown = order, maxChars = 1000): PreviewRequest => ({
  language,
  expression,
  input,
  maxChars,
});

describe("expression preview", () => {
  it("evaluates JSONata and JMESPath on the recorded input", async () => {
    expect(await evaluateExpression(request("jsonata", "$sum(items.price)"))).toEqual({ ok: true, text: "34", truncated: false });
    expect(await evaluateExpression(request("jmespath", "items[?price > `10`].name"))).toEqual({ ok: true, text: '[\n  "pot"\n]', truncated: false });
    expect(await evaluateExpression(request("jsonata", "nothing.here"))).toEqual({ ok: true, text: "(no result)", truncated: false });
  });

  it("reports a broken expression instead of throwing", async () => {
    const jsonata = await evaluateExpression(request("jsonata", "items[price >"));
    expect(jsonata).toMatchObject({ ok: false, kind: "expression" });
    expect(!jsonata.ok && jsonata.error).toMatch(/^JSONata: /);
    expect(await evaluateExpression(request("jmespath", "items[?"))).toMatchObject({ ok: false, kind: "expression" });
    expect(await evaluateExpression(request("jsonata", "a".repeat(10_001)))).toMatchObject({ ok: false, kind: "expression" });
  });

  it("cuts a large result to the bound", async () => {
    const result = await evaluateExpression(request("jsonata", "[1..5000]", {}, 100));
    expect(result).toMatchObject({ ok: true, truncated: true });
    expect(result.ok && result.text.length).toBe(101);
  });
});

/**
 * A worker thread doing in Node what `expressionWorker.ts` does in the browser: evaluate
 * with the same JSONata library and answer once.
 */
function nodeWorker(): WorkerLike {
  const jsonataPath = createRequire(import.meta.url).resolve("jsonata");
  const code = `
    const { parentPort } = require("node:worker_threads");
    const jsonata = require(${JSON.stringify(jsonataPath)});
    parentPort.on("message", async (r) => {
      const value = await jsonata(r.expression).evaluate(r.input);
      parentPort.postMessage({ ok: true, text: JSON.stringify(value), truncated: false });
    });`;
  const worker = new Worker(code, { eval: true });
  const like: WorkerLike = {
    onmessage: null,
    onerror: null,
    postMessage: (message) => worker.postMessage(message),
    terminate: () => void worker.terminate(),
  };
  worker.on("message", (data) => like.onmessage?.({ data }));
  worker.on("error", (error) => like.onerror?.(error));
  return like;
}

describe("bounded preview", () => {
  it("answers a quick expression from the worker", async () => {
    expect(await runBounded(nodeWorker, request("jsonata", "customer.name"), 5000)).toEqual({ ok: true, text: '"Ada"', truncated: false });
  });

  it("cuts off a pathological expression and kills its worker", async () => {
    // Catastrophic backtracking: would run for hours on the worker's thread.
    const evil = request("jsonata", '$match("' + "a".repeat(40) + '!", /(a+)+$/)');
    let spawned: WorkerLike | null = null;
    let terminated = false;
    const started = Date.now();
    const result = await runBounded(
      () => {
        spawned = nodeWorker();
        const terminate = spawned.terminate;
        spawned.terminate = () => {
          terminated = true;
          terminate();
        };
        return spawned;
      },
      evil,
      300,
    );
    expect(result).toMatchObject({ ok: false, kind: "timeout" });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(terminated).toBe(true);
  });

  it("bounds what a worker sends back", async () => {
    const result = await runBounded(nodeWorker, request("jsonata", "[1..5000]", {}, 50), 5000);
    expect(result).toMatchObject({ ok: true, truncated: true });
    expect(result.ok && result.text.length).toBe(51);
  });
});
