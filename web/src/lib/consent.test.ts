import { ApiError } from "../api/client";
import { connectError, consentOutcome } from "./consent";

const q = (s: string) => new URLSearchParams(s);

describe("consentOutcome", () => {
  it("is nothing without the callback's parameters", () => {
    expect(consentOutcome(q(""))).toBeNull();
    expect(consentOutcome(q("page=2"))).toBeNull();
  });
  it("says which mailbox was connected", () => {
    expect(consentOutcome(q("connected=x%40example.com"))).toEqual({
      ok: true,
      message: "Connected x@example.com. Its mail can now be synced and sorted here.",
    });
  });
  it("never shows the description a link carries", () => {
    const o = consentOutcome(q("error=consent_other_browser&error_description=Call+555-0100+to+unlock+your+account"));
    expect(o?.ok).toBe(false);
    expect(o?.message).toContain("started in another browser");
    expect(o?.message).not.toContain("555");
    expect(consentOutcome(q("error=Call%20555&error_description=x"))?.message).toBe(
      "The mailbox was not connected. Start the connection again.",
    );
  });
  it("has a sentence for each code without a description", () => {
    for (const code of ["consent_other_browser", "consent_expired", "consent_refused", "access_denied"]) {
      const o = consentOutcome(q(`error=${code}`));
      expect(o?.ok).toBe(false);
      expect(o?.message).toMatch(/nothing was connected|refused/);
      expect(o?.message).not.toContain(code);
    }
    expect(consentOutcome(q("error=server_error"))?.message).toBe(
      "The mailbox was not connected (Google said “server_error”). Start the connection again.",
    );
    expect(consentOutcome(q("error=toString"))?.message).toContain("“toString”"); // not Object.prototype's
  });
});

describe("connectError", () => {
  it("says a server without Google OAuth (demo mode) cannot connect", () => {
    expect(connectError(new ApiError(409, "no Google OAuth client is configured (demo mode)"))).toBe(
      "This server cannot connect Gmail accounts: no Google OAuth client is configured (demo mode).",
    );
  });
  it("says other failures as a sentence", () => {
    expect(connectError(new ApiError(500, "internal error"))).toBe("Cannot connect a Gmail account: internal error.");
  });
});
