"""Service providers: third-party and agency-built apps serving many corps from one process."""
