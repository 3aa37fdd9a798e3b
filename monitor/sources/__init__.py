"""One module per outside channel: each turns that channel's payloads into Mentions."""
