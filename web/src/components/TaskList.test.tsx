import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render as rtlRender, screen, within } from "@testing-library/react";
import type { ReactElement } from "react";
import userEvent from "@testing-library/user-event";
import type { Task } from "../api/client";
import { TaskList } from "./TaskList";

// Kind titles come from the task-kinds query; none here, so kinds show as themselves.
function render(ui: ReactElement) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false, enabled: false } } });
  const wrapper = ({ children }: { children: React.ReactNode }) => <QueryClientProvider client={qc}>{children}</QueryClientProvider>;
  return rtlRender(ui, { wrapper });
}

function task(p: Partial<Task> & Pick<Task, "id" | "state">): Task {
  const now = new Date().toISOString();
  return {
    kind: "sync_user_emails",
    queue: "sync",
    priority: 2,
    attempt: 1,
    max_attempts: 10,
    errors: [],
    args: {},
    created_at: now,
    scheduled_at: now,
    wait_seconds: 0,
    run_seconds: 0,
    ...p,
  };
}

const tasks: Task[] = [
  task({
    id: 12,
    state: "running",
    owner: "alice",
    progress: { id: 12, done: 300, total: 1000, percent: 30, rate: 12.5, eta_seconds: 56, at: new Date().toISOString() },
  }),
  task({ id: 11, state: "failed", kind: "bulk_archive_emails", queue: "bulk", attempt: 3, max_attempts: 3 }),
  task({ id: 10, state: "completed", kind: "monitor_system_health", queue: "maintenance" }),
];

describe("TaskList", () => {
  it("shows each task's state, kind, progress, rate and ETA", () => {
    render(<TaskList tasks={tasks} selected={new Set()} onSelect={() => {}} />);
    const rows = screen.getAllByRole("row").slice(1);
    expect(rows).toHaveLength(3);

    const running = within(rows[0] as HTMLElement);
    expect(running.getByRole("link", { name: /sync_user_emails #12/ })).toHaveAttribute("href", "/tasks/12");
    expect(running.getByText("running")).toHaveClass("badge", "state-running");
    expect(running.getByRole("progressbar", { name: "Progress of task 12" })).toHaveAttribute("aria-valuenow", "30");
    expect(running.getByText("12.5/s")).toBeInTheDocument();
    expect(running.getByText("56 s")).toBeInTheDocument();
    expect(running.getByText(/alice/)).toBeInTheDocument();

    const failed = within(rows[1] as HTMLElement);
    expect(failed.getByText("failed")).toBeInTheDocument();
    expect(failed.getByText(/attempt 3\/3/)).toBeInTheDocument();

    const done = within(rows[2] as HTMLElement);
    expect(done.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
  });

  it("selects one task, or all shown, with the keyboard or the mouse", async () => {
    const user = userEvent.setup();
    const onSelect = vi.fn();
    const { rerender } = render(<TaskList tasks={tasks} selected={new Set()} onSelect={onSelect} />);

    await user.click(screen.getByRole("checkbox", { name: "Select task 11" }));
    expect(onSelect).toHaveBeenLastCalledWith([11], true);

    screen.getByRole("checkbox", { name: "Select all shown tasks" }).focus();
    await user.keyboard(" ");
    expect(onSelect).toHaveBeenLastCalledWith([12, 11, 10], true);

    rerender(<TaskList tasks={tasks} selected={new Set([11])} onSelect={onSelect} />);
    const all = screen.getByRole("checkbox", { name: "Select all shown tasks" }) as HTMLInputElement;
    expect(all.indeterminate).toBe(true);
    expect(screen.getByRole("checkbox", { name: "Select task 11" })).toBeChecked();

    rerender(<TaskList tasks={tasks} selected={new Set([10, 11, 12])} onSelect={onSelect} />);
    expect(all).toBeChecked();
    await user.click(all);
    expect(onSelect).toHaveBeenLastCalledWith([12, 11, 10], false);
  });

  it("says so when no task matches", () => {
    render(<TaskList tasks={[]} selected={new Set()} onSelect={() => {}} />);
    expect(screen.getByText("No tasks match.")).toBeInTheDocument();
  });
});
