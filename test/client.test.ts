import { describe, expect, it } from "vitest";
import { lazyClient, type Octokit } from "../src/github/client.js";

const octokit = { marker: "client" } as unknown as Octokit;

describe("lazyClient", () => {
  it("makes nothing until asked, then one client for every caller", async () => {
    let made = 0;
    const client = lazyClient(async () => {
      made++;
      return octokit;
    });
    expect(made).toBe(0);
    const [a, b] = await Promise.all([client(), client()]);
    expect(await client()).toBe(a);
    expect(b).toBe(a);
    expect(made).toBe(1);
  });

  it("does not keep a failure: the next call tries again", async () => {
    let attempts = 0;
    const client = lazyClient(async () => {
      attempts++;
      if (attempts === 1) throw new Error("no token yet");
      return octokit;
    });
    await expect(client()).rejects.toThrow("no token yet");
    expect(await client()).toBe(octokit);
    expect(attempts).toBe(2);
  });
});
