"""moto extensions the launcher installs (see ``hrsaas.emulator.launch``): one module per gap,
each with ``install()``; modules starting with ``_`` are helpers, not extensions."""
