"""The local sandbox: emulator launcher, API stand-ins and scenarios. Never deployed; shared/ never imports it."""
