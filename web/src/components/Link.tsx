import type { AnchorHTMLAttributes, MouseEvent } from "react";
import { navigate } from "../router";

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string };

/** Link is an anchor that navigates in the app without a page load. */
export function Link({ to, onClick, ...rest }: LinkProps) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
    window.scrollTo?.(0, 0);
  };
  return <a href={to} onClick={handle} {...rest} />;
}
