"""The support desk: stored mentions, the community manager's reply queue, drafted
replies, SLA clocks and business hours, and the support metrics and reports."""
