"""Local stand-ins for Google APIs that have no emulator. They speak the real wire protocol."""
