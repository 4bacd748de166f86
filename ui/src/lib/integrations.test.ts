import { describe, expect, it } from "vitest";
import { integrationBody, integrationsFor, integrationTypesFor, kindOf, picksModel } from "./integrations";

const all = [
  { id: "1", type: "openai", enabled: true },
  { id: "2", type: "anthropic", enabled: true },
  { id: "3", type: "slack", enabled: true },
  { id: "4", type: "openai", enabled: false },
  { id: "5", type: "postgres", enabled: true },
];

describe("integrations for a node", () => {
  it("an AI node takes integrations of its provider (openai by default)", () => {
    expect(integrationTypesFor("llm", { provider: "anthropic" })).toEqual(["anthropic"]);
    expect(integrationsFor(all, "llm", {}).map((i) => i.id)).toEqual(["1"]);
    expect(integrationsFor(all, "agent", { provider: "anthropic" }).map((i) => i.id)).toEqual(["2"]);
  });

  it("an integration node takes its own kind; other nodes none", () => {
    expect(integrationsFor(all, "slack").map((i) => i.id)).toEqual(["3"]);
    expect(integrationsFor(all, "database").map((i) => i.id)).toEqual(["5"]);
    expect(integrationsFor(all, "transform")).toEqual([]);
  });

  it("only provider nodes pick a model", () => {
    expect(picksModel("llm")).toBe(true);
    expect(picksModel("http")).toBe(false);
  });
});

describe("integration bodies", () => {
  const draft = { name: " crm ", type: "email", config: { host: "smtp.x", port: "587", from_address: "" }, credentials: { username: "", password: "" }, enabled: true };

  it("leaves blanks out and sends ports as numbers", () => {
    expect(integrationBody(draft, false)).toEqual({ name: "crm", type: "email", config: { host: "smtp.x", port: 587 }, credentials: {}, enabled: true });
  });

  it("keeps the stored secrets when editing without typing new ones", () => {
    expect(integrationBody(draft, true)).not.toHaveProperty("credentials");
    expect(integrationBody({ ...draft, credentials: { username: "u", password: "p" } }, true).credentials).toEqual({ username: "u", password: "p" });
  });

  it("keeps settings the form does not show when editing", () => {
    const shown = { ...draft, config: { host: "smtp.y", port: "" } };
    const original = { host: "smtp.x", port: 25, message_id_domain: "example.com", tls: { verify: true } };
    expect(integrationBody(shown, true, original).config).toEqual({ host: "smtp.y", message_id_domain: "example.com", tls: { verify: true } });
    expect(integrationBody(shown, false, original).config).toEqual({ host: "smtp.y" });
  });

  it("knows the fields of each kind, and shows an unknown kind as itself", () => {
    expect(kindOf("openai").credentials.map((f) => f.name)).toEqual(["api_key"]);
    expect(kindOf("mystery")).toEqual({ type: "mystery", label: "mystery", config: [], credentials: [] });
  });
});
