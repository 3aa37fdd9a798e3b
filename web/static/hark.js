/* Hark pages: live refresh of the overview and the queue's list, the X character count,
   the inbox's keyboard shortcuts, copy buttons and filters that apply as they change.
   No framework, no inline script; the pages work without this file. */
(function () {
  "use strict";

  /* ---- X weighted length (mirrors oncall/replies/x_length.py's main rules) ---- */
  var TLDS = "com|net|org|edu|gov|info|biz|io|dev|app|ai|co|me|sh|ly|gg|tv|xyz|tech|site|online|blog|page|cloud|us|uk|de|fr|es|it|nl|jp|cn|in|br|ru|eu|ca|au";
  var URL_RE = new RegExp(
    "(?:https?:\\/\\/[^\\s<>\"]+|(?<![\\w@.\\/-])(?:[a-z0-9-]+\\.)+(?:" + TLDS + ")(?![a-z0-9@+-])(?:\\/[^\\s<>\"]*)?)",
    "giu");
  var ELEMENT = "(?:\\p{Extended_Pictographic}[\\uFE0E\\uFE0F]?[\\u{1F3FB}-\\u{1F3FF}]?(?:[\\u{E0020}-\\u{E007E}]+\\u{E007F})?" +
    "|[\\u{1F3FB}-\\u{1F3FF}]|[\\u{1F1E6}-\\u{1F1FF}]{2}|[0-9#*]\\uFE0F?\\u20E3)";
  var EMOJI_RE = new RegExp(ELEMENT + "(?:\\u200D" + ELEMENT + ")*", "uy");
  var URL_LENGTH = 23, X_LIMIT = 280;

  function weight(code) {
    if (code <= 0x10FF || (code >= 0x2000 && code <= 0x200D) ||
        (code >= 0x2010 && code <= 0x201F) || (code >= 0x2032 && code <= 0x2037)) {
      return 1;
    }
    return 2;
  }

  function urlSpans(text) {
    var spans = [], match;
    URL_RE.lastIndex = 0;
    while ((match = URL_RE.exec(text)) !== null) {
      var url = match[0].replace(/[.,;:!?'")\]]+$/, "");
      spans.push([match.index, match.index + url.length]);
    }
    return spans;
  }

  function xWeightedLength(text) {
    text = text.normalize("NFC").replace(/\r\n?/g, "\n");
    var urls = urlSpans(text), total = 0, position = 0, index = 0;
    while (position < text.length) {
      if (index < urls.length && urls[index][0] === position) {
        total += URL_LENGTH;
        position = urls[index][1];
        index += 1;
        continue;
      }
      EMOJI_RE.lastIndex = position;
      var emoji = EMOJI_RE.exec(text);
      if (emoji && emoji[0].length > 0) {
        total += 2;
        position += emoji[0].length;
      } else {
        var code = text.codePointAt(position);
        total += weight(code);
        position += code > 0xFFFF ? 2 : 1;
      }
      while (index < urls.length && urls[index][0] < position) { index += 1; }
    }
    return total;
  }
  window.xWeightedLength = xWeightedLength;

  function updateCount(area) {
    var output = document.getElementById(area.getAttribute("data-x-count"));
    if (!output) { return; }
    var length = xWeightedLength(area.value);
    output.textContent = length + " / " + X_LIMIT + " characters as X counts them" +
      (length > X_LIMIT ? ": " + (length - X_LIMIT) + " too many" : "");
    output.classList.toggle("over", length > X_LIMIT);
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target.matches && target.matches("textarea[data-x-count]")) { updateCount(target); }
  });

  /* Something typed and not sent: a field whose value differs from the one the page came
     with. Typing then clearing it (or sending it) lets the refresh resume. */
  function unsaved(container) {
    var fields = container.querySelectorAll("input, textarea");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.type === "hidden" || field.type === "submit") { continue; }
      if (field.type === "checkbox" || field.type === "radio") {
        if (field.checked !== field.defaultChecked) { return true; }
      } else if (field.value !== field.defaultValue) {
        return true;
      }
    }
    return false;
  }

  function initCounts(root) {
    root.querySelectorAll("textarea[data-x-count]").forEach(updateCount);
  }

  /* ---- live regions: /partials/overview and /partials/queue every 10 s ---- */
  var PERIOD_MS = 10000;

  function refresh(container) {
    if (document.hidden) { return; }
    if (container.contains(document.activeElement) || unsaved(container)) {
      return; /* never throw away what someone is typing */
    }
    fetch(container.getAttribute("data-poll"), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "text/html" }
    }).then(function (response) {
      if (!response.ok || response.redirected) { return null; }
      return response.text();
    }).then(function (html) {
      if (html === null || html === undefined) { return; }
      if (container.contains(document.activeElement) || unsaved(container)) { return; }
      if (container.getAttribute("data-last") === html) { return; }
      container.setAttribute("data-last", html);
      container.innerHTML = html;
      initCounts(container);
    }).catch(function () { /* offline for a moment: try again next time */ });
  }

  /* ---- the inbox: keyboard shortcuts (listed on the page), copy, filters ---- */
  /* Typing in a field (text, a select, an editable area): no shortcut. */
  function typing(target) {
    var field = target && target.closest && target.closest("input, textarea, select, [contenteditable]");
    if (!field) { return false; }
    if (field.tagName === "INPUT") {
      return !/^(checkbox|radio|button|submit|reset|hidden)$/.test(field.type);
    }
    return true;
  }

  function press(selector) {
    var button = document.querySelector(selector);
    if (!button) { return false; }
    button.click();
    return true;
  }

  /* j / k: the next or previous row (the next or previous page past either end). */
  function move(step) {
    var links = Array.prototype.slice.call(document.querySelectorAll("[data-inbox] a[data-row]"));
    if (!links.length) { return; }
    var current = links.findIndex(function (link) { return link.hasAttribute("aria-current"); });
    var next = current < 0 ? (step > 0 ? 0 : links.length - 1) : current + step;
    if (next >= 0 && next < links.length) {
      window.location.assign(links[next].href);
      return;
    }
    var pager = document.querySelector("[data-inbox] [data-page='" + (step > 0 ? "next" : "prev") + "']");
    if (pager) { window.location.assign(pager.href); }
  }

  var SHORTCUTS = {
    "j": function () { move(1); return true; },
    "k": function () { move(-1); return true; },
    "c": function () { return press("#detail [data-shortcut='c']"); },
    "r": function () {
      return press("#detail [data-shortcut='r-send']") || press("#detail [data-shortcut='r']");
    },
    "e": function () {
      var area = document.querySelector("#detail textarea");
      if (!area) { return false; }
      area.focus();
      area.setSelectionRange(area.value.length, area.value.length);
      return true;
    },
    "/": function () {
      var search = document.querySelector("[data-inbox] [data-shortcut='/']");
      if (!search) { return false; }
      search.focus();
      search.select();
      return true;
    }
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typing(event.target) || !document.querySelector("[data-inbox]")) { return; }
    var shortcut = SHORTCUTS[event.key];
    if (shortcut && shortcut()) { event.preventDefault(); }
  });

  /* Without the clipboard API (plain http): select the text and ask the browser to copy. */
  function copyBySelecting(source) {
    try {
      if (source.select) {
        source.select();
      } else {
        var range = document.createRange();
        range.selectNodeContents(source);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
      }
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function copied(button, ok) {
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = ok ? "Copied" : "Select the text and copy it";
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var text = source.value !== undefined ? source.value : source.textContent;
    if (navigator.clipboard && navigator.clipboard.writeText) {  /* https or localhost */
      navigator.clipboard.writeText(text).then(
        function () { copied(button, true); },
        function () { copied(button, copyBySelecting(source)); });
    } else {
      copied(button, copyBySelecting(source));
    }
  });

  /* "Use this reply": an answered item's reply into the editor (still to be saved). */
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-use-reply]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-use-reply"));
    var editor = document.getElementById(button.getAttribute("data-into"));
    if (!source || !editor) { return; }
    editor.value = source.textContent;
    editor.dispatchEvent(new Event("input", { bubbles: true }));  /* X's count, unsaved */
    editor.focus();
  });

  /* A filter applies as soon as it changes (the Filter button stays, for no-JS use). */
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-autosubmit]");
    if (form && event.target.matches("select, input[type=checkbox]")) { form.requestSubmit(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    initCounts(document);
    /* A refused save: its reason and the kept text in view, wherever the editor sits. */
    var refused = document.querySelector("[data-inbox] .field-error");
    if (refused) { refused.scrollIntoView({ block: "center" }); }
    document.querySelectorAll("button[data-copy], button[data-use-reply]").forEach(function (button) {
      button.hidden = false;
    });
    document.querySelectorAll("[data-poll]").forEach(function (container) {
      window.setInterval(function () { refresh(container); }, PERIOD_MS);
    });
  });
})();
