import { renderHook } from "@testing-library/react";
import { useNow } from "./useNow";

describe("useNow", () => {
  afterEach(() => vi.useRealTimers());

  it("is current as soon as someone reads it again after a pause", () => {
    vi.useFakeTimers({ now: new Date("2026-01-01T00:00:00Z") });
    renderHook(() => useNow()).unmount(); // the clock stops: nobody reads it
    vi.setSystemTime(new Date("2026-01-01T00:05:00Z"));
    const { result } = renderHook(() => useNow());
    expect(result.current).toBe(Date.parse("2026-01-01T00:05:00Z"));
  });
});
