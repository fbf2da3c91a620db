"""Built-in inbound sources: driving adapters that read social networks (like http/ reads
requests) and reach the domain only through services.intake."""
