import { ApiError } from "../api/client";
import { verb, type BulkPreviewState } from "../hooks/useBulkPreview";
import type { Args } from "./ArgsForm";

function plural(n: number): string {
  return `${n.toLocaleString()} message${n === 1 ? "" : "s"}`;
}

type Props = {
  kind: string;
  args: Args;
  preview: BulkPreviewState;
  confirmed: boolean;
  onConfirm: (confirmed: boolean) => void;
};

/** BulkPreview says how many messages a bulk kind will touch and asks to confirm it. */
export function BulkPreview({ kind, args, preview, confirmed, onConfirm }: Props) {
  let text: string;
  let problem = false;
  if (!preview.accountChosen) text = "Choose an account to see how many messages this selects.";
  else if (preview.settling || (preview.isFetching && preview.count === undefined && !preview.error)) text = "Counting messages…";
  else if (preview.error instanceof ApiError && preview.error.status === 422) {
    text = "Choose which messages: ids, or a sender, label or age.";
    problem = true;
  } else if (preview.error) {
    text = `Cannot count the messages (${preview.error.message}).`;
    problem = true;
  } else if (preview.count !== undefined) text = `This will ${verb(kind, args)} ${plural(preview.count)}.`;
  else text = "Counting messages…";

  return (
    <fieldset className="preview">
      <legend>Preview</legend>
      <p className={problem ? "field-error" : undefined} role="status" aria-live="polite" id="preview-count">
        {text}
      </p>
      <div className="field check">
        <label htmlFor="preview-confirm">I understand</label>
        <input
          id="preview-confirm"
          type="checkbox"
          checked={confirmed}
          disabled={preview.token === undefined}
          aria-describedby="preview-count preview-help"
          onChange={(e) => onConfirm(e.target.checked)}
        />
        <span id="preview-help" className="help">
          {preview.count !== undefined && !confirmed
            ? "Tick to enable Start. Counted from the messages stored by the last sync."
            : "Counted from the messages stored by the last sync."}
        </span>
      </div>
    </fieldset>
  );
}
