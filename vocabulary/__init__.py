"""Words every side of Hark shares: the channels a message can come from, and how
personal data is taken out of any text before it leaves (PagerDuty, logs, public replies).
Pure: no I/O, no project imports."""
