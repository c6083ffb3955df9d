import { FULL_SCOPE, precheck } from "./precheck";

const modify = { id: 1, email: "a@example.com", status: "connected" as const, scopes: ["https://www.googleapis.com/auth/gmail.modify"] };
const full = { id: 2, email: "b@example.com", status: "connected" as const, scopes: [FULL_SCOPE] };
const revoked = { id: 3, email: "c@example.com", status: "needs_reauth" as const, scopes: [FULL_SCOPE] };

describe("precheck", () => {
  it("refuses a permanent delete on an account without full access, and says what to do", () => {
    const why = precheck("bulk_delete_emails", { account_id: 1, permanent: true }, [modify, full]);
    expect(why).toContain("a@example.com did not grant full access");
    expect(why).toContain("move the messages to the trash instead");
  });
  it("lets a trash, or a permanent delete with full access, start", () => {
    expect(precheck("bulk_delete_emails", { account_id: 1 }, [modify])).toBeUndefined();
    expect(precheck("bulk_delete_emails", { account_id: 2, permanent: true }, [full])).toBeUndefined();
  });
  it("refuses any work on an account that needs reconnecting", () => {
    expect(precheck("sync_user_emails", { account_id: 3 }, [revoked])).toContain("c@example.com needs reconnecting");
  });
});
