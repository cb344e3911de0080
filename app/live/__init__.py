"""Live updates: the event hub (Server-Sent Events) and its fan-out between processes."""
