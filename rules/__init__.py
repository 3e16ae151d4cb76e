"""The built-in rule pack: one module per rule, named by its slug."""

BUILTIN_RULES: tuple[type, ...] = ()
