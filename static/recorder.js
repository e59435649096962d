// Keyboard navigation and small conveniences. No inline scripts anywhere: the CSP forbids them.
(function () {
  "use strict";
  let selected = -1;
  // Rows with a link, in every table marked data-rows, skipping those hidden in a closed <details>.
  function rows() {
    return Array.from(document.querySelectorAll("table[data-rows] tbody tr"))
      .filter((tr) => tr.querySelector("a") && (tr.checkVisibility ? tr.checkVisibility() : tr.getClientRects().length > 0));
  }
  function select(index) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((tr, i) => tr.classList.toggle("selected", i === selected));
    all[selected].scrollIntoView({ block: "nearest" });
  }
  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable);
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.key === "/") {
      const box = document.querySelector("[data-list-search]") || document.querySelector("[data-search]");
      if (box) { event.preventDefault(); box.focus(); box.select(); }
    } else if (event.key === "j") {
      select(selected + 1);
    } else if (event.key === "k") {
      select(selected - 1);
    } else if (event.key === "Enter" && selected >= 0 && !event.target.closest("a, button, summary, label, [tabindex]")) {
      // Enter on a focused link or button is that link's or button's; on the page, it opens the selected row.
      const row = rows()[selected];
      const link = row && (row.querySelector("a[data-open]") || row.querySelector("a"));
      if (link) link.click();
    }
  });
  // Keep permalinks short: filters left at "all" are not sent, so they do not clutter the pushed URL.
  document.addEventListener("htmx:configRequest", (event) => {
    const params = event.detail.parameters;
    if (event.detail.verb !== "get" || !params) return;
    const keys = typeof params.keys === "function" ? Array.from(params.keys()) : Object.keys(params);
    for (const key of keys) {
      const value = typeof params.get === "function" ? params.get(key) : params[key];
      if (value === "" || (key === "sort" && value === "path")) {
        if (typeof params.delete === "function") params.delete(key); else delete params[key];
      }
    }
  });
  // The fate of a stream without usage is a filter only with "missing usage" ticked: shown, or hidden and not
  // sent, as the box changes. In the capture phase, so that the form's request (htmx, on the box) sees it.
  // Shown with the box ticked (or with a fate the URL asks for); unticking it clears the fate first.
  function showFate(form, clear) {
    const box = form.querySelector("input[name=missing]");
    const fate = form.querySelector("select[name=fate]");
    if (!box || !fate) return;
    if (clear && !box.checked) fate.value = "";
    fate.hidden = fate.disabled = !box.checked && !fate.value;
  }
  document.addEventListener("change", (event) => {
    const box = event.target;
    if (box && box.name === "missing" && box.form) showFate(box.form, true);
  }, true);
  // Back and forward restore the page htmx kept, whose form controls hold the values they were rendered with,
  // not the ones chosen since: set each control of the filter form from the URL restored.
  document.addEventListener("htmx:historyRestore", () => {
    const form = document.getElementById("filters");
    if (!form) return;
    const params = new URLSearchParams(window.location.search);
    for (const control of form.elements) {
      if (!control.name || control.type === "hidden" || control.type === "submit") continue;
      if (control.type === "checkbox") control.checked = params.get(control.name) === control.value;
      else control.value = params.get(control.name) || "";
    }
    showFate(form, false);
  });
  // A swap replaces the rows: start again from the top.
  document.addEventListener("htmx:afterSwap", () => { selected = -1; });
  // The copy buttons need a clipboard, which only this script gives them: without it they stay hidden.
  const showCopy = () => {
    if (!navigator.clipboard) return;
    for (const button of document.querySelectorAll("button[data-copy][hidden]")) button.hidden = false;
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", showCopy);
  else showCopy();
  document.addEventListener("htmx:afterSwap", showCopy);
  // A request htmx makes that fails (a 403 once the form token expired, a 500, no server) says so at the top of
  // the page instead of leaving it as it was; the next request that succeeds takes the message away.
  function requestError(text) {
    const box = document.getElementById("request-error");
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
  }
  document.addEventListener("htmx:responseError", (event) => {
    const status = event.detail.xhr ? event.detail.xhr.status : 0;
    requestError(status === 403
      ? "The server refused this (HTTP 403): the page's form token or your session has expired. Reload the page and try again."
      : status >= 500
        ? `The server failed to answer (HTTP ${status}). Reload the page; if it goes on, the server's log says why.`
        : `The server could not do this (HTTP ${status}). Reload the page and try again.`);
  });
  document.addEventListener("htmx:sendError", () => {
    requestError("The server could not be reached. Check that it is running, then reload the page.");
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.successful) requestError("");
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent).then(() => { button.textContent = "copied"; }, () => {});
    }
  });
})();
