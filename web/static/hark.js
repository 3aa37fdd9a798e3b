/* Hark pages: live refresh of the overview and the queue, and the X character count.
   No framework; the pages work without this file. */
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

  document.addEventListener("DOMContentLoaded", function () {
    initCounts(document);
    document.querySelectorAll("[data-poll]").forEach(function (container) {
      window.setInterval(function () { refresh(container); }, PERIOD_MS);
    });
  });
})();
