"""The service layer: every state change (triage, page, acknowledge, resolve, escalate,
claim, draft, send, dismiss, reopen) as one function that takes its dependencies, called
alike by the JSON API, the page and the RQ jobs."""
