// Results and states in words, never raw codes: a vote's result counted against ALL members.
import { el, t } from "../ui.js";

/** Votes needed to pass: more than half of all members (Law on Government Organization). */
export function needed(total) { return Math.floor(total / 2) + 1; }

export function resultSummary(result) {
  if (!result) return "";
  return `${result.passed ? t("Passed") : t("Not passed")}: ${result.agree}/${result.total_members} ${t("of all members")}`;
}

export function resultReason(result) {
  if (result.decided_by_chair) return t("A tie: the side the chair voted for wins");
  if (result.passed) return t("More than half of all members voted in favour");
  return `${t("Fewer than half of all members plus one voted in favour; needed")} ${needed(result.total_members)}`;
}

/** A labelled result block with counts, a bar per choice and the reason. */
export function resultBlock(result) {
  const box = el("div", { class: `result ${result.passed ? "passed" : "rejected"}` });
  box.append(el("p", { class: "result-verdict" }, resultSummary(result)));
  const list = el("dl", { class: "result-counts" });
  [["agree", result.agree], ["disagree", result.disagree], ["abstain", result.abstain], ["not_voted", result.not_voted]]
    .forEach(([key, count]) => {
      const row = el("div", { class: `count count-${key}` });
      row.append(el("dt", {}, key === "not_voted" ? t("Not voted") : t(key)), el("dd", {}, String(count)));
      const bar = el("span", { class: "bar", "aria-hidden": "true" });
      bar.style.width = `${result.total_members ? (100 * count) / result.total_members : 0}%`;
      row.append(bar);
      list.append(row);
    });
  box.append(list, el("p", { class: "result-reason muted" }, resultReason(result)));
  return box;
}
