"""Exit codes, one definition for every front end (README, *Exit codes*; the runbook's table too)."""

EXIT_OK = 0  # success (plan --detailed-exitcode: in sync, no error-severity gap)
EXIT_FAILURE = 1  # invalid input, any error, a failed write; plan: nothing was changed
EXIT_CHANGES = 2  # plan --detailed-exitcode: changes are pending
EXIT_GAPS = 3  # error-severity gaps remain (wins over 2)
EXIT_INTERRUPTED = 130  # Ctrl-C
