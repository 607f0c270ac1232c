import type { Probot } from "probot";
import { describe, expect, it, vi } from "vitest";
import { eventClient, lazyClient, type Octokit } from "../src/github/client.js";

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

type HookOptions = { method: string; headers: Record<string, string>; request?: Record<string, unknown> };

describe("eventClient", () => {
  function fakeProbot() {
    const hooks: ((options: HookOptions) => void)[] = [];
    const octokit = { hook: { before: (_name: string, hook: (typeof hooks)[number]) => hooks.push(hook) } };
    const auth = vi.fn(async (_id?: number) => octokit as unknown as Octokit);
    return { probot: { auth } as unknown as Probot, auth, hooks };
  }

  const reads = { deadline: 8000, attemptTimeoutMs: 5000 };

  it("asks Probot for the installation's client on first use only, and tags its calls with the delivery", async () => {
    const { probot, auth, hooks } = fakeProbot();
    const client = eventClient(probot, 1001, "delivery-7", reads);
    expect(auth).not.toHaveBeenCalled();
    await client();
    await client();
    expect(auth.mock.calls).toEqual([[1001]]);
    const options: HookOptions = { method: "POST", headers: {} };
    for (const hook of hooks) hook(options);
    expect(options.headers).toEqual({ "x-github-delivery": "delivery-7" });
  });

  it("retries its reads within the webhook's deadline, and leaves mutating calls to their own retry", async () => {
    const { probot, hooks } = fakeProbot();
    await eventClient(probot, 1001, "delivery-7", reads)();
    const read: HookOptions = { method: "GET", headers: {} };
    const ownRetry: HookOptions = { method: "GET", headers: {}, request: { retry: false } };
    const review: HookOptions = { method: "POST", headers: {} };
    for (const options of [read, ownRetry, review]) for (const hook of hooks) hook(options);
    expect(read.request).toEqual({ retry: reads });
    expect(ownRetry.request).toEqual({ retry: false });
    expect(review.request).toBeUndefined();
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses %s: Probot would give the App's own client", (id) => {
    const { probot, auth } = fakeProbot();
    expect(() => eventClient(probot, id, "d", reads)).toThrow(RangeError);
    expect(auth).not.toHaveBeenCalled();
  });
});
