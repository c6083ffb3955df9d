import { render, screen } from "@testing-library/react";
import type { ProgressEvent } from "../api/client";
import { ProgressBar } from "./ProgressBar";

const at = "2026-01-01T00:00:00Z";

function progress(p: Partial<ProgressEvent>): ProgressEvent {
  return { id: 1, done: 0, rate: 0, at, ...p };
}

describe("ProgressBar", () => {
  it("exposes a known total as ARIA values", () => {
    render(
      <ProgressBar
        state="running"
        label="Progress of task 1"
        progress={progress({ done: 420, total: 1000, percent: 42, stage: "listing" })}
      />,
    );
    const bar = screen.getByRole("progressbar", { name: "Progress of task 1" });
    expect(bar).toHaveAttribute("aria-valuemin", "0");
    expect(bar).toHaveAttribute("aria-valuemax", "100");
    expect(bar).toHaveAttribute("aria-valuenow", "42");
    expect(bar).toHaveAttribute("aria-valuetext", "42%, 420 of 1,000, listing");
    expect(screen.getByText("42%")).toBeInTheDocument();
  });

  it("computes the share from done and total when percent is absent, and clamps it", () => {
    const { rerender } = render(
      <ProgressBar state="running" label="p" progress={progress({ done: 1, total: 4 })} />,
    );
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "25");
    rerender(<ProgressBar state="running" label="p" progress={progress({ done: 9, total: 4 })} />);
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
  });

  it("is indeterminate while the total is unknown", () => {
    render(<ProgressBar state="running" label="p" progress={progress({ done: 37 })} />);
    const bar = screen.getByRole("progressbar");
    expect(bar).not.toHaveAttribute("aria-valuenow");
    expect(bar).toHaveAttribute("aria-valuetext", "37 done");
    expect(bar).toHaveClass("indeterminate");
  });

  it("shows a completed task as full, and a pending one as empty", () => {
    const { rerender } = render(<ProgressBar state="completed" label="p" />);
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
    rerender(<ProgressBar state="pending" label="p" />);
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "0");
    expect(screen.getByRole("progressbar")).not.toHaveClass("indeterminate");
  });

  it("shows stage and message when detailed", () => {
    render(
      <ProgressBar
        state="running"
        label="p"
        detailed
        progress={progress({ done: 5, total: 10, stage: "archiving", message: "page 3 of 6" })}
      />,
    );
    expect(screen.getByText("archiving")).toBeInTheDocument();
    expect(screen.getByText(/page 3 of 6/)).toBeInTheDocument();
  });

  it("says where a stopped task stopped, not what it is doing", () => {
    const p = progress({ done: 800, total: 1500, stage: "fetching", message: "page 9" });
    const { rerender } = render(<ProgressBar state="running" label="p" detailed progress={p} />);
    expect(screen.getByText("fetching")).toBeInTheDocument();
    rerender(<ProgressBar state="cancelled" label="p" detailed progress={p} />);
    expect(screen.queryByText("fetching")).not.toBeInTheDocument();
    expect(screen.getByText("cancelled while fetching")).toBeInTheDocument();
    expect(screen.getByText(/at page 9/)).toBeInTheDocument();
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuetext", "53%, 800 of 1,500, cancelled while fetching");
  });
});
